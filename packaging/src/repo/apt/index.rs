//! The text of the indices: Packages stanzas and the Release files. Pure
//! functions of their inputs, so the same pool and date give the same bytes.

use std::fmt::Write as _;

use super::debfile::DebFile;
use super::AptOptions;

/// A package in the pool: its path relative to the repository root, with
/// '/' separators whatever the host (it goes into `Filename:`).
#[derive(Debug, Clone)]
pub struct PoolEntry {
    pub filename: String,
    pub deb: DebFile,
}

/// Fields the index itself writes; a control file that carries one would
/// otherwise make apt read the package's claim instead of ours.
const INDEX_FIELDS: &[&str] = &["Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512", "Description-md5"];

/// One Packages stanza: the control fields as the package wrote them, then
/// where the file is and what it hashes to.
pub fn stanza(e: &PoolEntry) -> String {
    let mut out = String::new();
    for (name, value) in e.deb.control.fields() {
        if INDEX_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name)) {
            continue;
        }
        // A value that starts on the next line (`Conffiles:`-style) keeps
        // `Name:` alone on its line.
        let sep = if value.starts_with('\n') { "" } else { " " };
        let _ = writeln!(out, "{name}:{sep}{value}");
    }
    let d = &e.deb;
    let _ = writeln!(
        out,
        "Filename: {}\nSize: {}\nMD5sum: {}\nSHA256: {}",
        e.filename, d.size, d.md5, d.sha256
    );
    out
}

/// A Packages file: stanzas separated by blank lines, in the given order.
pub fn packages<'a>(entries: impl IntoIterator<Item = &'a PoolEntry>) -> String {
    entries.into_iter().map(stanza).collect::<Vec<_>>().join("\n")
}

/// `binary-<arch>/Release`: lets apt pin by component and architecture.
pub fn arch_release(opts: &AptOptions, component: &str, arch: &str) -> String {
    let mut out = String::new();
    field(&mut out, "Archive", &opts.suite);
    field(&mut out, "Origin", &opts.origin);
    field(&mut out, "Label", &opts.label);
    field(&mut out, "Component", component);
    field(&mut out, "Architecture", arch);
    out
}

/// An index file as the suite's Release lists it.
#[derive(Debug, Clone)]
pub struct IndexFile {
    /// Relative to `dists/<suite>/`.
    pub path: String,
    pub size: u64,
    pub md5: String,
    pub sha256: String,
}

/// `dists/<suite>/Release`: the one file the signature covers; everything
/// else is trusted through the hashes it lists.
pub fn release(opts: &AptOptions, archs: &[String], components: &[String], files: &[IndexFile]) -> String {
    let mut out = String::new();
    field(&mut out, "Origin", &opts.origin);
    field(&mut out, "Label", &opts.label);
    field(&mut out, "Suite", &opts.suite);
    field(&mut out, "Codename", &opts.suite);
    field(&mut out, "Date", &release_date(opts.date));
    field(&mut out, "Architectures", &archs.join(" "));
    field(&mut out, "Components", &components.join(" "));
    field(&mut out, "Description", &opts.description);
    out.push_str("MD5Sum:\n");
    for f in files {
        let _ = writeln!(out, " {} {:>16} {}", f.md5, f.size, f.path);
    }
    out.push_str("SHA256:\n");
    for f in files {
        let _ = writeln!(out, " {} {:>16} {}", f.sha256, f.size, f.path);
    }
    out
}

/// Writes `Name: value`, leaving out empty optional fields.
fn field(out: &mut String, name: &str, value: &str) {
    if !value.is_empty() {
        let _ = writeln!(out, "{name}: {value}");
    }
}

/// The Release `Date:` as the Debian archive writes it (`... 05:00:00 UTC`).
/// apt ≥ 1.x also accepts `+0000`, but older parsers only know the zone names.
pub fn release_date(secs: u64) -> String {
    let d = crate::time::rfc2822(secs);
    match d.strip_suffix(" +0000") {
        Some(base) => format!("{base} UTC"),
        None => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::apt::control::Control;

    fn entry(control: &str) -> PoolEntry {
        let control = Control::parse(control).unwrap();
        let deb = DebFile {
            package: "a1".into(),
            version: "1".into(),
            arch: "all".into(),
            source: "a1".into(),
            control,
            size: 10,
            md5: "m".into(),
            sha256: "s".into(),
        };
        PoolEntry {
            filename: "pool/main/a/a1/a1_1_all.deb".into(),
            deb,
        }
    }

    #[test]
    fn stanza_keeps_fields_and_drops_claimed_hashes() {
        let e = entry("Package: a1\nVersion: 1\nSHA256: forged\nConffiles:\n /etc/x 0123\nDescription: d\n long\n");
        assert_eq!(
            stanza(&e),
            "Package: a1\nVersion: 1\nConffiles:\n /etc/x 0123\nDescription: d\n long\n\
             Filename: pool/main/a/a1/a1_1_all.deb\nSize: 10\nMD5sum: m\nSHA256: s\n"
        );
        assert_eq!(packages([&e, &e]), format!("{}\n{}", stanza(&e), stanza(&e)));
    }

    #[test]
    fn date_is_in_utc_like_the_debian_archive() {
        assert_eq!(release_date(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 UTC");
    }
}
