//! primary.xml, filelists.xml, other.xml and repomd.xml, laid out byte for
//! byte as createrepo_c 0.17 writes them through libxml2 (two-space indent,
//! `<x/>` for attribute-only elements, no newline after the closing root of
//! the three data files), so a diff against createrepo_c shows only real
//! differences.

use std::fmt::Write as _;

use super::deps::Dep;
use super::package::{FileKind, Package};

const COMMON_NS: &str = "http://linux.duke.edu/metadata/common";
const RPM_NS: &str = "http://linux.duke.edu/metadata/rpm";
const FILELISTS_NS: &str = "http://linux.duke.edu/metadata/filelists";
const OTHER_NS: &str = "http://linux.duke.edu/metadata/other";
const REPO_NS: &str = "http://linux.duke.edu/metadata/repo";
const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// Element text as libxml2 escapes it.
fn text(s: &str) -> String {
    crate::xml::text(s)
}

/// An attribute value as libxml2 escapes it when dumping a node without a
/// document (non-ASCII as hex references).
fn attr(s: &str) -> String {
    crate::xml::attr(s, true)
}

/// `<name>text</name>`: libxml2 keeps the text node even when empty, so an
/// empty value is `<name></name>`, not `<name/>`.
fn text_elem(out: &mut String, indent: &str, name: &str, value: &str) {
    let _ = writeln!(out, "{indent}<{name}>{}</{name}>", text(value));
}

fn version_elem(out: &mut String, p: &Package) {
    let _ = writeln!(
        out,
        "  <version epoch=\"{}\" ver=\"{}\" rel=\"{}\"/>",
        p.epoch,
        attr(&p.version),
        attr(&p.release)
    );
}

pub fn primary(pkgs: &[Package]) -> String {
    let mut out = format!(
        "{XML_DECL}<metadata xmlns=\"{COMMON_NS}\" xmlns:rpm=\"{RPM_NS}\" packages=\"{}\">\n",
        pkgs.len()
    );
    for p in pkgs {
        primary_package(&mut out, p);
    }
    out.push_str("</metadata>");
    out
}

fn primary_package(out: &mut String, p: &Package) {
    out.push_str("<package type=\"rpm\">\n");
    text_elem(out, "  ", "name", &p.name);
    text_elem(out, "  ", "arch", &p.arch);
    version_elem(out, p);
    let _ = writeln!(out, "  <checksum type=\"sha256\" pkgid=\"YES\">{}</checksum>", p.pkgid);
    text_elem(out, "  ", "summary", &p.summary);
    text_elem(out, "  ", "description", &p.description);
    text_elem(out, "  ", "packager", &p.packager);
    text_elem(out, "  ", "url", &p.url);
    let _ = writeln!(out, "  <time file=\"{}\" build=\"{}\"/>", p.time_file, p.time_build);
    let _ = writeln!(
        out,
        "  <size package=\"{}\" installed=\"{}\" archive=\"{}\"/>",
        p.size_package, p.size_installed, p.size_archive
    );
    let _ = writeln!(out, "  <location href=\"{}\"/>", attr(&p.href));
    out.push_str("  <format>\n");
    let f = "    ";
    text_elem(out, f, "rpm:license", &p.license);
    text_elem(out, f, "rpm:vendor", &p.vendor);
    text_elem(out, f, "rpm:group", &p.group);
    text_elem(out, f, "rpm:buildhost", &p.buildhost);
    text_elem(out, f, "rpm:sourcerpm", &p.sourcerpm);
    let _ = writeln!(
        out,
        "{f}<rpm:header-range start=\"{}\" end=\"{}\"/>",
        p.header_start, p.header_end
    );
    let d = &p.deps;
    for (name, list) in [
        ("rpm:provides", &d.provides),
        ("rpm:requires", &d.requires),
        ("rpm:conflicts", &d.conflicts),
        ("rpm:obsoletes", &d.obsoletes),
        ("rpm:suggests", &d.suggests),
        ("rpm:enhances", &d.enhances),
        ("rpm:recommends", &d.recommends),
        ("rpm:supplements", &d.supplements),
    ] {
        dep_list(out, name, list);
    }
    files(out, p, "    ", true);
    out.push_str("  </format>\n</package>\n");
}

fn dep_list(out: &mut String, name: &str, list: &[Dep]) {
    if list.is_empty() {
        return;
    }
    let entries: Vec<&Dep> = list.iter().filter(|d| !d.name.is_empty()).collect();
    if entries.is_empty() {
        let _ = writeln!(out, "    <{name}/>");
        return;
    }
    let _ = writeln!(out, "    <{name}>");
    for d in entries {
        let _ = write!(out, "      <rpm:entry name=\"{}\"", attr(&d.name));
        // Without a comparison, a version would mean nothing to a solver.
        if let Some(flags) = d.flags {
            let _ = write!(out, " flags=\"{flags}\"");
            for (key, value) in [("epoch", &d.epoch), ("ver", &d.ver), ("rel", &d.rel)] {
                if let Some(v) = value {
                    let _ = write!(out, " {key}=\"{}\"", attr(v));
                }
            }
        }
        if d.pre {
            out.push_str(" pre=\"1\"");
        }
        out.push_str("/>\n");
    }
    let _ = writeln!(out, "    </{name}>");
}

/// `<file>` entries; in primary only the paths dnf may need to resolve a
/// file require without downloading filelists.
fn files(out: &mut String, p: &Package, indent: &str, primary_only: bool) {
    for f in &p.files {
        if primary_only && !super::deps::is_primary_file(&f.path) {
            continue;
        }
        let kind = match f.kind {
            FileKind::File => "",
            FileKind::Dir => " type=\"dir\"",
            FileKind::Ghost => " type=\"ghost\"",
        };
        let _ = writeln!(out, "{indent}<file{kind}>{}</file>", text(&f.path));
    }
}

fn package_open(out: &mut String, p: &Package) {
    let _ = writeln!(
        out,
        "<package pkgid=\"{}\" name=\"{}\" arch=\"{}\">",
        p.pkgid,
        attr(&p.name),
        attr(&p.arch)
    );
    version_elem(out, p);
}

pub fn filelists(pkgs: &[Package]) -> String {
    let mut out = format!("{XML_DECL}<filelists xmlns=\"{FILELISTS_NS}\" packages=\"{}\">\n", pkgs.len());
    for p in pkgs {
        package_open(&mut out, p);
        files(&mut out, p, "  ", false);
        out.push_str("</package>\n");
    }
    out.push_str("</filelists>");
    out
}

pub fn other(pkgs: &[Package]) -> String {
    let mut out = format!("{XML_DECL}<otherdata xmlns=\"{OTHER_NS}\" packages=\"{}\">\n", pkgs.len());
    for p in pkgs {
        package_open(&mut out, p);
        for c in &p.changelogs {
            let _ = writeln!(
                out,
                "  <changelog author=\"{}\" date=\"{}\">{}</changelog>",
                attr(&c.author),
                c.date,
                text(&c.text)
            );
        }
        out.push_str("</package>\n");
    }
    out.push_str("</otherdata>");
    out
}

/// One `<data>` record of repomd.xml.
pub struct Record {
    pub kind: &'static str,
    pub checksum: String,
    pub open_checksum: String,
    pub href: String,
    pub timestamp: u64,
    pub size: u64,
    pub open_size: u64,
}

pub fn repomd(revision: u64, records: &[Record]) -> String {
    let mut out = format!("{XML_DECL}<repomd xmlns=\"{REPO_NS}\" xmlns:rpm=\"{RPM_NS}\">\n  <revision>{revision}</revision>\n");
    for r in records {
        let _ = write!(
            out,
            "  <data type=\"{}\">\n    <checksum type=\"sha256\">{}</checksum>\n    <open-checksum type=\"sha256\">{}</open-checksum>\n    \
             <location href=\"{}\"/>\n    <timestamp>{}</timestamp>\n    <size>{}</size>\n    <open-size>{}</open-size>\n  </data>\n",
            r.kind,
            r.checksum,
            r.open_checksum,
            attr(&r.href),
            r.timestamp,
            r.size,
            r.open_size
        );
    }
    out.push_str("</repomd>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_libxml2() {
        assert_eq!(text("a<b>&\"c'\r\n\tü"), "a&lt;b&gt;&amp;\"c'&#13;\n\tü");
        assert_eq!(attr("a<b>&\"c'\r\n\tü"), "a&lt;b&gt;&amp;&quot;c'&#13;&#10;&#9;&#xFC;");
    }
}
