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
        "init-system-helpers (>= 1.54~)",
        "libc6 (>= 2.",
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
        " usr/lib/systemd/system/outpost.service\n",
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
    let unit = std::fs::read_to_string(root.path().join("usr/lib/systemd/system/outpost.service")).unwrap();
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
