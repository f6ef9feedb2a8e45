//! Dependencies as createrepo_c lists them in primary.xml: which entries it
//! keeps, how it splits `epoch:version-release`, and which requires it marks
//! `pre="1"`. dnf reads the result through libsolv, so a different choice
//! here changes what the solver sees, not just how the file looks.
//!
//! Reference: createrepo_c 0.17 `parsehdr.c` (`cr_package_from_header`) and
//! `misc.c` (`cr_flag_to_str`, `cr_str_to_evr`).

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use rpm::{Dependency, DependencyFlags, PackageMetadata};

/// One `<rpm:entry>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    pub name: String,
    /// EQ/LT/LE/GT/GE; `None` when the dependency has no usable comparison.
    pub flags: Option<&'static str>,
    pub epoch: Option<String>,
    pub ver: Option<String>,
    pub rel: Option<String>,
    /// Only set on requires.
    pub pre: bool,
}

/// The dependency lists of one package, in primary.xml order of elements.
#[derive(Debug, Default)]
pub struct Deps {
    pub provides: Vec<Dep>,
    pub requires: Vec<Dep>,
    pub conflicts: Vec<Dep>,
    pub obsoletes: Vec<Dep>,
    pub suggests: Vec<Dep>,
    pub enhances: Vec<Dep>,
    pub recommends: Vec<Dep>,
    pub supplements: Vec<Dep>,
}

/// Requires that must be installed before the package's scriptlets run.
/// createrepo_c 1.1.1 added PRETRANS and POSTTRANS to this set; Debian 12
/// ships 0.17.3, our oracle, so we keep its set. The flag is an ordering
/// hint to the solver: rpm orders the transaction from the headers anyway.
const PRE_FLAGS: DependencyFlags = DependencyFlags::PREREQ
    .union(DependencyFlags::SCRIPT_PRE)
    .union(DependencyFlags::SCRIPT_POST);

/// Reads and filters every dependency list. `files` are the package's own
/// paths (a require on one of its primary files is dropped); `nevra` only
/// names the package in warnings.
pub fn collect(meta: &PackageMetadata, files: &HashSet<String>, nevra: &str) -> Result<Deps, rpm::Error> {
    let provides = plain(meta.get_provides()?, nevra);
    // createrepo_c drops a require that the package provides itself, matching
    // name, comparison and version text exactly.
    let provided: HashSet<String> = meta.get_provides()?.iter().map(nfv).collect();
    Ok(Deps {
        requires: requires(meta.get_requires()?, &provided, files, nevra),
        provides,
        conflicts: plain(meta.get_conflicts()?, nevra),
        obsoletes: plain(meta.get_obsoletes()?, nevra),
        suggests: plain(meta.get_suggests()?, nevra),
        enhances: plain(meta.get_enhances()?, nevra),
        recommends: plain(meta.get_recommends()?, nevra),
        supplements: plain(meta.get_supplements()?, nevra),
    })
}

/// Every entry, minus those whose epoch is not a number.
fn plain(raw: Vec<Dependency>, nevra: &str) -> Vec<Dep> {
    raw.iter().filter_map(|d| entry(d, false, nevra)).collect()
}

fn requires(raw: Vec<Dependency>, provided: &HashSet<String>, files: &HashSet<String>, nevra: &str) -> Vec<Dep> {
    let mut out = Vec::new();
    // Last (flags, version, pre) seen per name: a repeat of it is dropped.
    let mut last: HashMap<String, (Option<&'static str>, String, bool)> = HashMap::new();
    // Of all libc.so.6 requires only the highest symbol version is kept,
    // listed after the others (it implies the lower ones).
    let mut libc: Option<Dep> = None;
    for d in &raw {
        // rpmlib() features are checked by rpm itself; no repo lists them.
        if d.name.starts_with("rpmlib(") {
            continue;
        }
        if d.name.starts_with('/') && files.contains(&d.name) && is_primary_file(&d.name) {
            continue;
        }
        if provided.contains(&nfv(d)) {
            continue;
        }
        let pre = d.flags.intersects(PRE_FLAGS);
        let key = (flag_str(d.flags), d.version.clone(), pre);
        if last.get(&d.name) == Some(&key) {
            continue;
        }
        let Some(dep) = entry(d, pre, nevra) else { continue };
        if dep.name.starts_with("libc.so.6") {
            if libc
                .as_ref()
                .is_none_or(|best| libc_version_cmp(&best.name, &dep.name) == Ordering::Less)
            {
                libc = Some(dep);
            }
            continue;
        }
        last.insert(dep.name.clone(), key);
        out.push(dep);
    }
    out.extend(libc);
    out
}

/// Name, comparison and version concatenated: createrepo_c's identity of a
/// dependency when it matches requires against provides.
fn nfv(d: &Dependency) -> String {
    format!("{}{}{}", d.name, flag_str(d.flags).unwrap_or(""), d.version)
}

/// One entry, or `None` (with a warning) when the version has a non-numeric
/// epoch, which createrepo_c skips rather than guess.
fn entry(d: &Dependency, pre: bool, nevra: &str) -> Option<Dep> {
    let Some((epoch, ver, rel)) = split_evr(&d.version) else {
        tracing::warn!(
            "{nevra}: skipping dependency `{}`: bad epoch in version `{}`",
            d.name,
            d.version
        );
        return None;
    };
    Some(Dep {
        name: d.name.clone(),
        flags: flag_str(d.flags),
        epoch,
        ver,
        rel,
        pre,
    })
}

/// The comparison part of the flags. Combinations other than the five
/// comparisons (e.g. LT|GT) read as none, as in createrepo_c.
pub fn flag_str(flags: DependencyFlags) -> Option<&'static str> {
    match flags.bits() & 0xf {
        2 => Some("LT"),
        4 => Some("GT"),
        8 => Some("EQ"),
        10 => Some("LE"),
        12 => Some("GE"),
        _ => None,
    }
}

type Evr = (Option<String>, Option<String>, Option<String>);

/// Splits `[epoch:]version[-release]` at the first `:` and the first `-`
/// after it. A missing epoch reads as "0" once there is a version; `None`
/// means the epoch is not a number.
pub fn split_evr(s: &str) -> Option<Evr> {
    if s.is_empty() {
        return Some((None, None, None));
    }
    let (epoch, rest) = match s.split_once(':') {
        Some((e, rest)) if is_c_integer(e) => ((!e.is_empty()).then(|| e.to_string()), rest),
        Some(_) => return None,
        None => (None, s),
    };
    let epoch = Some(epoch.unwrap_or_else(|| "0".to_string()));
    let (ver, rel) = match rest.split_once('-') {
        Some((v, r)) => (v, (!r.is_empty()).then(|| r.to_string())),
        None => (rest, None),
    };
    Some((epoch, (!ver.is_empty()).then(|| ver.to_string()), rel))
}

/// True when C's strtol would consume all of `s` (empty counts: strtol
/// consumes nothing and stops at the colon).
fn is_c_integer(s: &str) -> bool {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    s.is_empty() || (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
}

/// The paths createrepo_c copies into primary.xml (and the ones whose
/// requires it drops): anything under /etc, any `bin/` directory, and
/// /usr/lib/sendmail. yum and dnf resolve file requires on these from
/// primary alone.
pub fn is_primary_file(path: &str) -> bool {
    path.starts_with("/etc/") || path == "/usr/lib/sendmail" || path.contains("bin/")
}

/// Orders two libc.so.6 requires by the symbol version in their first
/// parentheses: `libc.so.6()` < `libc.so.6(GLIBC_2.3)` < `libc.so.6(GLIBC_2.34)`.
/// Follows createrepo_c's `cr_compare_dependency`, including treating a
/// missing or digit-less version as lower.
fn libc_version_cmp(a: &str, b: &str) -> Ordering {
    // Each step decides as soon as one side lacks what the other has.
    fn either<T>(a: Option<T>, b: Option<T>) -> Result<(T, T), Ordering> {
        match (a, b) {
            (Some(x), Some(y)) => Ok((x, y)),
            (None, None) => Err(Ordering::Equal),
            (None, Some(_)) => Err(Ordering::Less),
            (Some(_), None) => Err(Ordering::Greater),
        }
    }
    let step = || -> Result<Ordering, Ordering> {
        let (oa, ob) = either(a.find('('), b.find('('))?;
        let (ca, cb) = either(a[oa..].find(')').map(|i| oa + i), b[ob..].find(')').map(|i| ob + i))?;
        let (ia, ib) = (&a[oa + 1..ca], &b[ob + 1..cb]);
        either((!ia.is_empty()).then_some(()), (!ib.is_empty()).then_some(()))?;
        let digit = |s: &str| s.find(|c: char| c.is_ascii_digit());
        let (da, db) = either(digit(ia), digit(ib))?;
        Ok(rpmvercmp(&ia[da..], &ib[db..]))
    };
    step().unwrap_or_else(|o| o)
}

/// rpm's version comparison (`rpmvercmp`), with `~` sorting before and `^`
/// after everything.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while byte_at(a, i) != 0 || byte_at(b, j) != 0 {
        i = skip_separators(a, i);
        j = skip_separators(b, j);
        let (x, y) = (byte_at(a, i), byte_at(b, j));
        match tilde_or_caret(x, y) {
            Err(decided) => return decided,
            Ok(true) => {
                i += 1;
                j += 1;
                continue;
            }
            Ok(false) => {}
        }
        if x == 0 || y == 0 {
            break;
        }
        match segments(a, i, b, j) {
            Ok((end_a, end_b)) => (i, j) = (end_a, end_b),
            Err(decided) => return decided,
        }
    }
    match (byte_at(a, i) == 0, byte_at(b, j) == 0) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// The byte at `i`, or 0 past the end, as rpm reads its C strings.
fn byte_at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// Past the separators at `i`: what is neither alphanumeric nor `~`/`^`.
fn skip_separators(s: &[u8], mut i: usize) -> usize {
    let is_sep = |c: u8| c != 0 && !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    while is_sep(byte_at(s, i)) {
        i += 1;
    }
    i
}

/// What a `~` or `^` under either cursor decides: `Err` ends the comparison,
/// `Ok(true)` means both have one (skip it), `Ok(false)` that neither has.
fn tilde_or_caret(x: u8, y: u8) -> Result<bool, Ordering> {
    if x == b'~' || y == b'~' {
        return match (x == b'~', y == b'~') {
            (false, _) => Err(Ordering::Greater),
            (_, false) => Err(Ordering::Less),
            _ => Ok(true),
        };
    }
    if x == b'^' || y == b'^' {
        // `^` sorts after the end of the string but before anything else.
        return match (x, y) {
            (0, _) => Err(Ordering::Less),
            (_, 0) => Err(Ordering::Greater),
            (x, _) if x != b'^' => Err(Ordering::Greater),
            (_, y) if y != b'^' => Err(Ordering::Less),
            _ => Ok(true),
        };
    }
    Ok(false)
}

/// Compares the digit or letter runs starting at `a[i]` and `b[j]` (of the
/// kind `a[i]` is): `Ok` with both ends when equal, else the decision.
fn segments(a: &[u8], i: usize, b: &[u8], j: usize) -> Result<(usize, usize), Ordering> {
    let numeric = a[i].is_ascii_digit();
    let class = |c: &&u8| if numeric { c.is_ascii_digit() } else { c.is_ascii_alphabetic() };
    let end_a = i + a[i..].iter().take_while(class).count();
    let end_b = j + b[j..].iter().take_while(class).count();
    if end_b == j {
        // Numeric segments are newer than alphabetic ones.
        return Err(if numeric { Ordering::Greater } else { Ordering::Less });
    }
    let (mut sa, mut sb) = (&a[i..end_a], &b[j..end_b]);
    if numeric {
        let zeros = |s: &[u8]| s.iter().take_while(|&&c| c == b'0').count();
        sa = &sa[zeros(sa)..];
        sb = &sb[zeros(sb)..];
        match sa.len().cmp(&sb.len()) {
            Ordering::Equal => {}
            other => return Err(other),
        }
    }
    match sa.cmp(sb) {
        Ordering::Equal => Ok((end_a, end_b)),
        other => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evr_split_follows_createrepo_c() {
        let s = |e: &str, v: &str, r: &str| {
            let o = |x: &str| (!x.is_empty()).then(|| x.to_string());
            Some((o(e), o(v), o(r)))
        };
        assert_eq!(split_evr(""), Some((None, None, None)));
        assert_eq!(split_evr("2.0"), s("0", "2.0", ""));
        assert_eq!(split_evr("2.1.0-1"), s("0", "2.1.0", "1"));
        assert_eq!(split_evr("3:1.2-4.el9"), s("3", "1.2", "4.el9"));
        assert_eq!(split_evr(":1.2"), s("0", "1.2", ""));
        assert_eq!(split_evr("1.2-3-4"), s("0", "1.2", "3-4"));
        assert_eq!(split_evr("1.2-"), s("0", "1.2", ""));
        assert_eq!(split_evr("x:1.2"), None);
    }

    #[test]
    fn flags() {
        assert_eq!(flag_str(DependencyFlags::from_bits_retain(8 | (1 << 28))), Some("EQ"));
        assert_eq!(flag_str(DependencyFlags::from_bits_retain(6)), None);
        assert_eq!(flag_str(DependencyFlags::SCRIPT_PRE), None);
    }

    #[test]
    fn vercmp() {
        use Ordering::*;
        for (a, b, o) in [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.34", "2.4", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1.0^git1", "1.0", Greater),
            ("1.0a", "1.0", Greater),
            ("1.01", "1.1", Equal),
            ("1.a", "1.1", Less),
            ("1_0", "1.0", Equal),
        ] {
            assert_eq!(rpmvercmp(a, b), o, "{a} vs {b}");
        }
    }

    #[test]
    fn libc_highest_wins() {
        assert_eq!(
            libc_version_cmp("libc.so.6()(64bit)", "libc.so.6(GLIBC_2.34)(64bit)"),
            Ordering::Less
        );
        assert_eq!(
            libc_version_cmp("libc.so.6(GLIBC_2.34)(64bit)", "libc.so.6(GLIBC_2.4)(64bit)"),
            Ordering::Greater
        );
        assert_eq!(libc_version_cmp("libc.so.6", "libc.so.6()(64bit)"), Ordering::Less);
    }

    #[test]
    fn primary_files() {
        assert!(is_primary_file("/etc/outpost/outpost.conf"));
        assert!(is_primary_file("/usr/bin/outpost-agent"));
        assert!(is_primary_file("/opt/x/sbin/y"));
        assert!(!is_primary_file("/etc"));
        assert!(!is_primary_file("/usr/bin"));
        assert!(!is_primary_file("/usr/share/doc/outpost/copyright"));
    }
}
