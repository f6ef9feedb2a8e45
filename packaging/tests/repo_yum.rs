//! The yum repository writer, checked with tools we did not write: gpgv and
//! gpg verify repomd.xml.asc, createrepo_c describes the same packages the
//! same way, and dnf reads the repository with repo_gpgcheck=1.
//!
//! Needs (Debian 12): createrepo-c, dnf, gpg, gpgv, binutils (strip), and
//! `cargo build --workspace --bins` beforehand for outpost-agent. A missing
//! tool fails the test with the package to install: an oracle that silently
//! skips proves nothing.

use std::collections::{BTreeMap, BTreeSet};
use outpost_test_tools::tool;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

mod common;

use common::{ok, require, run, text};
use omnipack::repo::yum::{publish, YumOptions, YumSummary};
use omnipack::repo::RepoError;
use omnipack::sign::openpgp::OpenPgpKey;
use omnipack::sign::{OpenPgpKeySource, Signer};
use sha2::{Digest, Sha256};

const SOURCE_DATE_EPOCH: u32 = 1_700_000_000;
const DATE: u64 = 1_700_000_100;

// ---------------------------------------------------------------------------
// Fixture: one key and one set of packages for every test in this file.

struct Fixture {
    dir: PathBuf,
    key: OpenPgpKey,
    outpost_old: PathBuf,
    outpost_new: PathBuf,
    /// Signed, no files or scripts; provides what outpost requires.
    base: PathBuf,
    /// The same without a signature.
    base_unsigned: PathBuf,
    /// Awkward metadata: escaping, epochs, dependency filtering, changelogs.
    odd: PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(build_fixture)
}

fn build_fixture() -> Fixture {
    for program in ["createrepo_c", "dnf", "gpg", "gpgv", "strip"] {
        require(program);
    }
    // nextest runs every test in its own process: build the fixture once,
    // under a lock all of them share, and reuse it while its inputs are
    // unchanged (tests only read it, and write into their own temp dirs).
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(root).unwrap();
    let lock = std::fs::File::create(root.join("repo_yum.lock")).unwrap();
    lock.lock().unwrap();
    let dir = root.join("repo_yum");
    let stamp = dir.join(".complete");
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let inputs = [
        Path::new(env!("CARGO_BIN_EXE_omnipack")).to_path_buf(),
        Path::new(env!("CARGO_BIN_EXE_omnipack")).with_file_name("outpost-agent"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("outpost.toml"),
    ];
    let fresh = mtime(&stamp).is_some_and(|t| inputs.iter().all(|i| mtime(i).is_some_and(|m| m <= t)));
    if !fresh {
        let _ = std::fs::remove_dir_all(&dir);
    }
    std::fs::create_dir_all(&dir).unwrap();
    let key_dir = dir.join("key");
    let key = OpenPgpKey::load(&OpenPgpKeySource::Throwaway(key_dir.clone())).expect("throwaway key");
    let secret = key_dir.join("openpgp-test.sec.asc");
    if fresh {
        let rpm = |d: &str| {
            std::fs::read_dir(dir.join(d)).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension().is_some_and(|x| x == "rpm")).unwrap()
        };
        let extra = dir.join("extra");
        return Fixture {
            outpost_old: rpm("dist-old"),
            outpost_new: rpm("dist-new"),
            base: extra.join("test-base-1.0-1.noarch.rpm"),
            base_unsigned: extra.join("unsigned/test-base-1.0-1.noarch.rpm"),
            odd: extra.join("odd-pkg-1.0-2.el9.noarch.rpm"),
            dir,
            key,
        };
    }
    let agent = stripped_agent(&dir);

    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("outpost.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(
        text.contains("\nversion = \"2.1.0\"\n"),
        "{}: expected version 2.1.0; update this test",
        manifest.display()
    );
    let newer = dir.join("outpost-2.2.0.toml");
    std::fs::write(&newer, text.replace("\nversion = \"2.1.0\"\n", "\nversion = \"2.2.0\"\n")).unwrap();

    // The two builds are independent; run them side by side.
    let (old, new) = std::thread::scope(|s| {
        let old = s.spawn(|| omnipack_build(&manifest, &dir.join("dist-old"), &agent, &secret));
        let new = s.spawn(|| omnipack_build(&newer, &dir.join("dist-new"), &agent, &secret));
        (old.join().unwrap(), new.join().unwrap())
    });
    let extra = dir.join("extra");
    std::fs::create_dir_all(extra.join("unsigned")).unwrap();
    let base = extra.join("test-base-1.0-1.noarch.rpm");
    let base_unsigned = extra.join("unsigned/test-base-1.0-1.noarch.rpm");
    let odd = extra.join("odd-pkg-1.0-2.el9.noarch.rpm");
    build_base(&old, &base, Some(&key));
    build_base(&old, &base_unsigned, None);
    build_odd(&odd, &key);
    std::fs::write(&stamp, "").unwrap();
    Fixture {
        dir,
        key,
        outpost_old: old,
        outpost_new: new,
        base,
        base_unsigned,
        odd,
    }
}

/// outpost-agent from the same target directory as the omnipack binary,
/// stripped as release builds are (the debug binary would make slow packages).
fn stripped_agent(dir: &Path) -> PathBuf {
    let agent = Path::new(env!("CARGO_BIN_EXE_omnipack")).with_file_name("outpost-agent");
    assert!(
        agent.is_file(),
        "{} is missing: run `cargo build --workspace --bins` first",
        agent.display()
    );
    let out = dir.join("outpost-agent.stripped");
    ok(tool("strip").arg("-o").arg(&out).arg(&agent));
    out
}

fn omnipack_build(manifest: &Path, out: &Path, agent: &Path, key: &Path) -> PathBuf {
    ok(tool(env!("CARGO_BIN_EXE_omnipack"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap())
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH.to_string())
        .env_remove("OMNIPACK_OPENPGP_KEY")
        .env_remove("OMNIPACK_OPENPGP_KEY_FILE")
        .env_remove("OMNIPACK_OPENPGP_PASSPHRASE")
        .args(["build", "--formats", "rpm", "--manifest"])
        .arg(manifest)
        .arg("--out")
        .arg(out)
        .arg("--agent-bin")
        .arg(agent)
        .arg("--openpgp-key")
        .arg(key));
    let rpms: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rpm"))
        .collect();
    assert_eq!(rpms.len(), 1, "expected one rpm in {}: {rpms:?}", out.display());
    rpms.into_iter().next().unwrap()
}

/// An empty package that provides what `outpost` requires and an empty
/// root lacks (/bin/sh, the shared libraries), so dnf can resolve it.
fn build_base(outpost: &Path, out: &Path, key: Option<&OpenPgpKey>) {
    let meta = rpm::PackageMetadata::open(outpost).unwrap();
    let mut b = rpm::PackageBuilder::new("test-base", "1.0", "MIT", "noarch", "Provides what an empty root lacks");
    b.release("1").using_config(
        rpm::BuildConfig::v4()
            .compression(rpm::CompressionType::Xz)
            .source_date(SOURCE_DATE_EPOCH),
    );
    let mut names = BTreeSet::new();
    for r in meta.get_requires().unwrap() {
        if !r.name.starts_with("rpmlib(") && !r.name.starts_with("config(") {
            names.insert(r.name);
        }
    }
    for n in names {
        b.provides(rpm::Dependency::any(n));
    }
    let pkg = match key {
        Some(k) => b.build_and_sign(k.rpm_signer().unwrap()).unwrap(),
        None => b.build().unwrap(),
    };
    pkg.write_file(out).unwrap();
}

/// A package exercising what createrepo_c treats specially: XML escaping and
/// non-ASCII text, empty vendor/url/packager, an epoch, requires that are
/// dropped (rpmlib, own primary files, self-provided, repeats, bad epochs),
/// libc.so.6 reduced to its highest version, pre="1", weak dependencies,
/// ghosts and directories, /usr/lib/sendmail, and more than ten changelog
/// entries with equal dates.
fn build_odd(out: &Path, key: &OpenPgpKey) {
    use rpm::{Dependency as D, DependencyFlags as F, FileOptions as O};
    let dep = |name: &str, flags: F, version: &str| D {
        name: name.into(),
        flags,
        version: version.into(),
    };
    let mut b = rpm::PackageBuilder::new(
        "odd-pkg",
        "1.0",
        "MIT & (Apache-2.0 or <GPL>)",
        "noarch",
        "Odd <summary> & \"quotes\" 'apos'",
    );
    b.release("2.el9")
        .epoch(3)
        .using_config(
            rpm::BuildConfig::v4()
                .compression(rpm::CompressionType::Xz)
                .source_date(SOURCE_DATE_EPOCH),
        )
        .description("Ünïcödé description\nsecond line\twith tab <b>&amp;</b> \"q\" 'a'\n")
        .group("Odd/Group & <stuff>")
        .build_host("host.example");
    for (path, body) in [
        ("/usr/sbin/odd", "#!/bin/sh\n"),
        ("/usr/lib/sendmail", "x"),
        ("/usr/share/odd/a&b <c>.txt", "y"),
        ("/usr/share/odd/data", "z"),
    ] {
        b.with_file_contents(body.as_bytes().to_vec(), O::new(path).permissions(0o755))
            .unwrap();
    }
    b.with_file_contents(b"conf".to_vec(), O::new("/etc/odd.conf").config().noreplace())
        .unwrap();
    b.with_ghost(O::ghost("/etc/odd.ghost").permissions(0o644)).unwrap();
    b.with_ghost(O::ghost_dir("/var/lib/odd-ghost-dir")).unwrap();
    b.with_dir_entry(O::dir("/etc/odd.d").permissions(0o755)).unwrap();
    for d in [
        dep("/bin/sh", F::SCRIPT_PRE | F::INTERP, ""),
        dep("coreutils", F::SCRIPT_POST, ""),
        dep("coreutils", F::SCRIPT_PREUN, ""),
        dep("trans-tool", F::POSTTRANS, ""),
        dep("foo", F::GE, "1:2.0-3"),
        dep("bar", F::LESS, "x:1.0"),
        dep("baz", F::EQUAL, "4.5"),
        dep("weird", F::LESS | F::GREATER, "1.0"),
        D::any("dup"),
        D::any("dup"),
        D::any("libc.so.6()(64bit)"),
        D::any("libc.so.6(GLIBC_2.17)(64bit)"),
        D::any("libc.so.6(GLIBC_2.34)(64bit)"),
        D::any("libc.so.6(GLIBC_2.4)(64bit)"),
        D::any("/usr/sbin/odd"),
        D::any("/usr/share/odd/data"),
        dep("odd-pkg", F::EQUAL, "3:1.0-2.el9"),
        D::any("needs(ä) & <more>"),
    ] {
        b.requires(d);
    }
    b.provides(D::any("odd(ä)"))
        .conflicts(dep("old-odd", F::LE, "2.0"))
        .obsoletes(dep("older-odd", F::LESS, "0:1"))
        .recommends(D::any("rec"))
        .suggests(dep("sug", F::GREATER, "1"))
        .enhances(D::any("enh"))
        .supplements(D::any("sup"));
    for i in 0..12u32 {
        // Newest first, as rpmbuild stores them; pairs share a date.
        let date = SOURCE_DATE_EPOCH - (i / 2) * 86_400;
        b.add_changelog_entry(
            format!("Jöhn <j@example.com>\t - 1.0-{i}   "),
            format!("- change {i} <x> & \"y\"\n- ü"),
            date,
        );
    }
    b.build_and_sign(key.rpm_signer().unwrap()).unwrap().write_file(out).unwrap();
}

// ---------------------------------------------------------------------------
// Helpers


fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(name).tempdir_in(&fixture().dir).unwrap()
}

fn publish_to(dir: &Path, rpms: &[&Path], date: u64) -> Result<YumSummary, RepoError> {
    let rpms: Vec<PathBuf> = rpms.iter().map(|p| p.to_path_buf()).collect();
    publish(dir, &rpms, &fixture().key, &YumOptions { date })
}

fn gunzip(bytes: &[u8]) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut s).unwrap();
    s
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The data file of `kind` that repomd.xml names, decompressed.
fn data_file(repo: &Path, kind: &str) -> String {
    let repomd = parse_xml(&std::fs::read_to_string(repo.join("repodata/repomd.xml")).unwrap());
    let data = repomd
        .children
        .iter()
        .find(|d| d.name == "data" && d.attrs["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in repomd.xml"));
    gunzip(&std::fs::read(repo.join(&data.child("location").attrs["href"])).unwrap())
}

// ---------------------------------------------------------------------------
// A small XML reader: enough for repodata (elements, attributes, text, the
// five entities and character references), with XML's line-end and
// attribute-whitespace normalisation, so escaping mistakes show up.

#[derive(Debug, Clone, PartialEq)]
struct Node {
    name: String,
    attrs: BTreeMap<String, String>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    #[track_caller]
    fn child(&self, name: &str) -> &Node {
        self.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("<{}> has no <{name}>", self.name))
    }
}

fn parse_xml(doc: &str) -> Node {
    let doc = doc.replace("\r\n", "\n").replace('\r', "\n");
    let mut p = XmlReader { s: &doc, i: 0 };
    p.skip_ws();
    if p.rest().starts_with("<?") {
        p.i += p.rest().find("?>").expect("unterminated XML declaration") + 2;
    }
    p.skip_ws();
    let root = p.element();
    p.skip_ws();
    assert!(
        p.rest().is_empty(),
        "trailing content after the root element: {:?}",
        &p.rest()[..p.rest().len().min(40)]
    );
    root
}

struct XmlReader<'a> {
    s: &'a str,
    i: usize,
}

impl XmlReader<'_> {
    fn rest(&self) -> &str {
        &self.s[self.i..]
    }

    fn skip_ws(&mut self) {
        self.i += self.rest().len() - self.rest().trim_start().len();
    }

    fn take_until(&mut self, stop: impl Fn(char) -> bool) -> String {
        let n = self
            .rest()
            .find(stop)
            .unwrap_or_else(|| panic!("unexpected end of XML at byte {}", self.i));
        let t = self.rest()[..n].to_string();
        self.i += n;
        t
    }

    fn expect(&mut self, what: &str) {
        assert!(
            self.rest().starts_with(what),
            "expected {what:?} at byte {}: {:?}",
            self.i,
            &self.rest()[..self.rest().len().min(40)]
        );
        self.i += what.len();
    }

    fn element(&mut self) -> Node {
        self.expect("<");
        let name = self.take_until(|c: char| c.is_whitespace() || c == '/' || c == '>');
        let mut node = Node {
            name,
            attrs: BTreeMap::new(),
            text: String::new(),
            children: Vec::new(),
        };
        loop {
            self.skip_ws();
            if self.rest().starts_with("/>") {
                self.i += 2;
                return node;
            }
            if self.rest().starts_with('>') {
                self.i += 1;
                break;
            }
            let key = self.take_until(|c| c == '=').trim().to_string();
            self.expect("=\"");
            // Literal whitespace in an attribute reads as a space.
            let raw = self.take_until(|c| c == '"').replace(['\t', '\n'], " ");
            self.expect("\"");
            assert!(
                node.attrs.insert(key.clone(), decode(&raw)).is_none(),
                "duplicate attribute {key}"
            );
        }
        loop {
            if self.rest().starts_with("</") {
                self.i += 2;
                let end = self.take_until(|c| c == '>');
                assert_eq!(end, node.name, "mismatched closing tag");
                self.i += 1;
                break;
            }
            if self.rest().starts_with('<') {
                node.children.push(self.element());
            } else {
                let t = self.take_until(|c| c == '<');
                node.text.push_str(&decode(&t));
            }
        }
        if !node.children.is_empty() {
            assert!(node.text.trim().is_empty(), "<{}> mixes text and elements", node.name);
            node.text.clear();
        }
        node
    }
}

fn decode(s: &str) -> String {
    assert!(!s.contains('<'), "unescaped < in {s:?}");
    let mut out = String::new();
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let semi = rest[amp..]
            .find(';')
            .unwrap_or_else(|| panic!("unterminated entity in {s:?}"))
            + amp;
        let ent = &rest[amp + 1..semi];
        let c = match ent {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ if ent.starts_with("#x") => char::from_u32(u32::from_str_radix(&ent[2..], 16).unwrap()).unwrap(),
            _ if ent.starts_with('#') => char::from_u32(ent[1..].parse().unwrap()).unwrap(),
            _ => panic!("unknown entity &{ent}; in {s:?}"),
        };
        out.push(c);
        rest = &rest[semi + 1..];
    }
    out.push_str(rest);
    out
}

/// The first difference between two trees, as a path.
fn first_difference(a: &Node, b: &Node, path: &str) -> Option<String> {
    let here = format!("{path}/{}", a.name);
    if a.name != b.name || a.attrs != b.attrs || a.text != b.text {
        return Some(format!(
            "{here}:\n  ours:        {:?} {:?} {:?}\n  createrepo_c: {:?} {:?} {:?}",
            a.name, a.attrs, a.text, b.name, b.attrs, b.text
        ));
    }
    for (i, (x, y)) in a.children.iter().zip(&b.children).enumerate() {
        if let Some(d) = first_difference(x, y, &format!("{here}[{i}]")) {
            return Some(d);
        }
    }
    (a.children.len() != b.children.len()).then(|| {
        let names = |n: &Node| {
            n.children
                .iter()
                .map(|c| format!("{}{:?}", c.name, c.attrs.get("name").or(Some(&c.text))))
                .collect::<Vec<_>>()
        };
        format!(
            "{here}: children differ\n  ours:         {:?}\n  createrepo_c: {:?}",
            names(a),
            names(b)
        )
    })
}

/// Packages of a primary/filelists/other document keyed by what identifies
/// them there (location in primary, pkgid in the others).
fn packages_by_id(doc: &Node) -> BTreeMap<String, Node> {
    doc.children
        .iter()
        .map(|p| {
            let id = p
                .attrs
                .get("pkgid")
                .cloned()
                .unwrap_or_else(|| p.child("location").attrs["href"].clone());
            (id, p.clone())
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn repomd_signature_verifies_with_gpgv_and_gpg_and_tampering_fails() {
    let f = fixture();
    let tmp = scratch("sig-");
    let repo = tmp.path().join("repo");
    publish_to(&repo, &[&f.outpost_old, &f.base], DATE).unwrap();
    let repodata = repo.join("repodata");
    assert_eq!(
        std::fs::read_to_string(repodata.join("repomd.xml.key")).unwrap(),
        f.key.public_key_armored()
    );

    let gnupg = tmp.path().join("gnupg");
    std::fs::create_dir(&gnupg).unwrap();
    let gpg = || {
        let mut c = tool("gpg");
        c.env("GNUPGHOME", &gnupg).env("LC_ALL", "C").args(["--batch", "--no-tty"]);
        c
    };
    let keyring = tmp.path().join("repo-key.gpg");
    ok(gpg()
        .arg("--yes")
        .arg("--output")
        .arg(&keyring)
        .arg("--dearmor")
        .arg(repodata.join("repomd.xml.key")));
    let gpgv = |data: &Path| {
        run(tool("gpgv")
            .env("LC_ALL", "C")
            .arg("--keyring")
            .arg(&keyring)
            .arg(repodata.join("repomd.xml.asc"))
            .arg(data))
    };

    let good = gpgv(&repodata.join("repomd.xml"));
    assert!(good.status.success(), "gpgv rejected our repomd.xml.asc:\n{}", text(&good));
    assert!(text(&good).contains("Good signature"), "{}", text(&good));

    ok(gpg().arg("--import").arg(repodata.join("repomd.xml.key")));
    let verify = run(gpg()
        .arg("--verify")
        .arg(repodata.join("repomd.xml.asc"))
        .arg(repodata.join("repomd.xml")));
    assert!(
        verify.status.success() && text(&verify).contains("Good signature"),
        "gpg --verify:\n{}",
        text(&verify)
    );

    // One byte changed: the revision.
    let mut bytes = std::fs::read(repodata.join("repomd.xml")).unwrap();
    let at = String::from_utf8_lossy(&bytes).find("<revision>").unwrap() + "<revision>".len();
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    let altered = tmp.path().join("repomd-altered.xml");
    std::fs::write(&altered, &bytes).unwrap();
    let bad = gpgv(&altered);
    assert!(
        !bad.status.success() && text(&bad).contains("BAD signature"),
        "gpgv accepted an altered repomd.xml:\n{}",
        text(&bad)
    );
}

#[test]
fn repomd_checksums_sizes_and_dates_match_the_files() {
    let f = fixture();
    let tmp = scratch("sums-");
    let repo = tmp.path();
    let summary = publish_to(repo, &[&f.outpost_old, &f.outpost_new, &f.base], DATE).unwrap();
    assert_eq!(summary.packages.len(), 3);
    let repomd = parse_xml(&std::fs::read_to_string(repo.join("repodata/repomd.xml")).unwrap());
    assert_eq!(repomd.attrs["xmlns"], "http://linux.duke.edu/metadata/repo");
    assert_eq!(repomd.child("revision").text, DATE.to_string());
    let kinds: Vec<&str> = repomd
        .children
        .iter()
        .filter(|c| c.name == "data")
        .map(|d| d.attrs["type"].as_str())
        .collect();
    assert_eq!(kinds, ["primary", "filelists", "other"]);
    for data in repomd.children.iter().filter(|c| c.name == "data") {
        let kind = &data.attrs["type"];
        let href = &data.child("location").attrs["href"];
        let gz = std::fs::read(repo.join(href)).unwrap_or_else(|e| panic!("{href} named by repomd.xml: {e}"));
        let open = gunzip(&gz);
        assert_eq!(data.child("checksum").attrs["type"], "sha256");
        assert_eq!(data.child("checksum").text, sha256(&gz), "{kind}: checksum");
        assert_eq!(
            data.child("open-checksum").text,
            sha256(open.as_bytes()),
            "{kind}: open-checksum"
        );
        assert_eq!(data.child("size").text, gz.len().to_string(), "{kind}: size");
        assert_eq!(data.child("open-size").text, open.len().to_string(), "{kind}: open-size");
        assert_eq!(data.child("timestamp").text, DATE.to_string(), "{kind}: timestamp");
        assert_eq!(href, &format!("repodata/{}-{kind}.xml.gz", sha256(&gz)), "unique file name");
        assert_eq!(parse_xml(&open).attrs["packages"], "3", "{kind}: package count");
    }
    // Each package's checksum is of the whole file it points to.
    for p in parse_xml(&data_file(repo, "primary")).children {
        let file = std::fs::read(repo.join(&p.child("location").attrs["href"])).unwrap();
        assert_eq!(p.child("checksum").text, sha256(&file));
        assert_eq!(p.child("size").attrs["package"], file.len().to_string());
    }
}

#[test]
fn metadata_matches_createrepo_c_for_the_same_packages() {
    let f = fixture();
    let tmp = scratch("crc-");
    let ours = tmp.path().join("ours");
    publish_to(&ours, &[&f.outpost_old, &f.base], DATE).unwrap();
    publish_to(&ours, &[&f.outpost_new, &f.odd], DATE).unwrap();

    // createrepo_c on a copy of the packages, mtimes kept (they are <time file>).
    let theirs = tmp.path().join("theirs");
    std::fs::create_dir_all(theirs.join("packages")).unwrap();
    for e in std::fs::read_dir(ours.join("packages")).unwrap() {
        let src = e.unwrap().path();
        let dst = theirs.join("packages").join(src.file_name().unwrap());
        std::fs::copy(&src, &dst).unwrap();
        let mtime = std::fs::metadata(&src).unwrap().modified().unwrap();
        std::fs::File::options()
            .write(true)
            .open(&dst)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    }
    ok(tool("createrepo_c").args(["--quiet", "--no-database"]).arg(&theirs));

    for kind in ["primary", "filelists", "other"] {
        let (a, b) = (parse_xml(&data_file(&ours, kind)), parse_xml(&data_file(&theirs, kind)));
        assert_eq!((&a.name, &a.attrs), (&b.name, &b.attrs), "{kind}: root element");
        let (a, b) = (packages_by_id(&a), packages_by_id(&b));
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "{kind}: package set"
        );
        assert_eq!(a.len(), 4);
        for (id, pa) in &a {
            if let Some(d) = first_difference(pa, &b[id], "") {
                panic!("{kind}, package {id}: {d}");
            }
        }
    }

    // Spot checks that the comparison covered what it should.
    let primary = data_file(&ours, "primary");
    for needle in [
        "<rpm:entry name=\"libc.so.6(GLIBC_2.34)(64bit)\"/>",
        "<rpm:entry name=\"/bin/sh\" pre=\"1\"/>",
        "<rpm:entry name=\"foo\" flags=\"GE\" epoch=\"1\" ver=\"2.0\" rel=\"3\"/>",
        "<file type=\"ghost\">/etc/odd.ghost</file>",
        "<file>/usr/lib/sendmail</file>",
        "<version epoch=\"3\" ver=\"1.0\" rel=\"2.el9\"/>",
    ] {
        assert!(primary.contains(needle), "primary.xml lacks {needle}");
    }
    assert!(!primary.contains("rpmlib(") && !primary.contains("GLIBC_2.17") && !primary.contains("name=\"bar\""));
    assert_eq!(
        parse_xml(&data_file(&ours, "other"))
            .children
            .iter()
            .map(|p| p.children.len() - 1)
            .max(),
        Some(10),
        "changelog limit"
    );
}

#[test]
fn dnf_reads_the_signed_repository() {
    let f = fixture();
    let tmp = scratch("dnf-");
    let repo = tmp.path().join("repo");
    publish_to(&repo, &[&f.outpost_old, &f.base], DATE).unwrap();
    publish_to(&repo, &[&f.outpost_new], DATE + 1).unwrap();
    let dnf = Dnf::new(tmp.path(), "root", &repo);

    let listed = dnf.ok(&["repoquery", "--qf", "%{name}-%{evr}.%{arch}", "outpost"]);
    let listed: BTreeSet<&str> = listed.lines().filter(|l| l.starts_with("outpost-")).collect();
    assert_eq!(
        listed,
        BTreeSet::from(["outpost-2.1.0-1.x86_64", "outpost-2.2.0-1.x86_64"]),
        "dnf repoquery"
    );
    let dups = dnf.ok(&["list", "--showduplicates", "--available", "outpost"]);
    assert!(
        dups.contains("2.1.0-1") && dups.contains("2.2.0-1"),
        "dnf list --showduplicates:\n{dups}"
    );

    // The file-less test-base installs even into an empty root: a real
    // transaction, with the package signature checked.
    let out = dnf.run(&["install", "test-base"]);
    assert!(out.status.success(), "dnf install test-base:\n{}", text(&out));

    // A byte of repomd.xml changed: the metadata is refused.
    let altered = tmp.path().join("altered");
    copy_tree(&repo, &altered);
    let repomd = altered.join("repodata/repomd.xml");
    std::fs::write(
        &repomd,
        std::fs::read_to_string(&repomd)
            .unwrap()
            .replacen("<revision>", "<revision>9", 1),
    )
    .unwrap();
    let out = Dnf::new(tmp.path(), "root-altered", &altered).run(&["repoquery", "outpost"]);
    assert!(
        !out.status.success() && text(&out).contains("Bad GPG signature"),
        "dnf accepted an altered repomd.xml:\n{}",
        text(&out)
    );

    // No signature at all.
    let unsigned_md = tmp.path().join("no-asc");
    copy_tree(&repo, &unsigned_md);
    std::fs::remove_file(unsigned_md.join("repodata/repomd.xml.asc")).unwrap();
    let out = Dnf::new(tmp.path(), "root-no-asc", &unsigned_md).run(&["repoquery", "outpost"]);
    assert!(
        !out.status.success() && text(&out).contains("GPG signature is not available"),
        "dnf accepted a repo without repomd.xml.asc:\n{}",
        text(&out)
    );
}

#[test]
fn dnf_refuses_an_unsigned_package() {
    let f = fixture();
    let tmp = scratch("dnf-unsigned-");
    let repo = tmp.path().join("repo");
    publish_to(&repo, &[&f.base_unsigned], DATE).unwrap();
    let out = Dnf::new(tmp.path(), "root", &repo).run(&["install", "test-base"]);
    assert!(
        !out.status.success() && text(&out).contains("is not signed"),
        "dnf installed an unsigned package:\n{}",
        text(&out)
    );
}

#[test]
fn published_files_never_change() {
    let f = fixture();
    let tmp = scratch("immutable-");
    let repo = tmp.path().join("repo");
    let first = publish_to(&repo, &[&f.outpost_old], DATE).unwrap();
    assert_eq!(first.added, [PathBuf::from("packages/outpost-2.1.0-1.x86_64.rpm")]);
    let snapshot = |dir: &Path| -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir.join("repodata"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(p).unwrap(),
                )
            })
            .collect()
    };
    let before = snapshot(&repo);

    // Same bytes again: nothing added, metadata identical but for the signature.
    let again = publish_to(&repo, &[&f.outpost_old], DATE).unwrap();
    assert!(again.added.is_empty());
    let republished = snapshot(&repo);
    let without_sig = |m: &BTreeMap<String, Vec<u8>>| {
        m.iter()
            .filter(|(k, _)| *k != "repomd.xml.asc")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(
        without_sig(&before),
        without_sig(&republished),
        "republishing the same package changed the metadata"
    );

    // Different bytes under a published name: refused, and nothing changes.
    let impostor_dir = tmp.path().join("impostor");
    std::fs::create_dir(&impostor_dir).unwrap();
    let impostor = impostor_dir.join("outpost-2.1.0-1.x86_64.rpm");
    std::fs::copy(&f.outpost_new, &impostor).unwrap();
    let err = publish_to(&repo, &[&impostor], DATE + 5).expect_err("a changed package under a published name was accepted");
    match &err {
        RepoError::Package { path, reason } => {
            assert!(path.ends_with("packages/outpost-2.1.0-1.x86_64.rpm"), "{err}");
            assert!(reason.contains("different contents"), "{err}");
        }
        other => panic!("expected RepoError::Package, got {other}"),
    }
    assert!(snapshot(&repo) == republished, "a refused publish changed repodata/");
    assert_eq!(
        std::fs::read(repo.join("packages/outpost-2.1.0-1.x86_64.rpm")).unwrap(),
        std::fs::read(&f.outpost_old).unwrap()
    );

    // A later version joins; the older stays listed and stale data files go.
    let old_files: BTreeSet<String> = snapshot(&repo).into_keys().collect();
    publish_to(&repo, &[&f.outpost_new], DATE + 10).unwrap();
    let new_files: BTreeSet<String> = snapshot(&repo).into_keys().collect();
    assert_eq!(
        new_files.len(),
        6,
        "three data files plus repomd.xml, .asc and .key: {new_files:?}"
    );
    assert_eq!(
        old_files.intersection(&new_files).count(),
        3,
        "old data files left behind: {old_files:?} -> {new_files:?}"
    );
    let hrefs: Vec<String> = parse_xml(&data_file(&repo, "primary"))
        .children
        .iter()
        .map(|p| p.child("location").attrs["href"].clone())
        .collect();
    assert_eq!(
        hrefs,
        ["packages/outpost-2.1.0-1.x86_64.rpm", "packages/outpost-2.2.0-1.x86_64.rpm"]
    );
}

#[test]
fn output_is_deterministic() {
    let f = fixture();
    let tmp = scratch("determinism-");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    publish_to(&a, &[&f.outpost_old, &f.odd], DATE).unwrap();
    publish_to(&b, &[&f.odd, &f.outpost_old], DATE).unwrap();
    for name in ["repomd.xml", "repomd.xml.key"] {
        assert_eq!(
            std::fs::read(a.join("repodata").join(name)).unwrap(),
            std::fs::read(b.join("repodata").join(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn a_file_that_is_not_an_rpm_is_refused_by_name() {
    let tmp = scratch("notrpm-");
    let bogus = tmp.path().join("bogus-1.0-1.x86_64.rpm");
    std::fs::write(&bogus, "this is a text file, not a package\n").unwrap();
    let repo = tmp.path().join("repo");
    let err = publish_to(&repo, &[&fixture().base, &bogus], DATE).expect_err("a text file was published");
    let msg = err.to_string();
    assert!(
        msg.contains(&bogus.display().to_string()) && msg.contains("not an rpm"),
        "{msg}"
    );
    assert!(
        !repo.join("packages").exists() || std::fs::read_dir(repo.join("packages")).unwrap().next().is_none(),
        "a bad input must not leave a partial pool"
    );

    let wrong_name = tmp.path().join("package.txt");
    std::fs::copy(&fixture().base, &wrong_name).unwrap();
    let msg = publish_to(&repo, &[&wrong_name], DATE)
        .expect_err("a .txt was published")
        .to_string();
    assert!(msg.contains("package.txt") && msg.contains(".rpm"), "{msg}");
}

// ---------------------------------------------------------------------------
// dnf against a file:// repository, in a throwaway install root (the cache
// must live inside it, or a stale cache elsewhere gives false checksums).

struct Dnf {
    root: PathBuf,
    config: PathBuf,
}

impl Dnf {
    fn new(base: &Path, name: &str, repo: &Path) -> Dnf {
        let root = base.join(name);
        std::fs::create_dir_all(&root).unwrap();
        let config = base.join(format!("{name}.conf"));
        let conf = format!(
            "[main]\ngpgcheck=1\ninstall_weak_deps=0\nkeepcache=0\n\n[outpost]\nname=outpost\nbaseurl=file://{repo}\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file://{repo}/repodata/repomd.xml.key\n",
            repo = repo.display()
        );
        std::fs::write(&config, conf).unwrap();
        Dnf { root, config }
    }

    fn run(&self, args: &[&str]) -> Output {
        run(tool("dnf")
            .env("LC_ALL", "C")
            .arg("-y")
            .arg("--installroot")
            .arg(&self.root)
            .arg("--releasever=9")
            .arg(format!("--setopt=cachedir={}/var/cache/dnf", self.root.display()))
            .arg("--setopt=reposdir=/nonexistent")
            .arg("--config")
            .arg(&self.config)
            .args(args))
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "dnf {args:?} failed:\n{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn copy_tree(from: &Path, to: &Path) {
    ok(tool("cp").arg("-a").arg(from).arg(to));
}
