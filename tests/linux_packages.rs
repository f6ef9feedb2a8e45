//! The deb and rpm as built by `omnipack build`, checked with lintian,
//! dpkg-deb, rpmlint, rpm and rpmkeys.

use outpost_tests::*;
use sha2::{Digest, Sha256};

#[test]
fn release_json_describes_the_files() {
    let dist = dist();
    for (format, arch, signed) in [("deb", "amd64", None), ("rpm", "x86_64", Some("openpgp"))] {
        let a = artifact(&dist, format);
        let bytes = std::fs::read(&a.path).unwrap();
        assert_eq!(a.json["sha256"], hex::encode(Sha256::digest(&bytes)), "{format} sha256");
        assert_eq!(a.json["size"], bytes.len() as u64, "{format} size");
        assert_eq!(a.json["platform"], "linux");
        assert_eq!(a.json["arch"], arch);
        assert_eq!(a.json["version"], "2.1.0");
        assert_eq!(a.json["signed"].as_str(), signed, "{format} signed");
    }
}

#[test]
fn lintian_reports_no_errors() {
    let deb = artifact(&dist(), "deb").path;
    let out = run(tool("lintian")
        .args(["--fail-on", "error", "--tag-display-limit", "0"])
        .arg(&deb));
    assert!(out.status.success(), "lintian found errors:\n{}", text(&out));
    assert!(!text(&out).lines().any(|l| l.starts_with("E:")), "{}", text(&out));
}

#[test]
fn dpkg_deb_shows_what_the_manifest_says() {
    let deb = artifact(&dist(), "deb").path;
    let info = ok(tool("dpkg-deb").arg("-I").arg(&deb));
    for field in [
        "Package: outpost",
        "Version: 2.1.0-1",
        "Architecture: amd64",
        "Maintainer: Outpost Packaging Team <packaging@outpost.example>",
        "Conflicts: outpost-platform-agent, outpost-wakeup",
        "Breaks: outpost-platform-agent (<< 3.0), outpost-wakeup (<< 2.0)",
        "Replaces: outpost-platform-agent (<< 3.0), outpost-wakeup (<< 2.0)",
        // The agent is linked against glibc 2.17 and needs nothing else.
        " Depends: libc6 (>= 2.17)\n",
    ] {
        assert_contains(&info, field);
    }
    let conffiles = ok(tool("dpkg-deb").arg("-f").arg(&deb).arg("Package"));
    assert_eq!(conffiles.trim(), "outpost");
    let ctl = tempfile::tempdir().unwrap();
    ok(tool("dpkg-deb").arg("-e").arg(&deb).arg(ctl.path()));
    let conffiles = std::fs::read_to_string(ctl.path().join("conffiles")).unwrap();
    assert_eq!(conffiles, "/etc/logrotate.d/outpost\n/etc/outpost/outpost.conf\n");
    let postinst = std::fs::read_to_string(ctl.path().join("postinst")).unwrap();
    assert_contains(&postinst, "deb-systemd-helper enable 'outpost.service'");
    assert_contains(&postinst, "/usr/bin/outpost-agent' config check");
    let preinst = std::fs::read_to_string(ctl.path().join("preinst")).unwrap();
    assert_contains(&preinst, "OUTPOST_MODULE_PLATFORM_ENABLED");
    assert!(
        !preinst.contains("OUTPOST_MODULE_CONTENT_ENABLED"),
        "a Windows-only setting is offered on Linux"
    );
    // md5sums must be hex and cover every non-conffile regular file.
    let md5sums = std::fs::read_to_string(ctl.path().join("md5sums")).unwrap();
    assert!(
        md5sums
            .lines()
            .all(|l| l.len() > 34 && l[..32].chars().all(|c| c.is_ascii_hexdigit())),
        "{md5sums}"
    );
    assert_contains(&md5sums, "  usr/bin/outpost-agent");

    let listing = ok(tool("dpkg-deb").arg("-c").arg(&deb));
    for line in [
        "-rwxr-xr-x root/root",
        " usr/bin/outpost-agent\n",
        // Where init-system-helpers 1.51's deb-systemd-helper finds it (see deb::UNIT_DIR).
        " lib/systemd/system/outpost.service\n",
        " usr/share/outpost/defaults.conf\n",
        "-rw-r--r-- root/root",
        " etc/outpost/outpost.conf\n",
        "drwxr-xr-x root/root         0 2023-11-14 22:13 var/lib/outpost/\n",
    ] {
        assert_contains(&listing, line);
    }
    assert!(
        !listing.contains("installer.conf"),
        "the answers file is written by the scripts, not shipped"
    );
}

#[test]
fn rpmlint_reports_no_errors() {
    let rpm = artifact(&dist(), "rpm").path;
    // rpmlint checks the signature against ~/.rpmdb: give it a home with our
    // test key imported, as an administrator's machine would have.
    let home = tempfile::tempdir().unwrap();
    ok(tool("rpmkeys")
        .arg("--dbpath")
        .arg(home.path().join(".rpmdb"))
        .arg("--import")
        .arg(test_public_key()));
    let out = run(tool("rpmlint").env("HOME", home.path()).arg(&rpm));
    let t = text(&out);
    assert!(t.contains(" 0 errors"), "rpmlint found errors:\n{t}");
    assert!(!t.lines().any(|l| l.contains(": E: ")), "{t}");
}

#[test]
fn rpm_query_shows_what_the_manifest_says() {
    let rpm = artifact(&dist(), "rpm").path;
    let q = |args: &[&str]| ok(tool("rpm").args(["-qp", "--nosignature"]).args(args).arg(&rpm));
    let info = q(&["-i"]);
    for field in [
        "Name        : outpost",
        "Version     : 2.1.0",
        "Release     : 1",
        "Architecture: x86_64",
        "Vendor      : Outpost Systems",
    ] {
        assert_contains(&info, field);
    }
    let scripts = q(&["--scripts"]);
    for part in [
        "preinstall scriptlet",
        "postinstall scriptlet",
        "preuninstall scriptlet",
        "postuninstall scriptlet",
        "posttrans scriptlet",
        "systemctl --no-reload enable 'outpost.service'",
        "op_collect install",
    ] {
        assert_contains(&scripts, part);
    }
    let deps = q(&["--obsoletes"]);
    assert_contains(&deps, "outpost-platform-agent < 3.0");
    assert_contains(&deps, "outpost-wakeup < 2.0");
    let provides = q(&["--provides"]);
    assert_contains(&provides, "outpost-platform-agent = 3.0");
    let requires = q(&["--requires"]);
    assert_contains(&requires, "libc.so.6()(64bit)");
    let flags = q(&[
        "--qf",
        "[%{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]",
    ]);
    for line in [
        "cn -rw-r--r-- root:root /etc/outpost/outpost.conf",
        "g -rw-r--r-- root:root /etc/outpost/installer.conf",
        " -rwxr-xr-x root:root /usr/bin/outpost-agent",
        " drwxr-xr-x root:root /var/lib/outpost",
    ] {
        assert_contains(&flags, line);
    }
    assert_eq!(q(&["--qf", "%{PAYLOADCOMPRESSOR}"]), "xz");
}

#[test]
fn rpm_signature_is_accepted_and_a_tampered_copy_is_refused() {
    let rpm = artifact(&dist(), "rpm").path;
    let db = tempfile::tempdir().unwrap();
    let check = |path: &std::path::Path| {
        run(tool("rpmkeys")
            .arg("--dbpath")
            .arg(db.path())
            .args(["--define", "_pkgverify_level signature", "--checksig"])
            .arg(path))
    };
    // Before the key is imported the signature cannot be trusted.
    assert!(!check(&rpm).status.success(), "accepted without the public key");
    ok(tool("rpmkeys")
        .arg("--dbpath")
        .arg(db.path())
        .arg("--import")
        .arg(test_public_key()));
    let out = check(&rpm);
    assert!(out.status.success(), "{}", text(&out));
    assert_contains(&text(&out), "digests signatures OK");

    let mut bytes = std::fs::read(&rpm).unwrap();
    let n = bytes.len();
    bytes[n - 100] ^= 0x55; // inside the compressed payload
    let tampered = db.path().join("tampered.rpm");
    std::fs::write(&tampered, &bytes).unwrap();
    let out = check(&tampered);
    assert!(!out.status.success(), "tampered package accepted:\n{}", text(&out));

    // An unsigned build fails the same check even with the key present.
    let unsigned_dir = db.path().join("unsigned");
    let out = omnipack_build(&unsigned_dir, &["--formats", "rpm", "--unsigned"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = check(&artifact(&unsigned_dir, "rpm").path);
    assert!(!out.status.success(), "unsigned package passed a signature-level check");
    assert_contains(&text(&out), "SIGNATURES NOT OK");
}

#[test]
fn two_builds_with_the_same_source_date_are_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for d in [&a, &b] {
        let out = omnipack_build(d, &["--unsigned"]);
        assert!(out.status.success(), "{}", text(&out));
    }
    for format in ["deb", "rpm"] {
        let (x, y) = (artifact(&a, format), artifact(&b, format));
        assert_eq!(
            std::fs::read(&x.path).unwrap(),
            std::fs::read(&y.path).unwrap(),
            "{format} differs between builds"
        );
        assert_eq!(x.json["signed"], serde_json::Value::Null);
    }
    assert_eq!(
        std::fs::read(a.join("release.json")).unwrap(),
        std::fs::read(b.join("release.json")).unwrap()
    );
}

#[test]
fn systemd_accepts_the_unit() {
    let deb = artifact(&dist(), "deb").path;
    let root = tempfile::tempdir().unwrap();
    ok(tool("dpkg-deb").arg("-x").arg(&deb).arg(root.path()));
    // Point ExecStart at the extracted binary so verify can check it exists.
    let unit = std::fs::read_to_string(root.path().join("lib/systemd/system/outpost.service")).unwrap();
    assert_contains(&unit, "ExecStart=/usr/bin/outpost-agent run");
    let local = root.path().join("outpost.service");
    std::fs::write(
        &local,
        unit.replace(
            "/usr/bin/outpost-agent",
            &root.path().join("usr/bin/outpost-agent").display().to_string(),
        ),
    )
    .unwrap();
    let out = run(tool("systemd-analyze").arg("verify").arg(&local));
    assert!(out.status.success(), "systemd-analyze verify:\n{}", text(&out));
}

/// The oldest glibc of the Linux releases the product lists (RHEL 7.9).
const GLIBC_FLOOR: (u32, u32, u32) = (2, 17, 0);

/// Every `GLIBC_x.y[.z]` symbol version `objdump -T` shows for `bin`.
fn glibc_versions(bin: &std::path::Path) -> std::collections::BTreeSet<(u32, u32, u32)> {
    let dump = ok(tool("objdump").arg("-T").arg(bin));
    let mut found = std::collections::BTreeSet::new();
    for (i, _) in dump.match_indices("GLIBC_") {
        let v: String = dump[i + 6..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let n: Vec<u32> = v.split('.').filter_map(|p| p.parse().ok()).collect();
        if n.len() >= 2 {
            found.insert((n[0], n[1], n.get(2).copied().unwrap_or(0)));
        }
    }
    found
}

/// Issue 14's must-show: the agent inside the deb and inside the rpm needs no
/// glibc symbol version above 2.17, and the packages' libc dependencies,
/// read back from the binary, say 2.17.
#[test]
fn the_packaged_agent_needs_glibc_2_17_at_most() {
    let dist = dist();
    let tmp = tempfile::tempdir().unwrap();
    let from_deb = tmp.path().join("deb");
    ok(tool("dpkg-deb").arg("-x").arg(artifact(&dist, "deb").path).arg(&from_deb));
    let from_rpm = tmp.path().join("rpm");
    std::fs::create_dir(&from_rpm).unwrap();
    ok(tool("bsdtar")
        .arg("-C")
        .arg(&from_rpm)
        .arg("-xf")
        .arg(artifact(&dist, "rpm").path)
        .arg("./usr/bin/outpost-agent"));
    for (format, root) in [("deb", &from_deb), ("rpm", &from_rpm)] {
        let bin = root.join("usr/bin/outpost-agent");
        let versions = glibc_versions(&bin);
        let highest = *versions
            .last()
            .unwrap_or_else(|| panic!("{format}: objdump -T shows no GLIBC_ version"));
        eprintln!("{format}: highest glibc symbol version GLIBC_{}.{}", highest.0, highest.1);
        let above: Vec<_> = versions.iter().filter(|v| **v > GLIBC_FLOOR).collect();
        assert!(
            above.is_empty(),
            "{format}: the agent needs glibc versions above 2.17: {above:?}"
        );
        // What omnipack's own reader derives the dependencies from.
        let deps = omnipack::linux::deps::read(&std::fs::read(&bin).unwrap()).unwrap();
        assert_eq!(deps.glibc, Some((2, 17)), "{format}: {deps:?}");
    }
    let deb = artifact(&dist, "deb").path;
    assert_eq!(
        ok(tool("dpkg-deb").arg("-f").arg(&deb).arg("Depends")).trim(),
        "libc6 (>= 2.17)"
    );
    let requires = ok(tool("rpm")
        .args(["-qp", "--nosignature", "--requires"])
        .arg(artifact(&dist, "rpm").path));
    assert_contains(&requires, "libc.so.6(GLIBC_2.17)(64bit)");
    let glibc_reqs: Vec<&str> = requires.lines().filter(|l| l.contains("(GLIBC_")).collect();
    assert_eq!(glibc_reqs, ["libc.so.6(GLIBC_2.17)(64bit)"], "{requires}");
}

/// The deb's Depends and Recommends can be met by Debian 10 (buster) and
/// Ubuntu 18.04 (bionic): the versions those releases ship (their archives'
/// Packages files), compared by dpkg itself.
#[test]
fn deb_relations_are_satisfiable_on_debian_10_and_ubuntu_18_04() {
    const RELEASES: &[(&str, &[(&str, &str)])] = &[
        (
            "Debian 10",
            &[
                ("libc6", "2.28-10+deb10u1"),
                ("libgcc1", "1:8.3.0-6"),
                ("logrotate", "3.14.0-4"),
                ("init-system-helpers", "1.56+nmu1"),
            ],
        ),
        (
            "Ubuntu 18.04",
            &[
                ("libc6", "2.27-3ubuntu1"),
                ("libgcc1", "1:8-20180414-1ubuntu2"),
                ("logrotate", "3.11.0-0.1ubuntu1"),
                ("init-system-helpers", "1.51"),
            ],
        ),
    ];
    let deb = artifact(&dist(), "deb").path;
    for field in ["Depends", "Pre-Depends", "Recommends"] {
        let value = ok(tool("dpkg-deb").arg("-f").arg(&deb).arg(field));
        for relation in value.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            for (release, packages) in RELEASES {
                let met = relation.split('|').map(str::trim).any(|alt| {
                    let name = alt.split_whitespace().next().unwrap();
                    let Some((_, have)) = packages.iter().find(|(p, _)| *p == name) else {
                        return false;
                    };
                    match alt.split_once('(') {
                        None => true,
                        Some((_, rest)) => {
                            let (op, version) = rest.trim_end_matches(')').trim().split_once(' ').unwrap();
                            let op = match op {
                                ">=" => "ge",
                                "<=" => "le",
                                "=" => "eq",
                                ">>" => "gt",
                                "<<" => "lt",
                                other => panic!("relation operator {other}"),
                            };
                            run(tool("dpkg").args(["--compare-versions", have, op, version.trim()]))
                                .status
                                .success()
                        }
                    }
                });
                assert!(met, "{release} cannot meet `{field}: {relation}`");
            }
        }
    }
    // The maintainer scripts call only deb-systemd-helper actions that
    // init-system-helpers 1.51 (Ubuntu 18.04) has, and no invoke-rc.d
    // --skip-systemd-native (1.54, what dh_installinit's Pre-Depends is for).
    const HELPER_1_51: &[&str] = &[
        "enable",
        "disable",
        "purge",
        "mask",
        "unmask",
        "is-enabled",
        "was-enabled",
        "debian-installed",
        "update-state",
        "reenable",
    ];
    let ctl = tempfile::tempdir().unwrap();
    ok(tool("dpkg-deb").arg("-e").arg(&deb).arg(ctl.path()));
    for script in ["preinst", "postinst", "prerm", "postrm"] {
        let text = std::fs::read_to_string(ctl.path().join(script)).unwrap();
        assert!(!text.contains("--skip-systemd-native"), "{script}");
        for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
            for (i, _) in line.match_indices("deb-systemd-helper ") {
                // `command -v deb-systemd-helper`, `[ -x /usr/bin/deb-systemd-helper ]`: not calls.
                if line[..i].ends_with("command -v ") || line[..i].ends_with('/') {
                    continue;
                }
                let action = line[i..].split_whitespace().skip(1).find(|w| !w.starts_with("--")).unwrap();
                assert!(
                    HELPER_1_51.contains(&action),
                    "{script}: deb-systemd-helper {action} in: {line}"
                );
            }
        }
    }
}

/// rpm 4.11's `rpmlibProvides[]` (lib/rpmds.c at rpm-4.11.3-release, commit
/// 7b5db7d98e024ebc582242712e56e603616144c0 of
/// github.com/rpm-software-management/rpm): the rpmlib() features RHEL 7's
/// rpm can install, with the versions it provides. PayloadIsBzip2,
/// PayloadIsXz, PayloadIsLzma, BuiltinLuaScripts and FileCaps depend on its
/// build options, all on in RHEL 7.
const RPM_4_11_RPMLIB: &[(&str, &str)] = &[
    ("rpmlib(VersionedDependencies)", "3.0.3-1"),
    ("rpmlib(CompressedFileNames)", "3.0.4-1"),
    ("rpmlib(PayloadIsBzip2)", "3.0.5-1"),
    ("rpmlib(PayloadIsXz)", "5.2-1"),
    ("rpmlib(PayloadIsLzma)", "4.4.2-1"),
    ("rpmlib(PayloadFilesHavePrefix)", "4.0-1"),
    ("rpmlib(ExplicitPackageProvide)", "4.0-1"),
    ("rpmlib(HeaderLoadSortsTags)", "4.0.1-1"),
    ("rpmlib(ScriptletInterpreterArgs)", "4.0.3-1"),
    ("rpmlib(PartialHardlinkSets)", "4.0.4-1"),
    ("rpmlib(ConcurrentAccess)", "4.1-1"),
    ("rpmlib(BuiltinLuaScripts)", "4.2.2-1"),
    ("rpmlib(FileDigests)", "4.6.0-1"),
    ("rpmlib(FileCaps)", "4.6.1-1"),
    ("rpmlib(ScriptletExpansion)", "4.9.0-1"),
    ("rpmlib(TildeInVersions)", "4.10.0-1"),
];

/// Issue 14's must-show: the rpm is one RHEL 7's rpm 4.11 reads and
/// installs: only rpmlib() features it has, no rich (boolean) dependencies,
/// an xz payload, and a v4 RSA/SHA-256 header signature by a v4 RSA key,
/// with the issuer key ID 4.11 looks the key up by.
#[test]
fn rpm_is_readable_and_installable_by_rpm_4_11() {
    let rpm = artifact(&dist(), "rpm").path;
    let q = |args: &[&str]| ok(tool("rpm").args(["-qp", "--nosignature"]).args(args).arg(&rpm));
    let requires = q(&["--requires"]);
    let rpmlib: Vec<&str> = requires.lines().filter(|l| l.starts_with("rpmlib(")).collect();
    eprintln!("rpmlib requirements:\n  {}", rpmlib.join("\n  "));
    assert!(rpmlib.iter().any(|r| r.starts_with("rpmlib(PayloadIsXz)")), "{requires}");
    for r in &rpmlib {
        let (name, version) = r
            .split_once(" <= ")
            .unwrap_or_else(|| panic!("`{r}`: expected rpmlib(X) <= V"));
        let known = RPM_4_11_RPMLIB.iter().find(|(n, _)| *n == name);
        assert!(known.is_some(), "rpm 4.11 does not have {name}");
        assert_eq!(known.unwrap().1, version, "{name}: rpm 4.11 provides {}", known.unwrap().1);
    }
    for query in [
        "--requires",
        "--provides",
        "--obsoletes",
        "--conflicts",
        "--recommends",
        "--suggests",
        "--supplements",
        "--enhances",
    ] {
        let deps = q(&[query]);
        assert!(
            !deps.lines().any(|l| l.trim_start().starts_with('(')),
            "rich dependency in {query}:\n{deps}"
        );
    }
    assert_eq!(q(&["--qf", "%{PAYLOADCOMPRESSOR} %{PAYLOADFORMAT}"]), "xz cpio");

    // The header signature: RSA/SHA-256 in the tag 4.11 checks (RSAHEADER),
    // nothing in the header+payload tags an old rpm would try instead.
    let sig = q(&["--qf", "%{RSAHEADER:pgpsig}"]);
    assert!(sig.starts_with("RSA/SHA256, "), "{sig}");
    assert_eq!(
        q(&["--qf", "%{SIGPGP:pgpsig}|%{DSAHEADER:pgpsig}|%{SIGGPG:pgpsig}"]),
        "(none)|(none)|(none)"
    );
    let packet = hex::decode(q(&["--qf", "%{RSAHEADER}"]).trim()).unwrap();
    let home = tempfile::tempdir().unwrap();
    let sig_file = home.path().join("header.sig");
    std::fs::write(&sig_file, &packet).unwrap();
    let list = |file: &std::path::Path| ok(tool("gpg").arg("--homedir").arg(home.path()).arg("--list-packets").arg(file));
    let packets = list(&sig_file);
    assert_contains(&packets, ":signature packet: algo 1,");
    assert_contains(&packets, "\tversion 4,");
    assert_contains(&packets, "digest algo 8,");
    assert_contains(&packets, "hashed subpkt 16 len 8 (issuer key ID ");
    assert!(
        !packets.contains("critical"),
        "4.11 cannot honour critical subpackets:\n{packets}"
    );
    // The key the tests sign with: a v4 RSA primary key, armoured with the
    // CRC line 4.11's armour reader insists on.
    let key = test_public_key();
    let packets = list(&key);
    assert_contains(&packets, ":public key packet:\n\tversion 4, algo 1,");
    assert_contains(&packets, "pkey[0]: [4096 bits]");
    let armour = std::fs::read_to_string(&key).unwrap();
    let crc = armour.lines().rev().nth(1).unwrap_or_default();
    assert!(
        crc.starts_with('=') && crc.len() == 5,
        "no CRC-24 line before the armour's end:\n{armour}"
    );
}

/// The scriptlets run on RHEL 7's systemd 219: only systemctl commands and
/// options it has (no `--now`, added in 220).
#[test]
fn rpm_scriptlets_use_only_what_systemd_219_has() {
    const VERBS_219: &[&str] = &[
        "daemon-reload",
        "enable",
        "disable",
        "start",
        "stop",
        "restart",
        "try-restart",
        "preset",
        "is-enabled",
        "is-active",
    ];
    const OPTIONS_219: &[&str] = &["--no-reload", "--system", "--quiet", "--no-block"];
    let rpm = artifact(&dist(), "rpm").path;
    let scripts = ok(tool("rpm").args(["-qp", "--nosignature", "--scripts"]).arg(&rpm));
    let mut calls = 0;
    for line in scripts.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        for (i, _) in line.match_indices("systemctl ") {
            if line[..i].ends_with("command -v ") {
                continue;
            }
            calls += 1;
            let words: Vec<&str> = line[i..].split_whitespace().skip(1).collect();
            let verb = words.iter().find(|w| !w.starts_with("--")).unwrap();
            assert!(VERBS_219.contains(verb), "systemctl {verb} in: {line}");
            for opt in words.iter().take_while(|w| w.starts_with("--")) {
                assert!(OPTIONS_219.contains(opt), "systemctl {opt} in: {line}");
            }
        }
    }
    assert!(calls >= 5, "{scripts}");
}
