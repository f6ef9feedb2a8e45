//! The macOS product archive `omnipack build` writes from
//! packaging/outpost.toml (`outpost-2.1.0-universal2.pkg`), checked with
//! readers we did not write: 7-Zip, libarchive (bsdtar), GNU cpio, libxml2,
//! dash and bash, and indygreg's apple-xar, apple-flat-package, apple-bom and
//! apple-codesign crates. packaging/tests/pkg_formats.rs covers the writers
//! with synthetic input; this file covers the product: what it installs, with
//! which owners and modes, and how it is signed. tests/macos_scripts.rs runs
//! its scripts in Debian roots.
//!
//! Needs (Debian 12): 7zip, libarchive-tools, cpio, libxml2-utils, and the
//! universal agent (scripts/test cross-builds it).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Cursor, Read as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use apple_codesign::{CodeSignatureFlags, CodeSigningSlot, MachFile};
use apple_flat_package::package_info::Script;
use apple_flat_package::{PkgFlavor, PkgReader};
use apple_xar::reader::XarReader;
use apple_xar::table_of_contents::ChecksumType;
use outpost_tests::archive::{S_IFDIR, S_IFREG};
use outpost_tests::*;
use sha2::{Digest, Sha256};

const CLIENT: &str = "com.outpost.client.client";
const PLATFORM: &str = "com.outpost.client.platform";
const LABEL: &str = "com.outpost.client.agent";
const LEGACY_LABEL: &str = "com.outpost.platform.agent";
const APP_DIR: &str = "./Library/Application Support/Outpost";
const AGENT: &str = "./Library/Application Support/Outpost/outpost-agent";
const PLIST: &str = "./Library/LaunchDaemons/com.outpost.client.agent.plist";
const FEATURE_MARKER: &str = "./Library/Application Support/Outpost/features/platform.feature";

// ---------------------------------------------------------------------------
// What the product pkg must hold

/// Every XAR member, in TOC order, the two component directories included.
fn expected_members() -> Vec<String> {
    let mut v = vec!["Distribution".to_string()];
    for (id, members) in [
        (CLIENT, &["Bom", "Payload", "Scripts", "PackageInfo"][..]),
        (PLATFORM, &["Bom", "Payload", "PackageInfo"][..]),
    ] {
        v.push(format!("{id}.pkg"));
        v.extend(members.iter().map(|m| format!("{id}.pkg/{m}")));
    }
    v
}

/// What a component installs: archive name -> st_mode (type bits included).
/// Everything is root:wheel; the parents of what we ship are implied 0755.
fn expected_payload(component: &str) -> BTreeMap<String, u32> {
    let dir = S_IFDIR | 0o755;
    let mut v = vec![
        (".", dir),
        ("./Library", dir),
        ("./Library/Application Support", dir),
        (APP_DIR, dir),
    ];
    match component {
        CLIENT => v.extend([
            ("./Library/Application Support/Outpost/State", dir),
            ("./Library/Application Support/Outpost/defaults.conf", S_IFREG | 0o644),
            ("./Library/Application Support/Outpost/files.sha256", S_IFREG | 0o644),
            (AGENT, S_IFREG | 0o755),
            ("./Library/Application Support/Outpost/outpost.conf.example", S_IFREG | 0o644),
            ("./Library/Application Support/Outpost/uninstall.sh", S_IFREG | 0o755),
            ("./Library/LaunchDaemons", dir),
            (PLIST, S_IFREG | 0o644),
            ("./Library/Logs", dir),
            ("./Library/Logs/Outpost", dir),
        ]),
        PLATFORM => v.extend([
            ("./Library/Application Support/Outpost/features", dir),
            (FEATURE_MARKER, S_IFREG | 0o644),
        ]),
        other => panic!("no component {other}"),
    }
    v.into_iter().map(|(p, m)| (p.to_string(), m)).collect()
}

// ---------------------------------------------------------------------------
// Fixtures

/// The signed product pkg of the shared dist() build (throwaway Developer ID
/// certificates).
fn signed_pkg() -> PathBuf {
    artifact(&dist(), "pkg").path
}

/// An unsigned pkg-only build, cached like dist() and rebuilt when omnipack,
/// the manifest or the macOS agent changed.
fn unsigned_pkg() -> PathBuf {
    let name = "dist-pkg-unsigned";
    let dir = fixtures_dir().join(name);
    let _lock = lock(name);
    let manifest = workspace_root().join("packaging/outpost.toml");
    let newest = [omnipack(), manifest, macos_agent()].iter().map(|p| mtime(p)).max().unwrap();
    if mtime(&dir.join("release.json")) < newest {
        let out = omnipack_build(&dir, &["--formats", "pkg", "--unsigned"]);
        assert!(
            out.status.success(),
            "omnipack build --formats pkg --unsigned:\n{}",
            text(&out)
        );
    }
    artifact(&dir, "pkg").path
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `bsdtar -xf pkg` into a fresh directory.
fn extract(pkg: &Path) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    ok(tool("bsdtar").arg("-xf").arg(pkg).arg("-C").arg(d.path()));
    d
}

/// One entry of a payload listing: st_mode, uid, gid, size.
type Row = (u32, u32, u32, u64);

/// GNU cpio's listing of a gzip'd cpio member, by name.
fn cpio_listing(member: &Path) -> BTreeMap<String, Row> {
    archive::cpio_listing(member)
        .into_iter()
        .map(|e| (e.name.clone(), (e.st_mode(), e.uid, e.gid, e.size)))
        .collect()
}

/// The certificate (PEM, whitespace removed) of a throwaway identity that
/// omnipack cached under `<target>/omnipack-test-keys/apple`.
fn throwaway_cert(stem: &str) -> String {
    let path = test_key_dir().join(format!("apple/{stem}.pem"));
    let text = String::from_utf8(read(&path)).unwrap();
    let end = "-----END CERTIFICATE-----";
    let cert = &text[..text
        .find(end)
        .unwrap_or_else(|| panic!("no certificate in {}", path.display()))
        + end.len()];
    cert.split_whitespace().collect()
}

fn same_cert(pem: &str, stem: &str) -> bool {
    pem.split_whitespace().collect::<String>() == throwaway_cert(stem)
}

/// Opens `bytes` with apple-xar and checks what XarReader leaves to its
/// caller: each member's archived (stored) and extracted (decoded) sha1
/// against the TOC. Returns the decoded files by path.
fn xar_members_checked(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut xar = XarReader::new(Cursor::new(bytes)).map_err(|e| format!("open: {e}"))?;
    let mut out = BTreeMap::new();
    for (path, file) in xar.files().map_err(|e| format!("TOC: {e}"))? {
        let Some(data) = file.data.clone() else { continue };
        let mut stored = Vec::new();
        xar.write_file_data_heap_from_file(&file, &mut stored)
            .map_err(|e| format!("{path}: {e}"))?;
        let mut decoded = Vec::new();
        xar.write_file_data_decoded_from_file(&file, &mut decoded)
            .map_err(|e| format!("{path}: decoding: {e}"))?;
        for (what, sum, bytes, len) in [
            ("archived", &data.archived_checksum, &stored, data.length),
            ("extracted", &data.extracted_checksum, &decoded, data.size),
        ] {
            if !matches!(sum.style, ChecksumType::Sha1) {
                return Err(format!("{path}: {what} checksum is {}, not sha1", sum.style));
            }
            if bytes.len() as u64 != len {
                return Err(format!("{path}: {what} {} bytes, the TOC says {len}", bytes.len()));
            }
            let got = hex::encode(sum.style.digest_data(bytes).unwrap());
            if got != sum.checksum.trim() {
                return Err(format!("{path}: {what} sha1 is {got}, the TOC says {}", sum.checksum));
            }
        }
        out.insert(path, decoded);
    }
    Ok(out)
}

fn toc_checksum_verifies(bytes: &[u8]) -> bool {
    XarReader::new(Cursor::new(bytes))
        .unwrap()
        .verify_table_of_contents_checksum()
        .unwrap()
}

/// The client payload of `pkg`, unpacked by GNU cpio; returns the dir
/// holding the extraction and the payload root.
fn client_payload(pkg: &Path) -> (tempfile::TempDir, PathBuf) {
    let x = extract(pkg);
    let root = x.path().join("client-root");
    outpost_tests::macos::extract(&x.path().join(format!("{CLIENT}.pkg/Payload")), &root);
    (x, root)
}

// ---------------------------------------------------------------------------
// 7-Zip and libarchive

#[test]
fn sevenzip_and_bsdtar_read_the_signed_and_the_unsigned_pkg() {
    for pkg in [signed_pkg(), unsigned_pkg()] {
        let what = pkg.display();
        let list = ok(tool("7zz").arg("l").arg("-slt").arg(&pkg));
        assert!(!list.contains("Warning") && !list.contains("ERROR"), "7zz l {what}:\n{list}");
        assert_contains(&list, "Type = Xar");
        assert_eq!(archive::sevenzip_paths(&list), expected_members(), "7zz l {what}");

        // A TOC checksum mismatch is only a warning (rc 0) in 7-Zip.
        let test = ok(tool("7zz").arg("t").arg(&pkg));
        assert!(
            test.contains("Everything is Ok") && !test.contains("Warning") && !test.contains("ERROR"),
            "7zz t {what}:\n{test}"
        );

        assert_eq!(archive::bsdtar_names(&pkg), expected_members(), "bsdtar -tf {what}");
        let x = extract(&pkg);
        for m in expected_members() {
            assert!(x.path().join(&m).exists(), "bsdtar -xf {what} did not extract {m}");
        }
    }
}

// ---------------------------------------------------------------------------
// apple-xar

#[test]
fn apple_xar_verifies_the_toc_and_every_member() {
    for pkg in [signed_pkg(), unsigned_pkg()] {
        let what = pkg.display();
        let bytes = read(&pkg);
        // 28-byte header, checksum algorithm 1 (sha1) as pkgbuild writes.
        assert_eq!(&bytes[..6], b"xar!\x00\x1c", "{what}");
        assert_eq!(
            u32::from_be_bytes(bytes[24..28].try_into().unwrap()),
            1,
            "{what}: checksum id"
        );
        assert!(toc_checksum_verifies(&bytes), "{what}: the TOC checksum does not verify");

        let members = xar_members_checked(&bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
        let files: Vec<String> = expected_members()
            .into_iter()
            .filter(|m| m.contains('/') || m == "Distribution")
            .collect();
        assert_eq!(
            members.keys().cloned().collect::<BTreeSet<_>>(),
            files.into_iter().collect(),
            "{what}"
        );

        // bsdtar extracts the bytes apple-xar decodes.
        let x = extract(&pkg);
        for (path, data) in &members {
            assert!(
                read(&x.path().join(path)) == *data,
                "{what}: {path} differs between bsdtar and apple-xar"
            );
        }
    }
    let mut unsigned = XarReader::new(File::open(unsigned_pkg()).unwrap()).unwrap();
    assert!(
        unsigned.rsa_signature().unwrap().is_none(),
        "an --unsigned pkg has an RSA signature"
    );
    assert!(
        unsigned.cms_signature().unwrap().is_none(),
        "an --unsigned pkg has a CMS signature"
    );
}

#[test]
fn the_signed_pkg_carries_verifying_developer_id_installer_signatures() {
    let pkg = signed_pkg();
    let mut xar = XarReader::new(File::open(&pkg).unwrap()).unwrap();

    let (signature, certs) = xar.rsa_signature().unwrap().expect("no RSA <signature> in the TOC");
    assert_eq!(signature.len(), 256, "an RSA-2048 signature");
    let leaf = certs.first().expect("no certificate in the RSA signature's KeyInfo");
    let cn = leaf.subject_common_name().unwrap_or_default();
    assert!(cn.starts_with("Developer ID Installer: "), "signed by `{cn}`");
    assert!(
        same_cert(&leaf.encode_pem(), "developer-id-installer"),
        "the RSA signature's certificate is not the throwaway Developer ID Installer one"
    );
    assert!(
        xar.verify_rsa_checksum_signature().unwrap(),
        "the RSA signature was not checked"
    );

    assert!(xar.verify_cms_signature().unwrap(), "no CMS signer was checked");
    let cms = xar.cms_signature().unwrap().expect("no CMS <x-signature> in the TOC");
    let signers: Vec<_> = cms.signers().collect();
    assert_eq!(signers.len(), 1);
    let (issuer, serial) = signers[0]
        .certificate_issuer_and_serial()
        .expect("signer names its certificate");
    let signer_cert = cms
        .certificates()
        .find(|c| c.issuer_name() == issuer && c.serial_number_asn1() == serial)
        .expect("the CMS signer's certificate is not in the CMS certificates");
    assert!(
        same_cert(&signer_cert.encode_pem(), "developer-id-installer"),
        "the CMS signer is not the throwaway Developer ID Installer certificate ({:?})",
        signer_cert.subject_common_name()
    );
}

// ---------------------------------------------------------------------------
// apple-flat-package

#[test]
fn apple_flat_package_reads_the_product_before_and_after_signing() {
    for pkg in [unsigned_pkg(), signed_pkg()] {
        flat_package_reads_the_product_and_its_components(pkg);
    }
}

fn flat_package_reads_the_product_and_its_components(pkg: PathBuf) {
    let mut reader = PkgReader::new(File::open(&pkg).unwrap()).unwrap();
    assert_eq!(reader.flavor(), PkgFlavor::Product);
    let d = reader.distribution().unwrap().expect("no Distribution");

    assert_eq!(d.title.as_ref().map(|t| t.title.as_str()), Some("Outpost Client"));
    let outline: Vec<&str> = d.choices_outline.line.iter().map(|l| l.choice.as_str()).collect();
    assert_eq!(outline, ["client", "platform"], "choices-outline order");
    let choices: BTreeMap<&str, _> = d
        .choice
        .iter()
        .map(|c| {
            let refs: Vec<&str> = c.pkg_ref.iter().map(|r| r.id.as_str()).collect();
            (c.id.as_str(), (refs, c.enabled, c.start_selected, c.visible))
        })
        .collect();
    // The client cannot be deselected; the platform feature can, and is on
    // by default.
    assert_eq!(
        choices,
        BTreeMap::from([
            ("client", (vec![CLIENT], Some(false), Some(true), Some(true))),
            ("platform", (vec![PLATFORM], Some(true), Some(true), Some(true))),
        ])
    );
    let refs: Vec<_> = d
        .pkg_ref
        .iter()
        .map(|r| (r.id.as_str(), r.version.as_deref(), r.auth.as_deref()))
        .collect();
    assert_eq!(
        refs,
        [(CLIENT, Some("2.1.0"), Some("root")), (PLATFORM, Some("2.1.0"), Some("root"))]
    );
    let options = d.options.as_ref().expect("no <options>");
    let arches: Vec<&str> = options.host_architecutres.as_deref().unwrap_or_default().split(',').collect();
    // Without arm64 Apple Silicon Macs ask for Rosetta first.
    assert!(
        arches.contains(&"arm64") && arches.contains(&"x86_64"),
        "hostArchitectures {arches:?}"
    );
    assert_eq!(options.root_volume_only, Some(true));
    let product = d.product.as_ref().expect("no <product>");
    assert_eq!(
        (product.id.as_str(), product.version.as_deref()),
        ("com.outpost.client", Some("2.1.0"))
    );

    // apple-flat-package models neither a top-level <allowed-os-versions>
    // nor a pkg-ref's `#member` text, so libxml2 reads those.
    let x = extract(&pkg);
    let dist = x.path().join("Distribution");
    assert_eq!(
        xpath(&dist, "string(/installer-gui-script/allowed-os-versions/os-version/@min)"),
        "10.14"
    );
    for id in [CLIENT, PLATFORM] {
        let member = xpath(&dist, &format!("string(/installer-gui-script/pkg-ref[@id='{id}'])"));
        assert_eq!(member, format!("#{id}.pkg"));
        assert!(
            x.path().join(&member[1..]).is_dir(),
            "pkg-ref {member} resolves to no member directory"
        );
    }

    let install_kbytes: BTreeMap<&str, Option<u64>> = d.pkg_ref.iter().map(|r| (r.id.as_str(), r.install_kbytes)).collect();
    let components = reader.component_packages().unwrap();
    let mut seen = Vec::new();
    for c in &components {
        let info = c.package_info().expect("a component without PackageInfo");
        let id = info.identifier.as_str();
        seen.push(id.to_string());
        assert_eq!(info.version, "2.1.0", "{id}");
        assert_eq!(info.install_location.as_deref(), Some("/"), "{id}");
        assert_eq!(info.auth, "root", "{id}");
        let scripts: Vec<String> = info
            .scripts
            .scripts
            .iter()
            .map(|s| match s {
                Script::PreInstall(p) => format!("preinstall {}", p.file),
                Script::PostInstall(p) => format!("postinstall {}", p.file),
            })
            .collect();
        let want_scripts: &[&str] = if id == CLIENT {
            &["preinstall ./preinstall", "postinstall ./postinstall"]
        } else {
            &[]
        };
        assert_eq!(scripts, want_scripts, "{id} scripts");
        assert_eq!(c.scripts_reader().unwrap().is_some(), id == CLIENT, "{id}: Scripts member");

        // The Payload cpio (cpio-archive's reader) lists what the Bom lists.
        let mut cpio = BTreeMap::new();
        for h in c.payload_reader().unwrap().expect("no Payload") {
            let h = h.unwrap();
            cpio.insert(h.name().to_string(), (h.mode(), h.uid(), h.gid(), h.file_size()));
        }
        let bom = bom_rows(c.bom().expect("no Bom"), id);
        let bom: BTreeMap<_, _> = bom.into_iter().map(|(p, (m, u, g, s, _))| (p, (m, u, g, s))).collect();
        assert_eq!(cpio, bom, "{id}: Payload vs Bom");

        let payload = info.payload.as_ref().expect("no <payload> in PackageInfo");
        assert_eq!(payload.number_of_files, cpio.len() as u64, "{id}: numberOfFiles");
        let kbytes: u64 = cpio.values().map(|r| r.3.div_ceil(1024)).sum();
        assert_eq!(payload.install_kbytes, kbytes, "{id}: installKBytes");
        assert_eq!(install_kbytes[id], Some(kbytes), "{id}: the Distribution's installKBytes");
    }
    assert_eq!(seen, [CLIENT, PLATFORM]);
}

// ---------------------------------------------------------------------------
// apple-bom

/// The Bom per path: st_mode, uid, gid, size, CRC.
fn bom_rows(bom: &[u8], what: &str) -> BTreeMap<String, (u32, u32, u32, u64, Option<u32>)> {
    let parsed = apple_bom::ParsedBom::parse(bom).unwrap_or_else(|e| panic!("{what}: apple-bom cannot parse the Bom: {e:?}"));
    let mut rows = BTreeMap::new();
    for p in parsed.paths().unwrap_or_else(|e| panic!("{what}: Bom Paths: {e:?}")) {
        let row = (
            u32::from(p.file_mode()),
            p.user_id(),
            p.group_id(),
            p.size() as u64,
            p.crc32(),
        );
        assert!(
            rows.insert(p.path().to_string(), row).is_none(),
            "{what}: {} twice in the Bom",
            p.path()
        );
    }
    rows
}

#[test]
fn each_bom_lists_exactly_the_payload_with_root_owners_and_modes_before_and_after_signing() {
    for pkg in [unsigned_pkg(), signed_pkg()] {
        bom_lists_exactly_the_payload(&pkg);
    }
}

fn bom_lists_exactly_the_payload(pkg: &Path) {
    let x = extract(pkg);
    for id in [CLIENT, PLATFORM] {
        let dir = x.path().join(format!("{id}.pkg"));
        let bom = bom_rows(&read(&dir.join("Bom")), id);
        let modes: BTreeMap<String, u32> = bom.iter().map(|(p, r)| (p.clone(), r.0)).collect();
        assert_eq!(modes, expected_payload(id), "{id}: Bom paths and modes");
        for (path, (_, uid, gid, ..)) in &bom {
            assert_eq!((*uid, *gid), (0, 0), "{id}: {path} is not root:wheel in the Bom");
        }

        // GNU cpio sees the same names, modes, owners and sizes.
        let listing = cpio_listing(&dir.join("Payload"));
        let bom_listing: BTreeMap<String, Row> = bom.iter().map(|(p, r)| (p.clone(), (r.0, r.1, r.2, r.3))).collect();
        assert_eq!(listing, bom_listing, "{id}: cpio -itv vs Bom");

        // What cpio unpacks has the size and `cksum` CRC the Bom records.
        let root = x.path().join(format!("{id}-root"));
        outpost_tests::macos::extract(&dir.join("Payload"), &root);
        for (path, (mode, _, _, size, crc)) in &bom {
            let on_disk = root.join(path);
            let meta = std::fs::symlink_metadata(&on_disk).unwrap();
            assert_eq!(
                meta.permissions().mode() & 0o7777,
                mode & 0o7777,
                "{id}: {path} mode as unpacked"
            );
            if mode & S_IFREG != 0 {
                assert_eq!(meta.len(), *size, "{id}: {path} size");
                assert_eq!(*crc, Some(archive::cksum(&read(&on_disk))), "{id}: {path} CRC");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// libxml2: the XML members and the LaunchDaemon

/// `xmllint --xpath expr file`, without the trailing newline.
fn xpath(file: &Path, expr: &str) -> String {
    ok(tool("xmllint").arg("--xpath").arg(expr).arg(file))
        .trim_end_matches('\n')
        .to_string()
}

#[test]
fn xmllint_accepts_the_xml_and_the_launch_daemon_is_what_launchd_needs() {
    let pkg = signed_pkg();
    let (x, root) = client_payload(&pkg);
    let plist = root.join(PLIST);
    ok(tool("xmllint")
        .arg("--noout")
        .arg(x.path().join("Distribution"))
        .arg(x.path().join(format!("{CLIENT}.pkg/PackageInfo")))
        .arg(x.path().join(format!("{PLATFORM}.pkg/PackageInfo")))
        .arg(&plist));

    // What `plutil -p` would show, read with XPath: keys and values alternate
    // in the dict, and launchd finds its label, command and start policy.
    assert_eq!(xpath(&plist, "string(/plist/@version)"), "1.0");
    let n = |expr: &str| xpath(&plist, &format!("count({expr})"));
    assert_eq!(
        n("/plist/dict/*"),
        (2 * n("/plist/dict/key").parse::<u32>().unwrap()).to_string()
    );
    assert_eq!(
        n("/plist/dict/key[following-sibling::*[1][self::key]]"),
        "0",
        "a key without a value"
    );
    let value = |key: &str| format!("/plist/dict/key[.='{key}']/following-sibling::*[1]");
    assert_eq!(xpath(&plist, &format!("name({})", value("Label"))), "string");
    assert_eq!(xpath(&plist, &format!("string({})", value("Label"))), LABEL);
    assert_eq!(xpath(&plist, &format!("name({})", value("ProgramArguments"))), "array");
    assert_eq!(n(&format!("{}/*", value("ProgramArguments"))), "2");
    assert_eq!(
        xpath(&plist, &format!("string({}/string[1])", value("ProgramArguments"))),
        "/Library/Application Support/Outpost/outpost-agent"
    );
    assert_eq!(
        xpath(&plist, &format!("string({}/string[2])", value("ProgramArguments"))),
        "run"
    );
    assert_eq!(xpath(&plist, &format!("name({})", value("RunAtLoad"))), "true");
    // launchd opens the log itself: its directory must be in the payload.
    let log = xpath(&plist, &format!("string({})", value("StandardOutPath")));
    let log_dir = Path::new(&log).parent().unwrap().display().to_string();
    assert!(
        expected_payload(CLIENT).contains_key(&format!(".{log_dir}")),
        "{log} is in no shipped directory"
    );
}

// ---------------------------------------------------------------------------
// apple-codesign: the agent inside the payload

const CPU_TYPE_X86_64: u32 = 0x0100_0007;
const CPU_TYPE_ARM64: u32 = 0x0100_000c;
const LC_BUILD_VERSION: u32 = 0x32;

#[test]
fn the_agent_is_universal_and_each_slice_is_signed_with_the_hardened_runtime() {
    let (_x, root) = client_payload(&signed_pkg());
    let agent = read(&root.join(AGENT));
    let mach = MachFile::parse(&agent).expect("the agent is not Mach-O");
    let mut arches = Vec::new();
    for m in mach.iter_macho() {
        let arch = match m.macho.header.cputype {
            CPU_TYPE_X86_64 => "x86_64",
            CPU_TYPE_ARM64 => "arm64",
            other => panic!("unexpected CPU type {other:#x}"),
        };
        arches.push(arch);

        // zig stamps minos 15.0 unless MACOSX_DEPLOYMENT_TARGET is set.
        assert!(
            m.macho.load_commands.iter().any(|lc| lc.command.cmd() == LC_BUILD_VERSION),
            "{arch}: no LC_BUILD_VERSION"
        );
        let target = m.find_targeting().unwrap().expect("no build version");
        assert_eq!(target.platform, apple_codesign::Platform::MacOs, "{arch}");
        // Apple Silicon starts at macOS 11; the Intel slice goes back to 10.14.
        let minos = if arch == "x86_64" { "10.14.0" } else { "11.0.0" };
        assert_eq!(target.minimum_os_version.to_string(), minos, "{arch}: minos");

        let sig = m
            .code_signature()
            .unwrap()
            .unwrap_or_else(|| panic!("{arch}: no embedded signature"));
        let cd = sig
            .code_directory()
            .unwrap()
            .unwrap_or_else(|| panic!("{arch}: no code directory"));
        assert_eq!(cd.ident, LABEL, "{arch}: signing identifier");
        // Notarization requires the hardened runtime; an ad-hoc (linker)
        // signature must have been replaced.
        assert!(cd.flags.contains(CodeSignatureFlags::RUNTIME), "{arch}: flags {:?}", cd.flags);
        assert!(!cd.flags.contains(CodeSignatureFlags::ADHOC), "{arch}: still ad-hoc");

        let cms = sig
            .signed_data()
            .unwrap()
            .unwrap_or_else(|| panic!("{arch}: no CMS signature"));
        let signers: Vec<_> = cms.signers().collect();
        assert_eq!(signers.len(), 1, "{arch}");
        let (issuer, serial) = signers[0].certificate_issuer_and_serial().unwrap();
        let cert = cms
            .certificates()
            .find(|c| c.issuer_name() == issuer && c.serial_number_asn1() == serial)
            .unwrap_or_else(|| panic!("{arch}: the signer's certificate is not embedded"));
        let cn = cert.subject_common_name().unwrap_or_default();
        assert!(cn.starts_with("Developer ID Application: "), "{arch}: signed by `{cn}`");
        assert!(
            same_cert(&cert.encode_pem(), "developer-id-application"),
            "{arch}: not the throwaway Developer ID Application certificate"
        );
        signers[0]
            .verify_signature_with_signed_data(&cms)
            .unwrap_or_else(|e| panic!("{arch}: CMS signature: {e}"));
        // The CMS signs this slice's code directory.
        let cd_blob = sig.find_slot(CodeSigningSlot::CodeDirectory).unwrap();
        signers[0]
            .verify_message_digest_with_content(cd_blob.data)
            .unwrap_or_else(|e| panic!("{arch}: the CMS does not sign the code directory: {e}"));
    }
    arches.sort();
    assert_eq!(arches, ["arm64", "x86_64"]);

    // apple-codesign's verifier: page digests, special slots, CMS.
    let problems: Vec<String> = apple_codesign::verify_macho_data(&agent)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(problems.is_empty(), "verify_macho_data:\n{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------
// Mach-O load commands, read here: the oldest macOS each slice starts on

const FAT_MAGIC: u32 = 0xcafe_babe;
const MH_MAGIC_64: u32 = 0xfeed_facf;
const LC_REQ_DYLD: u32 = 0x8000_0000;
const LC_SYMTAB: u32 = 0x2;
const LC_VERSION_MIN_MACOSX: u32 = 0x24;
const PLATFORM_MACOS: u32 = 1;
const N_STAB: u8 = 0xe0;
const N_TYPE: u8 = 0x0e;
const N_EXT: u8 = 0x01;
const N_WEAK_REF: u16 = 0x0040;

/// Load commands dyld must understand (LC_REQ_DYLD set) that macOS 10.14's
/// dyld knows: LC_LOAD_WEAK_DYLIB, LC_RPATH, LC_REEXPORT_DYLIB,
/// LC_DYLD_INFO_ONLY, LC_LOAD_UPWARD_DYLIB, LC_MAIN. Not LC_DYLD_EXPORTS_TRIE
/// (0x80000033) or LC_DYLD_CHAINED_FIXUPS (0x80000034): an older dyld refuses
/// a binary that requires a command it does not know.
const REQUIRED_COMMANDS_10_14: [u32; 6] = [0x8000_0018, 0x8000_001c, 0x8000_001f, 0x8000_0022, 0x8000_0023, 0x8000_0028];

/// What one slice's header and load commands say.
#[derive(Debug)]
struct SliceCommands {
    arch: &'static str,
    /// (which command, minimum macOS as major.minor.patch)
    min_os: Vec<(&'static str, (u32, u32, u32))>,
    required: Vec<u32>,
    /// Undefined external symbols: (name, weak).
    imports: Vec<(String, bool)>,
}

fn u32_at(d: &[u8], at: usize, big: bool) -> u32 {
    let b: [u8; 4] = d[at..at + 4].try_into().unwrap();
    if big {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

fn version_nibbles(v: u32) -> (u32, u32, u32) {
    (v >> 16, (v >> 8) & 0xff, v & 0xff)
}

/// The slices of a fat Mach-O (fat_header and fat_arch are big-endian;
/// offsets are aligned as each fat_arch says).
fn fat_slices(data: &[u8]) -> Vec<&[u8]> {
    assert_eq!(u32_at(data, 0, true), FAT_MAGIC, "the agent is not a universal (fat) Mach-O");
    let n = u32_at(data, 4, true) as usize;
    (0..n)
        .map(|i| {
            let at = 8 + 20 * i;
            let (offset, size, align) = (
                u32_at(data, at + 8, true) as usize,
                u32_at(data, at + 12, true) as usize,
                u32_at(data, at + 16, true),
            );
            assert!(
                offset % (1usize << align) == 0 && align >= 12,
                "slice {i}: offset {offset}, align 2^{align}"
            );
            assert!(offset + size <= data.len(), "slice {i} runs past the end");
            &data[offset..offset + size]
        })
        .collect()
}

/// Walks a 64-bit little-endian Mach-O's load commands.
fn load_commands(slice: &[u8]) -> SliceCommands {
    assert_eq!(u32_at(slice, 0, false), MH_MAGIC_64, "not a 64-bit Mach-O slice");
    let arch = match u32_at(slice, 4, false) {
        CPU_TYPE_X86_64 => "x86_64",
        CPU_TYPE_ARM64 => "arm64",
        other => panic!("unexpected CPU type {other:#x}"),
    };
    let ncmds = u32_at(slice, 16, false) as usize;
    let sizeofcmds = u32_at(slice, 20, false) as usize;
    let mut out = SliceCommands {
        arch,
        min_os: Vec::new(),
        required: Vec::new(),
        imports: Vec::new(),
    };
    let mut at = 32;
    for _ in 0..ncmds {
        let (cmd, size) = (u32_at(slice, at, false), u32_at(slice, at + 4, false) as usize);
        assert!(
            size >= 8 && size % 8 == 0 && at + size <= 32 + sizeofcmds,
            "{arch}: bad load command at {at}"
        );
        match cmd {
            LC_BUILD_VERSION => {
                assert_eq!(
                    u32_at(slice, at + 8, false),
                    PLATFORM_MACOS,
                    "{arch}: LC_BUILD_VERSION platform"
                );
                out.min_os
                    .push(("LC_BUILD_VERSION", version_nibbles(u32_at(slice, at + 12, false))));
            }
            LC_VERSION_MIN_MACOSX => {
                out.min_os
                    .push(("LC_VERSION_MIN_MACOSX", version_nibbles(u32_at(slice, at + 8, false))));
            }
            LC_SYMTAB => {
                let (symoff, nsyms) = (u32_at(slice, at + 8, false) as usize, u32_at(slice, at + 12, false) as usize);
                let stroff = u32_at(slice, at + 16, false) as usize;
                for i in 0..nsyms {
                    let n = symoff + 16 * i;
                    let (strx, kind) = (u32_at(slice, n, false) as usize, slice[n + 4]);
                    let desc = u16::from_le_bytes([slice[n + 6], slice[n + 7]]);
                    if kind & N_STAB == 0 && kind & N_TYPE == 0 && kind & N_EXT != 0 {
                        let name = &slice[stroff + strx..];
                        let name = &name[..name.iter().position(|&b| b == 0).unwrap()];
                        out.imports
                            .push((String::from_utf8(name.to_vec()).unwrap(), desc & N_WEAK_REF != 0));
                    }
                }
            }
            _ if cmd & LC_REQ_DYLD != 0 => out.required.push(cmd),
            _ => {}
        }
        at += size;
    }
    out
}

/// The agent as apple-flat-package's reader gets it out of the client
/// component's Payload (through the XAR and the gzip'd cpio).
fn agent_via_flat_package(pkg: &Path) -> Vec<u8> {
    let mut reader = PkgReader::new(File::open(pkg).unwrap()).unwrap();
    for c in reader.component_packages().unwrap() {
        if c.package_info().map(|i| i.identifier.as_str()) != Some(CLIENT) {
            continue;
        }
        let mut cpio = c.payload_reader().unwrap().expect("no Payload");
        while let Some(h) = cpio.next() {
            if h.unwrap().name() == AGENT {
                let mut agent = Vec::new();
                cpio.read_to_end(&mut agent).unwrap();
                return agent;
            }
        }
    }
    panic!("{}: no {AGENT} in {CLIENT}", pkg.display());
}

#[test]
fn the_x86_64_slice_starts_on_macos_10_14_the_arm64_slice_on_11_and_the_distribution_allows_10_14() {
    for pkg in [unsigned_pkg(), signed_pkg()] {
        let agent = agent_via_flat_package(&pkg);
        // bsdtar + GNU cpio get the same bytes.
        let (_x, root) = client_payload(&pkg);
        assert!(
            read(&root.join(AGENT)) == agent,
            "{}: readers disagree on the agent",
            pkg.display()
        );

        let mut seen = BTreeMap::new();
        for slice in fat_slices(&agent) {
            let lc = load_commands(slice);
            // One version command, so no dyld picks another minimum.
            assert_eq!(lc.min_os.len(), 1, "{}: {:?}", lc.arch, lc.min_os);
            seen.insert(lc.arch, lc.min_os[0].1);
            let unknown: Vec<String> = lc
                .required
                .iter()
                .filter(|c| lc.arch == "x86_64" && !REQUIRED_COMMANDS_10_14.contains(c))
                .map(|c| format!("{c:#x}"))
                .collect();
            assert!(
                unknown.is_empty(),
                "{}: load commands macOS 10.14's dyld does not know: {unknown:?}",
                lc.arch
            );
        }
        assert_eq!(
            seen,
            BTreeMap::from([("arm64", (11, 0, 0)), ("x86_64", (10, 14, 0))]),
            "{}: minimum macOS per slice",
            pkg.display()
        );

        // Installer lets 10.14 in: the x86_64 slice's minimum.
        let x = extract(&pkg);
        let dist = x.path().join("Distribution");
        assert_eq!(
            xpath(&dist, "string(/installer-gui-script/allowed-os-versions/os-version/@min)"),
            "10.14"
        );
        assert_eq!(
            xpath(&dist, "count(/installer-gui-script/allowed-os-versions/os-version)"),
            "1"
        );
    }
}

/// tests/golden/macos-imports.txt: symbol, first macOS with it (`-`: older
/// than the SDK's availability annotations), how that was checked.
fn checked_imports() -> BTreeMap<String, Option<(u32, u32)>> {
    let text = std::fs::read_to_string(workspace_root().join("tests/golden/macos-imports.txt")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split_whitespace();
            let (name, since) = (f.next().unwrap(), f.next().unwrap_or_else(|| panic!("`{l}`: no version")));
            let since = (since != "-").then(|| {
                let (a, b) = since.split_once('.').unwrap_or_else(|| panic!("`{l}`: version"));
                (a.parse().unwrap(), b.parse().unwrap())
            });
            (name.to_string(), since)
        })
        .collect()
}

#[test]
fn each_slice_imports_only_symbols_its_oldest_macos_has() {
    let checked = checked_imports();
    let agent = agent_via_flat_package(&signed_pkg());
    for slice in fat_slices(&agent) {
        let lc = load_commands(slice);
        let max = if lc.arch == "x86_64" { (10, 14) } else { (11, 0) };
        assert!(lc.imports.len() > 50, "{}: only {} imports read", lc.arch, lc.imports.len());
        let mut problems = Vec::new();
        // A weak import is resolved at run time and may be missing.
        for (name, _) in lc.imports.iter().filter(|(_, weak)| !weak) {
            match checked.get(name) {
                None => problems.push(format!("{name}: not in tests/golden/macos-imports.txt")),
                Some(Some(since)) if *since > max => problems.push(format!(
                    "{name}: macOS {}.{} is newer than {}.{}",
                    since.0, since.1, max.0, max.1
                )),
                Some(_) => {}
            }
        }
        assert!(
            problems.is_empty(),
            "{} slice: imports not known to exist on macOS {}.{}:\n{}\n\
             Find each one's declaration in the macOS SDK headers (zig ships them: \
             lib/libc/include/any-darwin-any) and add it to tests/golden/macos-imports.txt with the \
             version of its availability annotation; one newer than {}.{} must be looked up at run \
             time (dlsym, as Rust's std does) instead.",
            lc.arch,
            max.0,
            max.1,
            problems.join("\n"),
            max.0,
            max.1
        );
    }
}

// ---------------------------------------------------------------------------
// Scripts

/// The client's Scripts, unpacked by GNU cpio.
fn client_scripts() -> (tempfile::TempDir, PathBuf) {
    let x = extract(&signed_pkg());
    let member = x.path().join(format!("{CLIENT}.pkg/Scripts"));
    let listing = cpio_listing(&member);
    let names: Vec<(&str, u32, u32, u32)> = listing.iter().map(|(n, r)| (n.as_str(), r.0, r.1, r.2)).collect();
    assert_eq!(
        names,
        [
            (".", S_IFDIR | 0o755, 0, 0),
            ("./postinstall", S_IFREG | 0o755, 0, 0),
            ("./preinstall", S_IFREG | 0o755, 0, 0)
        ],
        "Scripts listing"
    );
    let dir = x.path().join("scripts");
    outpost_tests::macos::extract(&member, &dir);
    (x, dir)
}

#[test]
fn scripts_parse_and_the_preinstall_names_the_legacy_agent() {
    let (_x, dir) = client_scripts();
    for name in ["preinstall", "postinstall"] {
        let script = dir.join(name);
        let body = String::from_utf8(read(&script)).unwrap();
        assert!(
            body.starts_with("#!/bin/sh\n"),
            "{name}: {}",
            body.lines().next().unwrap_or("")
        );
        // Debian's sh is dash (strict POSIX); macOS's /bin/sh is bash.
        ok(tool("dash").arg("-n").arg(&script));
        ok(tool("bash").arg("--posix").arg("-n").arg(&script));
    }
    let pre = String::from_utf8(read(&dir.join("preinstall"))).unwrap();
    assert_contains(&pre, LEGACY_LABEL);
    assert_contains(&pre, &format!("launchctl bootout 'system/{LEGACY_LABEL}'"));
    assert_contains(&pre, &format!("op_forget '{LEGACY_LABEL}'"));
    assert_contains(&pre, "pkgutil --volume \"$3\" --forget");
    let post = String::from_utf8(read(&dir.join("postinstall"))).unwrap();
    assert_contains(&post, &format!("launchctl bootstrap system '{}'", &PLIST[1..]));
}

// ---------------------------------------------------------------------------
// Corruption: every reader refuses

/// 7zz (rc or a Warnings/ERROR line) and bsdtar -x refuse `bytes`.
fn refused_by_tools(bytes: &[u8], what: &str) {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("corrupt.pkg");
    std::fs::write(&path, bytes).unwrap();
    let t = run(tool("7zz").arg("t").arg(&path));
    let t_text = text(&t);
    assert!(
        !t.status.success() || t_text.contains("Warning") || t_text.contains("ERROR"),
        "7zz t accepted the {what}:\n{t_text}"
    );
    let dest = d.path().join("x");
    std::fs::create_dir(&dest).unwrap();
    let x = run(tool("bsdtar").arg("-xf").arg(&path).arg("-C").arg(&dest));
    assert!(!x.status.success(), "bsdtar -x accepted the {what}:\n{}", text(&x));
}

/// Everything apple-flat-package offers, read to the end: each component's
/// Payload and Scripts entries and its Bom (through apple-bom).
fn flat_package_reads_through(bytes: &[u8]) -> Result<(), String> {
    let mut reader = PkgReader::new(Cursor::new(bytes)).map_err(|e| format!("open: {e}"))?;
    for c in reader.component_packages().map_err(|e| format!("components: {e}"))? {
        let id = c.package_info().map(|p| p.identifier.clone()).unwrap_or_default();
        for (what, member) in [("Payload", c.payload_reader()), ("Scripts", c.scripts_reader())] {
            let Some(entries) = member.map_err(|e| format!("{id}: {what}: {e}"))? else { continue };
            for h in entries {
                h.map_err(|e| format!("{id}: {what}: {e}"))?;
            }
        }
        let bom = c.bom().ok_or(format!("{id}: no Bom"))?;
        apple_bom::ParsedBom::parse(bom).map_err(|e| format!("{id}: Bom: {e:?}"))?;
    }
    Ok(())
}

#[test]
fn corrupted_copies_are_refused() {
    let bytes = read(&signed_pkg());
    let xar = XarReader::new(Cursor::new(&bytes[..])).unwrap();
    let heap = xar.heap_start_offset() as usize;
    let payload = xar
        .find_file(&format!("{CLIENT}.pkg/Payload"))
        .unwrap()
        .and_then(|f| f.data)
        .expect("no client Payload data");
    let toc_checksum = heap + xar.table_of_contents().checksum.offset as usize;

    // One byte in the middle of the client Payload.
    let mut flipped = bytes.clone();
    flipped[heap + payload.offset as usize + payload.length as usize / 2] ^= 0x01;
    refused_by_tools(&flipped, "flipped Payload byte");
    assert!(toc_checksum_verifies(&flipped), "the TOC checksum does not cover member data");
    let e = xar_members_checked(&flipped).expect_err("member checksums accepted a flipped Payload byte");
    assert_contains(&e, &format!("{CLIENT}.pkg/Payload: archived sha1"));

    // apple-flat-package (with cpio-archive and apple-bom behind it) cannot
    // read a Payload through whose deflate block header is damaged. (A flip
    // in the middle lands in the agent's compressed bytes: that decodes to
    // other bytes of the same length, cpio has no checksum, and whether the
    // gzip CRC is reached depends on the reader; the XAR sha1 above is what
    // catches it.) Byte 12 is past the 10-byte gzip header, in the first
    // block's Huffman table description.
    let mut early = bytes.clone();
    early[heap + payload.offset as usize + 12] ^= 0x01;
    let e = flat_package_reads_through(&early).expect_err("apple-flat-package read a damaged Payload through");
    assert_contains(&e, &format!("{CLIENT}: Payload"));

    // One byte inside the zlib-stored client Bom: apple-flat-package cannot
    // open the component; and apple-bom refuses a Bom with a damaged block.
    let bom = xar.find_file(&format!("{CLIENT}.pkg/Bom")).unwrap().and_then(|f| f.data).expect("no client Bom data");
    let mut flipped = bytes.clone();
    flipped[heap + bom.offset as usize + bom.length as usize / 2] ^= 0x01;
    assert!(flat_package_reads_through(&flipped).is_err(), "apple-flat-package read a flipped Bom byte through");
    assert!(flat_package_reads_through(&bytes).is_ok(), "{:?}", flat_package_reads_through(&bytes));
    let good_bom = XarReader::new(Cursor::new(&bytes[..]))
        .unwrap()
        .get_file_data_from_path(&format!("{CLIENT}.pkg/Bom"))
        .unwrap()
        .expect("no client Bom");
    // apple-bom checks the tree blocks' magic (not the file's), so damage
    // the first `tree` block, the Paths tree.
    let bom_paths = |b: &[u8]| apple_bom::ParsedBom::parse(b).and_then(|p| p.paths().map(|v| v.len()));
    assert!(bom_paths(&good_bom).is_ok(), "{:?}", bom_paths(&good_bom));
    let tree = good_bom.windows(4).position(|w| w == b"tree").expect("no tree block in the Bom");
    let mut damaged = good_bom.clone();
    damaged[tree] ^= 0x01;
    assert!(bom_paths(&damaged).is_err(), "apple-bom read the paths of a Bom with a damaged tree block");

    // One byte of the TOC checksum at the start of the heap: the signatures
    // sign that checksum, so they fail with it.
    let mut flipped = bytes.clone();
    flipped[toc_checksum + 3] ^= 0x01;
    refused_by_tools(&flipped, "flipped TOC checksum byte");
    assert!(!toc_checksum_verifies(&flipped), "apple-xar accepted a flipped TOC checksum");
    let mut xar = XarReader::new(Cursor::new(&flipped[..])).unwrap();
    assert!(
        !matches!(xar.verify_rsa_checksum_signature(), Ok(true)),
        "the RSA signature still verifies"
    );
    assert!(
        !matches!(xar.verify_cms_signature(), Ok(true)),
        "the CMS signature still verifies"
    );
}

// ---------------------------------------------------------------------------
// release.json and reproducibility

#[test]
fn release_json_describes_the_signed_pkg() {
    let a = artifact(&dist(), "pkg");
    let bytes = read(&a.path);
    assert_eq!(a.path.file_name().unwrap(), "outpost-2.1.0-universal2.pkg");
    assert_eq!(a.json["sha256"], hex::encode(Sha256::digest(&bytes)));
    assert_eq!(a.json["size"], bytes.len() as u64);
    assert_eq!(a.json["platform"], "macos");
    assert_eq!(a.json["arch"], "universal2");
    assert_eq!(a.json["version"], "2.1.0");
    assert_eq!(a.json["signed"], "apple");
    assert_eq!(a.json["test_signed"], true, "signed with throwaway certificates");
}

#[test]
fn unsigned_builds_are_byte_identical_and_unsigned() {
    let dirs = [(); 2].map(|_| tempfile::tempdir_in(fixtures_dir()).unwrap());
    let mut pkgs = Vec::new();
    for d in &dirs {
        let out = omnipack_build(d.path(), &["--formats", "pkg", "--unsigned"]);
        assert!(
            out.status.success(),
            "omnipack build --formats pkg --unsigned:\n{}",
            text(&out)
        );
        let a = artifact(d.path(), "pkg");
        assert_eq!(
            a.json["signed"],
            serde_json::Value::Null,
            "an --unsigned pkg is listed as signed"
        );
        assert_eq!(a.json["test_signed"], false);
        pkgs.push(read(&a.path));
    }
    assert!(
        pkgs[0] == pkgs[1],
        "two builds with SOURCE_DATE_EPOCH={SOURCE_DATE_EPOCH} differ: sha256 {} vs {}",
        hex::encode(Sha256::digest(&pkgs[0])),
        hex::encode(Sha256::digest(&pkgs[1]))
    );
    // Unsigned all the way down: the agent ships as it was given.
    let (_x, root) = client_payload(&artifact(dirs[0].path(), "pkg").path);
    assert!(
        read(&root.join(AGENT)) == read(&macos_agent()),
        "an --unsigned build changed the agent"
    );
}

// ---------------------------------------------------------------------------
// Identities given as files (what a release does), and bad ones

/// Identities made outside omnipack, as a release brings them: a PEM with
/// chain and key for the application, a password-protected PKCS#12 (made by
/// openssl) for the installer.
fn identities(dir: &Path) -> (PathBuf, PathBuf) {
    let _ = signed_pkg(); // the throwaway PEMs exist once dist() has signed
    let app = dir.join("devid-app.pem");
    std::fs::copy(test_key_dir().join("apple/developer-id-application.pem"), &app).unwrap();
    let p12 = dir.join("devid-inst.p12");
    let pem = test_key_dir().join("apple/developer-id-installer.pem");
    ok(tool("openssl")
        .args(["pkcs12", "-export", "-passout", "pass:s3cret", "-in"])
        .arg(&pem)
        .arg("-out")
        .arg(&p12));
    (app, p12)
}

#[test]
fn identities_from_pem_and_pkcs12_sign_a_release_that_is_not_test_signed() {
    let tmp = tempfile::tempdir().unwrap();
    let (app, p12) = identities(tmp.path());
    let out_dir = tmp.path().join("dist");
    let mut cmd = tool(omnipack());
    cmd.current_dir(workspace_root())
        .env("OMNIPACK_APPLE_PASSWORD", "s3cret")
        .args(["build", "--formats", "pkg", "--apple-timestamp-url", "none", "--out"])
        .arg(&out_dir)
        .arg("--agent-bin")
        .arg(format!("universal2-apple-darwin={}", macos_agent().display()))
        .arg("--apple-application")
        .arg(&app)
        .arg("--apple-installer")
        .arg(&p12);
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("TEST-SIGNED"), "{}", text(&out));
    let a = artifact(&out_dir, "pkg");
    assert_eq!(
        (a.json["signed"].as_str(), a.json["test_signed"].as_bool()),
        (Some("apple"), Some(false))
    );
    let mut xar = XarReader::new(Cursor::new(read(&a.path))).unwrap();
    assert!(
        xar.verify_rsa_checksum_signature().unwrap(),
        "RSA signature from the PKCS#12 identity"
    );
    assert!(xar.verify_cms_signature().unwrap(), "CMS signature from the PKCS#12 identity");
}

#[test]
fn bad_identities_are_refused_naming_the_file_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (app, p12) = identities(tmp.path());
    let out_dir = tmp.path().join("dist");
    let build = |args: &[&std::ffi::OsStr], password: &str| {
        let mut cmd = tool(omnipack());
        cmd.current_dir(workspace_root())
            .env("OMNIPACK_APPLE_PASSWORD", password)
            .args(["build", "--formats", "pkg", "--apple-timestamp-url", "none", "--out"])
            .arg(&out_dir)
            .arg("--agent-bin")
            .arg(format!("universal2-apple-darwin={}", macos_agent().display()))
            .args(args);
        run(&mut cmd)
    };
    let (a, i) = ("--apple-application".as_ref(), "--apple-installer".as_ref());
    let cases: [(Vec<&std::ffi::OsStr>, &str, String); 3] = [
        (vec![a, app.as_os_str()], "s3cret", "give both Developer ID identities".into()),
        (
            vec![a, app.as_os_str(), i, p12.as_os_str()],
            "wrong",
            format!("{}", p12.display()),
        ),
        (vec![a, p12.as_os_str(), i, app.as_os_str()], "", format!("{}", p12.display())),
    ];
    for (args, password, needle) in cases {
        let out = build(&args, password);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert_contains(&text(&out), &needle);
        assert!(!out_dir.exists(), "{args:?}: an output folder was written");
    }
}
