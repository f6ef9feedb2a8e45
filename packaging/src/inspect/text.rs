//! The human-readable forms of an inspection and of a diff.

use std::fmt::Write as _;

use super::diff::{Change, What};
use super::model::{FileInfo, Package};

pub fn package(file: &str, p: &Package) -> String {
    let mut out = format!("{file}: {} package\n", p.format.name());
    section_head(&mut out, "Metadata");
    for (k, v) in &p.metadata {
        let v = v.replace('\n', "\n      ");
        let _ = writeln!(out, "  {k}: {v}");
    }
    section_head(&mut out, "Settings and their defaults");
    match &p.settings.file {
        Some(f) => {
            let _ = writeln!(out, "  (shipped defaults file: {f})");
        }
        None => out.push_str("  (no shipped defaults file found)\n"),
    }
    for (name, s) in &p.settings.values {
        let mut line = format!("  {name} = {}", s.default.as_deref().unwrap_or("(not in the defaults file)"));
        if let Some(prop) = &s.property {
            let d = s.installer_default.as_deref().filter(|d| !d.is_empty()).unwrap_or("(unset)");
            let _ = write!(line, "    [property {prop}, installer default {d}]");
        }
        let _ = writeln!(out, "{line}");
    }
    section_head(&mut out, "Files");
    for (path, f) in &p.files {
        let _ = writeln!(out, "  {}", file_line(path, f));
    }
    section_head(&mut out, "Scripts");
    for (name, s) in &p.scripts {
        let _ = writeln!(out, "  --- {name} ({} lines)", s.lines().count());
        for l in s.lines() {
            let _ = writeln!(out, "    {l}");
        }
    }
    for (name, records) in &p.sections {
        section_head(&mut out, name);
        for (key, r) in records {
            let fields: Vec<String> = r.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(
                out,
                "  {key}{}{}",
                if fields.is_empty() { "" } else { ": " },
                fields.join(", ")
            );
        }
    }
    out
}

fn section_head(out: &mut String, name: &str) {
    let _ = writeln!(out, "\n{name}:");
}

fn file_line(path: &str, f: &FileInfo) -> String {
    let mut s = format!(
        "{:<8} {:>5} {:<12} {:>10}  {path}",
        f.kind,
        f.mode.as_deref().unwrap_or("-"),
        f.owner.as_deref().unwrap_or("-"),
        f.size
    );
    if let Some(t) = &f.target {
        let _ = write!(s, " -> {t}");
    }
    if let Some(h) = &f.sha256 {
        let _ = write!(s, "  sha256 {h}");
    }
    if !f.flags.is_empty() {
        let _ = write!(s, "  [{}]", f.flags.join("; "));
    }
    s
}

pub fn changes(a: &str, b: &str, changes: &[Change]) -> String {
    if changes.is_empty() {
        return format!("{a} and {b}: no difference\n");
    }
    let mut out = format!("--- {a}\n+++ {b}\n{} change(s)\n", changes.len());
    let mut section = "";
    for c in changes {
        if c.section != section {
            section = &c.section;
            section_head(&mut out, section);
        }
        let _ = match c.change {
            What::Added => writeln!(out, "  + {}: {}", c.key, c.new.as_deref().unwrap_or_default()),
            What::Removed => writeln!(out, "  - {}: {}", c.key, c.old.as_deref().unwrap_or_default()),
            What::Changed => writeln!(
                out,
                "  ~ {}\n      was: {}\n      now: {}",
                c.key,
                c.old.as_deref().unwrap_or_default(),
                c.new.as_deref().unwrap_or_default()
            ),
        };
    }
    out
}
