//! macOS flat packages from omnipack::pkg, checked with readers we did not
//! write: 7-Zip (`7zz l`/`7zz t`), libarchive (`bsdtar`), GNU cpio, gzip,
//! coreutils `cksum`, libxml2 (`xmllint`), the apple-bom crate (indygreg's BOM
//! reader) and the zar crate (a XAR reader fuzz-tested against Apple's xar).
//!
//! Needs (Debian 12): 7zip, libarchive-tools, cpio, gzip, coreutils,
//! libxml2-utils. A missing tool fails the test with the package to install:
//! an oracle that silently skips proves nothing.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

mod common;

use common::{archive, checked, pipe, require, run, text, tool};
use omnipack::pkg::{Choice, ComponentPackage, Distribution, Kind, ProductArchive, XarChecksum};

const TIMESTAMP: u64 = 1_700_000_000;
const CORE: &str = "com.example.outpost.core";
const PLATFORM: &str = "com.example.outpost.feature.platform";
const TITLE: &str = "Outpost Client & <Tools> \"2\"";
const AGENT_PATH: &str = "Library/Application Support/Outpost/outpost-agent";

// ---------------------------------------------------------------------------
// Fixture: one product archive (two components) for every test in this file.

struct Fixture {
    dir: PathBuf,
    archive: ProductArchive,
    product: PathBuf,
    bytes: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        for program in ["7zz", "bsdtar", "cpio", "gzip", "cksum", "xmllint"] {
            require(program);
        }
        // One folder per process: nextest runs every test in a process of
        // its own, and a shared folder was emptied under a running test.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("pkg_formats-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let archive = product_archive(XarChecksum::Sha1);
        let bytes = archive.build(TIMESTAMP).expect("product archive");
        let product = dir.join("product.pkg");
        std::fs::write(&product, &bytes).unwrap();
        Fixture {
            dir,
            archive,
            product,
            bytes,
        }
    })
}

fn agent_bytes() -> Vec<u8> {
    // Not text, and long enough to compress: a stand-in for the Mach-O.
    (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

fn core_component() -> ComponentPackage {
    let mut c = ComponentPackage::new(CORE, "2.1.0");
    c.payload
        .dir("Library/Application Support/Outpost", 0o755)
        .unwrap()
        .file(AGENT_PATH, agent_bytes(), 0o755)
        .unwrap()
        .file(
            "Library/Application Support/Outpost/config.default.toml",
            &b"[platform]\nswitch = \"wss://switch.example.com\"\n"[..],
            0o644,
        )
        .unwrap()
        .file("Library/Application Support/Outpost/empty", &b""[..], 0o600)
        .unwrap()
        .file(
            "/Library/LaunchDaemons/com.example.outpost.plist",
            &b"<?xml version=\"1.0\"?>\n<plist version=\"1.0\"><dict/></plist>\n"[..],
            0o644,
        )
        .unwrap()
        .dir("Library/Logs/Outpost", 0o750)
        .unwrap()
        .symlink("usr/local/bin/outpost", &format!("/{AGENT_PATH}"), 0o755)
        .unwrap();
    c.preinstall = Some(b"#!/bin/sh\n# legacy removal\nlaunchctl bootout system/com.example.legacy || true\nexit 0\n"[..].into());
    c.postinstall =
        Some(b"#!/bin/sh\nlaunchctl bootstrap system /Library/LaunchDaemons/com.example.outpost.plist\nexit 0\n"[..].into());
    c
}

fn platform_component() -> ComponentPackage {
    let mut c = ComponentPackage::new(PLATFORM, "2.1.0");
    c.payload
        .file(
            "Library/Application Support/Outpost/features.d/platform.toml",
            &b"enabled = true\n"[..],
            0o644,
        )
        .unwrap();
    c.preinstall = Some(b"#!/bin/sh\n. \"$(dirname \"$0\")/lib/common.sh\"\nexit 0\n"[..].into());
    c.postinstall = Some(b"#!/bin/sh\nexit 0\n"[..].into());
    c.script_helpers
        .file("lib/common.sh", &b"log() { echo \"$@\"; }\n"[..], 0o644)
        .unwrap();
    c
}

fn distribution() -> Distribution {
    let mut d = Distribution::new(TITLE);
    d.product_id = Some("com.example.outpost".into());
    d.product_version = Some("2.1.0".into());
    d.min_os_version = Some("11.0".into());
    d.choices = vec![
        Choice {
            id: "core".into(),
            title: "Outpost Client".into(),
            description: Some("The service; always installed.".into()),
            visible: true,
            enabled: false,
            start_selected: true,
            packages: vec![CORE.into()],
        },
        Choice {
            id: "feature.platform".into(),
            title: "Real-time & inventory".into(),
            description: None,
            visible: true,
            enabled: true,
            start_selected: true,
            packages: vec![PLATFORM.into()],
        },
    ];
    d
}

fn product_archive(checksum: XarChecksum) -> ProductArchive {
    let mut p = ProductArchive::new(distribution());
    p.components = vec![core_component(), platform_component()];
    p.checksum = checksum;
    p
}

// ---------------------------------------------------------------------------
// Helpers

/// Like `common::ok`, but returns stdout and stderr: 7-Zip and bsdtar
/// report problems on either.
fn ok(cmd: &mut Command) -> String {
    text(&checked(cmd))
}

/// Every XAR member path of the fixture, in TOC order, directories included.
fn expected_members() -> Vec<String> {
    let mut v = vec!["Distribution".to_string()];
    for id in [CORE, PLATFORM] {
        v.push(format!("{id}.pkg"));
        for m in ["Bom", "Payload", "Scripts", "PackageInfo"] {
            v.push(format!("{id}.pkg/{m}"));
        }
    }
    v
}

/// Extracts the fixture once with bsdtar and returns the directory.
fn extracted() -> &'static Path {
    static X: OnceLock<PathBuf> = OnceLock::new();
    X.get_or_init(|| {
        let f = fixture();
        let x = f.dir.join("extracted");
        std::fs::create_dir_all(&x).unwrap();
        ok(tool("bsdtar").arg("-xf").arg(&f.product).arg("-C").arg(&x));
        x
    })
}

/// What a payload or scripts listing must show for `tree`: name, `ls -l`
/// mode string, size, link target.
fn expected_listing(tree: &omnipack::pkg::Tree) -> Vec<(String, String, u64, Option<String>)> {
    tree.entries()
        .iter()
        .map(|e| {
            let link = match e.kind {
                Kind::Symlink(t) => Some(t.clone()),
                _ => None,
            };
            let size = if matches!(e.kind, Kind::Dir) {
                0
            } else {
                e.data().len() as u64
            };
            (e.archive_name(), archive::ls_mode(e.st_mode()), size, link)
        })
        .collect()
}

/// `gzip -t`, then GNU cpio's listing: name, `ls -l` mode, size, link
/// target; the owners must be 0 0 on every line.
fn cpio_listing(member: &Path) -> Vec<(String, String, u64, Option<String>)> {
    ok(tool("gzip").arg("-t").arg(member));
    archive::cpio_listing(member)
        .into_iter()
        .map(|e| {
            assert_eq!((e.uid, e.gid), (0, 0), "owner is not 0:0 in {e:?}");
            (e.name, e.mode, e.size, e.link)
        })
        .collect()
}

fn components() -> [ComponentPackage; 2] {
    [core_component(), platform_component()]
}

fn scripts_tree(c: &ComponentPackage) -> omnipack::pkg::Tree {
    let mut t = c.script_helpers.clone();
    t.file("preinstall", c.preinstall.clone().unwrap(), 0o755).unwrap();
    t.file("postinstall", c.postinstall.clone().unwrap(), 0o755).unwrap();
    t
}

// ---------------------------------------------------------------------------
// 7-Zip

#[test]
fn sevenzip_lists_and_tests_the_product() {
    let f = fixture();
    let list = ok(tool("7zz").arg("l").arg("-slt").arg(&f.product));
    assert!(!list.contains("Warning") && !list.contains("ERROR"), "{list}");
    assert!(list.contains("Type = Xar") && list.contains("Method = SHA1"), "{list}");
    assert_eq!(archive::sevenzip_paths(&list), expected_members());
    // Stored members are listed as octet-stream, compressed ones as zlib,
    // each with sha1 archived and extracted checksums.
    assert_eq!(list.matches("Method = zlib sha1 sha1").count(), 5, "{list}");
    assert_eq!(list.matches("Method = octet-stream sha1 sha1").count(), 4, "{list}");

    let test = ok(tool("7zz").arg("t").arg(&f.product));
    assert!(test.contains("Everything is Ok") && !test.contains("Warning"), "{test}");
}

// ---------------------------------------------------------------------------
// libarchive

#[test]
fn bsdtar_lists_and_extracts_every_member() {
    let f = fixture();
    assert_eq!(archive::bsdtar_names(&f.product), expected_members());
    let x = extracted();
    for (c, built) in components()
        .iter()
        .zip(f.archive.components.iter().map(|c| c.build(TIMESTAMP).unwrap()))
    {
        let d = x.join(format!("{}.pkg", c.identifier));
        assert_eq!(std::fs::read(d.join("Bom")).unwrap(), &built.bom[..]);
        assert_eq!(std::fs::read(d.join("Payload")).unwrap(), &built.payload[..]);
        assert_eq!(std::fs::read(d.join("Scripts")).unwrap(), &built.scripts.clone().unwrap()[..]);
        assert_eq!(std::fs::read_to_string(d.join("PackageInfo")).unwrap(), built.package_info);
    }
    let dist = std::fs::read_to_string(x.join("Distribution")).unwrap();
    assert!(
        // Templates escape text like attribute values: `"` as `&quot;` is valid in both.
        dist.contains("<title>Outpost Client &amp; &lt;Tools&gt; &quot;2&quot;</title>"),
        "{dist}"
    );
}

#[test]
fn payload_and_scripts_list_with_root_owners_and_the_given_modes() {
    let x = extracted();
    for c in components() {
        let d = x.join(format!("{}.pkg", c.identifier));
        assert_eq!(
            cpio_listing(&d.join("Payload")),
            expected_listing(&c.payload),
            "{} Payload",
            c.identifier
        );
        assert_eq!(
            cpio_listing(&d.join("Scripts")),
            expected_listing(&scripts_tree(&c)),
            "{} Scripts",
            c.identifier
        );

        // bsdtar reads the gzip'd cpio too, and shows the same owners.
        let tv = ok(tool("bsdtar")
            .arg("-tvf")
            .arg(d.join("Payload"))
            .arg("--numeric-owner"));
        assert!(
            tv.lines()
                .all(|l| l.split_whitespace().nth(2) == Some("0") && l.split_whitespace().nth(3) == Some("0")),
            "{tv}"
        );

        // GNU cpio extracts the same bytes and link targets.
        let out = d.join("payload-root");
        std::fs::create_dir_all(&out).unwrap();
        let payload = std::fs::read(d.join("Payload")).unwrap();
        pipe("gunzip -c | cpio -idm --quiet --no-absolute-filenames", &payload, &out);
        for e in c.payload.entries() {
            let p = out.join(&e.path);
            match e.kind {
                Kind::File(data) => assert_eq!(&std::fs::read(&p).unwrap()[..], &data[..], "{}", e.path),
                Kind::Symlink(t) => assert_eq!(std::fs::read_link(&p).unwrap(), Path::new(t)),
                Kind::Dir => assert!(p.is_dir(), "{}", e.path),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// libxml2

#[test]
fn xmllint_accepts_distribution_and_package_info() {
    let x = extracted();
    let dist = x.join("Distribution");
    let infos: Vec<PathBuf> = [CORE, PLATFORM]
        .iter()
        .map(|id| x.join(format!("{id}.pkg/PackageInfo")))
        .collect();
    ok(tool("xmllint").arg("--noout").arg(&dist).args(&infos));
    let xpath = |file: &Path, expr: &str| {
        ok(tool("xmllint").arg("--xpath").arg(expr).arg(file))
            .trim_end_matches('\n')
            .to_string()
    };
    assert_eq!(xpath(&dist, "string(/installer-gui-script/title)"), TITLE);
    assert_eq!(
        xpath(&dist, "string(//choice[@id='feature.platform']/@title)"),
        "Real-time & inventory"
    );
    assert_eq!(
        xpath(&dist, &format!("string(/installer-gui-script/pkg-ref[@id='{CORE}'])")),
        format!("#{CORE}.pkg")
    );
    assert_eq!(xpath(&dist, "string(//options/@hostArchitectures)"), "x86_64,arm64");
    assert_eq!(xpath(&infos[0], "string(/pkg-info/@identifier)"), CORE);
    assert_eq!(xpath(&infos[0], "string(/pkg-info/@install-location)"), "/");
    assert_eq!(xpath(&infos[0], "string(/pkg-info/payload/@numberOfFiles)"), "15");
    // 70000 + 47 + 59 bytes and a 50-byte link target, each rounded up to KiB.
    assert_eq!(xpath(&infos[0], "string(/pkg-info/payload/@installKBytes)"), "72");
    assert_eq!(
        xpath(&infos[1], "string(/pkg-info/scripts/postinstall/@file)"),
        "./postinstall"
    );
}

// ---------------------------------------------------------------------------
// apple-bom

/// mode, uid, gid, size, cksum, link target, mtime
type BomRow = (u16, u32, u32, usize, Option<u32>, Option<String>, i64);

fn check_bom(bom: &[u8], tree: &omnipack::pkg::Tree, what: &str) {
    let parsed = apple_bom::ParsedBom::parse(bom).unwrap_or_else(|e| panic!("{what}: apple-bom cannot parse: {e:?}"));
    let entries = tree.entries();
    assert_eq!(
        parsed.bom_info().unwrap().number_of_paths as usize,
        entries.len() + 1,
        "{what}"
    );
    for (name, v) in [
        ("HLIndex", parsed.hl_index()),
        ("VIndex", parsed.vindex()),
        ("Size64", parsed.size64()),
    ] {
        assert!(
            v.unwrap_or_else(|e| panic!("{what} {name}: {e:?}")).is_empty(),
            "{what} {name}"
        );
    }
    let mut got: BTreeMap<String, BomRow> = BTreeMap::new();
    for p in parsed.paths().unwrap_or_else(|e| panic!("{what}: Paths: {e:?}")) {
        let v = (
            p.file_mode(),
            p.user_id(),
            p.group_id(),
            p.size(),
            p.crc32(),
            p.link_name().map(str::to_string),
            p.modified_time().timestamp(),
        );
        assert!(got.insert(p.path().to_string(), v).is_none(), "{what}: {} twice", p.path());
    }
    let want: BTreeMap<String, _> = entries
        .iter()
        .map(|e| {
            let (size, crc) = match e.kind {
                Kind::Dir => (0, None),
                _ => (e.data().len(), Some(archive::cksum(e.data()))),
            };
            let link = match e.kind {
                Kind::Symlink(t) => Some(t.clone()),
                _ => None,
            };
            (
                e.archive_name(),
                (e.st_mode() as u16, 0, 0, size, crc, link, TIMESTAMP as i64),
            )
        })
        .collect();
    assert_eq!(got, want, "{what}");
}

#[test]
fn apple_bom_reads_exactly_the_payload() {
    let x = extracted();
    for c in components() {
        let bom = std::fs::read(x.join(format!("{}.pkg/Bom", c.identifier))).unwrap();
        check_bom(&bom, &c.payload, &c.identifier);
    }
}

#[test]
fn apple_bom_reads_a_multi_leaf_bom() {
    // 700 files in 7 directories: three leaves under a branch node.
    let mut t = omnipack::pkg::Tree::new();
    for i in 0..700 {
        t.file(&format!("opt/d{}/file {i:03}", i % 7), format!("{i}\n").into_bytes(), 0o644)
            .unwrap();
    }
    t.symlink("opt/latest", "d0", 0o755).unwrap();
    let bom = omnipack::pkg::bom::bom(&t, TIMESTAMP).unwrap();
    check_bom(&bom, &t, "700-entry BOM");
}

// ---------------------------------------------------------------------------
// zar: checks the TOC checksum when it opens an archive and a member's
// archived checksum when it reads it. Its 0.2 reader only reaches top-level
// members (it does not descend into `<file>` children), so in a product
// archive it reads Distribution, and in a component package every member.

fn zar_read_all(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut archive = zar::Archive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("open: {e}"))?;
    let mut out = BTreeMap::new();
    for i in 0..archive.num_entries() {
        let mut entry = archive.entry(i);
        let name = entry.file().name.to_string_lossy().to_string();
        if let Some(mut r) = entry.reader().map_err(|e| format!("{name}: {e}"))? {
            let mut data = Vec::new();
            r.read_to_end(&mut data).map_err(|e| format!("{name}: {e}"))?;
            out.insert(name, data);
        }
    }
    Ok(out)
}

#[test]
fn zar_verifies_the_toc_and_reads_top_level_members() {
    let f = fixture();
    let members = zar_read_all(&f.bytes).unwrap();
    let dist = std::fs::read(extracted().join("Distribution")).unwrap();
    assert_eq!(members.keys().collect::<Vec<_>>(), ["Distribution"]);
    assert_eq!(members["Distribution"], dist);
}

// ---------------------------------------------------------------------------
// Corruption: every reader refuses

/// Where the compressed TOC ends and the heap starts.
fn heap_start(bytes: &[u8]) -> usize {
    28 + u64::from_be_bytes(bytes[8..16].try_into().unwrap()) as usize
}

/// 7zz, bsdtar and (when `zar_sees_it`) zar all refuse `bytes`.
fn refused_by_all(bytes: &[u8], what: &str, zar_sees_it: bool) -> String {
    let f = fixture();
    let path = f.dir.join(format!("corrupt-{}.pkg", what.replace(' ', "-")));
    std::fs::write(&path, bytes).unwrap();
    let mut report = String::new();

    let t = run(tool("7zz").arg("t").arg(&path));
    let t_text = text(&t);
    assert!(
        !t.status.success() || t_text.contains("Warning") || t_text.contains("ERROR"),
        "7zz t accepted {what}:\n{t_text}"
    );
    report += &format!(
        "7zz t: {} {}\n",
        t.status,
        t_text
            .lines()
            .filter(|l| l.contains("ERROR") || l.contains("Warning"))
            .collect::<Vec<_>>()
            .join(" | ")
    );

    let dest = f.dir.join(format!("corrupt-{}", what.replace(' ', "-")));
    std::fs::create_dir_all(&dest).unwrap();
    let x = run(tool("bsdtar").arg("-xf").arg(&path).arg("-C").arg(&dest));
    assert!(!x.status.success(), "bsdtar -x accepted {what}:\n{}", text(&x));
    report += &format!("bsdtar -x: {} {}\n", x.status, text(&x).trim());

    if zar_sees_it {
        let z = zar_read_all(bytes);
        assert!(z.is_err(), "zar accepted {what}");
        report += &format!("zar: {}\n", z.unwrap_err());
    }
    report
}

#[test]
fn corrupted_copies_are_refused() {
    let f = fixture();
    let heap = heap_start(&f.bytes);

    // One byte inside the core Payload, in the heap. zar does not reach
    // nested members, so it gets the same flip in a component package.
    let built = core_component().build(TIMESTAMP).unwrap();
    let flip_payload = |bytes: &[u8]| {
        let at = bytes
            .windows(built.payload.len())
            .position(|w| w == &built.payload[..])
            .unwrap();
        assert!(at > heap_start(bytes));
        let mut b = bytes.to_vec();
        b[at + built.payload.len() / 2] ^= 0x01;
        b
    };
    let r1 = refused_by_all(&flip_payload(&f.bytes), "payload byte", false);
    let component = flip_payload(&built.flat_package(XarChecksum::Sha1, TIMESTAMP).unwrap());
    let r1z = refused_by_all(&component, "component payload byte", true);

    // One byte inside the compressed TOC.
    let mut toc = f.bytes.clone();
    toc[28 + (heap - 28) / 2] ^= 0x01;
    let r2 = refused_by_all(&toc, "toc byte", true);

    // One byte of the stored TOC checksum at the start of the heap.
    let mut sum = f.bytes.clone();
    sum[heap + 3] ^= 0x01;
    let r3 = refused_by_all(&sum, "toc checksum", true);
    println!("payload byte:\n{r1}\ncomponent payload byte:\n{r1z}\ntoc byte:\n{r2}\ntoc checksum:\n{r3}");
}

// ---------------------------------------------------------------------------
// Reproducibility, the standalone component, SHA-256, bad input

#[test]
fn equal_inputs_give_equal_bytes() {
    let f = fixture();
    assert_eq!(product_archive(XarChecksum::Sha1).build(TIMESTAMP).unwrap(), f.bytes);
    assert_ne!(product_archive(XarChecksum::Sha1).build(TIMESTAMP + 1).unwrap(), f.bytes);
}

#[test]
fn a_standalone_component_package_reads_like_pkgbuild_output() {
    let f = fixture();
    let built = platform_component().build(TIMESTAMP).unwrap();
    let bytes = built.flat_package(XarChecksum::Sha1, TIMESTAMP).unwrap();
    let path = f.dir.join("component.pkg");
    std::fs::write(&path, &bytes).unwrap();
    let list = ok(tool("bsdtar").arg("-tf").arg(&path));
    assert_eq!(list.lines().collect::<Vec<_>>(), ["Bom", "Payload", "Scripts", "PackageInfo"]);
    let test = ok(tool("7zz").arg("t").arg(&path));
    assert!(test.contains("Everything is Ok") && !test.contains("Warning"), "{test}");
    let members = zar_read_all(&bytes).unwrap();
    assert_eq!(members["PackageInfo"], built.package_info.as_bytes());
}

#[test]
fn sha256_archives_verify_in_7zip_and_zar() {
    let f = fixture();
    let bytes = product_archive(XarChecksum::Sha256).build(TIMESTAMP).unwrap();
    assert_eq!(u32::from_be_bytes(bytes[24..28].try_into().unwrap()), 3);
    let path = f.dir.join("product-sha256.pkg");
    std::fs::write(&path, &bytes).unwrap();
    let test = ok(tool("7zz").arg("t").arg(&path));
    assert!(test.contains("Everything is Ok") && !test.contains("Warning"), "{test}");
    assert_eq!(zar_read_all(&bytes).unwrap().len(), 1);
    let mut bad = bytes.clone();
    let heap = heap_start(&bytes);
    bad[heap + 5] ^= 0x01;
    assert!(zar_read_all(&bad).is_err());
}

#[test]
fn inconsistent_products_are_refused_with_the_reason() {
    let mut p = product_archive(XarChecksum::Sha1);
    p.distribution.choices[1].packages = vec!["com.example.missing".into()];
    let e = p.build(TIMESTAMP).unwrap_err().to_string();
    assert!(e.contains("lists component `com.example.missing`"), "{e}");

    let mut p = product_archive(XarChecksum::Sha1);
    p.distribution.choices.pop();
    let e = p.build(TIMESTAMP).unwrap_err().to_string();
    assert!(e.contains(&format!("component `{PLATFORM}` is in no choice")), "{e}");

    let mut p = product_archive(XarChecksum::Sha1);
    p.components[0].postinstall = Some(b"launchctl kickstart\n"[..].into());
    let e = p.build(TIMESTAMP).unwrap_err().to_string();
    assert!(
        e.contains(CORE) && e.contains("postinstall script does not start with `#!`"),
        "{e}"
    );

    let mut p = product_archive(XarChecksum::Sha1);
    p.components[1].identifier = "com.example/../x".into();
    p.distribution.choices[1].packages = vec!["com.example/../x".into()];
    let e = p.build(TIMESTAMP).unwrap_err().to_string();
    assert!(e.contains("is not reverse-DNS"), "{e}");

    let mut p = product_archive(XarChecksum::Sha1);
    p.distribution.title = "bell \u{7}".into();
    let e = p.build(TIMESTAMP).unwrap_err().to_string();
    // The template error points at the field: `d.title` on Distribution.xml's line 3.
    assert!(e.contains("Distribution") && e.contains("d.title") && e.contains("U+0007"), "{e}");
}
