//! An .rpm read back through the `rpm` crate: the header's identity and
//! dependencies, the payload compressor, the scriptlets, every file with
//! its flags (`%config(noreplace)`, `%ghost`, `%doc`) and digest, and the
//! settings of the shipped defaults file.

use ::rpm::{Dependency, DependencyFlags, FileFlags, FileType, Package as RpmPackage};

use super::error::Malformed;
use super::model::{octal, record, sha256, FileInfo, Kind, Package};
use super::settings;

pub fn read(bytes: &[u8]) -> Result<Package, Malformed> {
    let rpm = RpmPackage::parse(&mut std::io::Cursor::new(bytes)).map_err(|e| Malformed::new("lead and header", e))?;
    let mut p = Package::new(Kind::Rpm);
    header(&rpm, &mut p)?;
    dependencies(&rpm, &mut p)?;
    scripts(&rpm, &mut p);
    let mut contents = Vec::new();
    let files = rpm.files().map_err(|e| Malformed::new("payload", e))?;
    for f in files {
        let f = f.map_err(|e| Malformed::new("payload", e))?;
        let path = f.metadata.path().to_string_lossy().into_owned();
        let info = file_info(&f.metadata, f.content());
        if let Some(data) = f.content() {
            contents.push((path.clone(), data.to_vec()));
        }
        p.files.insert(path, info);
    }
    p.settings = settings::find(contents.iter().map(|(p, d)| (p.as_str(), d.as_slice())));
    Ok(p)
}

fn header(rpm: &RpmPackage, p: &mut Package) -> Result<(), Malformed> {
    let m = &rpm.metadata;
    let tag = |what: &str, e: ::rpm::Error| Malformed::new(format!("header tag {what}"), e);
    p.meta("name", m.get_name().map_err(|e| tag("Name", e))?);
    p.meta("version", m.get_version().map_err(|e| tag("Version", e))?);
    p.meta("release", m.get_release().map_err(|e| tag("Release", e))?);
    p.meta("arch", m.get_arch().map_err(|e| tag("Arch", e))?);
    if let Ok(epoch) = m.get_epoch() {
        p.meta("epoch", epoch.to_string());
    }
    let optional = [
        ("summary", m.get_summary().ok()),
        ("description", m.get_description().ok()),
        ("license", m.get_license().ok()),
        ("vendor", m.get_vendor().ok()),
        ("url", m.get_url().ok()),
        ("packager", m.get_packager().ok()),
        ("group", m.get_group().ok()),
        ("build-host", m.get_build_host().ok()),
        ("source-rpm", m.get_source_rpm().ok()),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            p.meta(k, v);
        }
    }
    if let Ok(t) = m.get_build_time() {
        p.meta("build-time", t.to_string());
    }
    if let Ok(s) = m.get_installed_size() {
        p.meta("installed-size", s.to_string());
    }
    let compressor = m.get_payload_compressor().map_err(|e| tag("PayloadCompressor", e))?;
    p.meta("payload-compressor", compressor.to_string());
    Ok(())
}

fn dependencies(rpm: &RpmPackage, p: &mut Package) -> Result<(), Malformed> {
    let m = &rpm.metadata;
    let lists: [(&str, Result<Vec<Dependency>, ::rpm::Error>); 6] = [
        ("requires", m.get_requires()),
        ("provides", m.get_provides()),
        ("obsoletes", m.get_obsoletes()),
        ("conflicts", m.get_conflicts()),
        ("recommends", m.get_recommends()),
        ("suggests", m.get_suggests()),
    ];
    for (section, deps) in lists {
        let deps = deps.map_err(|e| Malformed::new(format!("header {section}"), e))?;
        for d in deps {
            p.record(section, dependency(&d), record([("flags", format!("{:#x}", d.flags.bits()))]));
        }
    }
    Ok(())
}

/// `name`, `name >= version`, as rpm -q --requires prints it.
fn dependency(d: &Dependency) -> String {
    let f = d.flags;
    let op = if f.contains(DependencyFlags::LE) {
        "<="
    } else if f.contains(DependencyFlags::GE) {
        ">="
    } else if f.contains(DependencyFlags::LESS) {
        "<"
    } else if f.contains(DependencyFlags::GREATER) {
        ">"
    } else if f.contains(DependencyFlags::EQUAL) {
        "="
    } else {
        return d.name.clone();
    };
    format!("{} {op} {}", d.name, d.version)
}

fn scripts(rpm: &RpmPackage, p: &mut Package) {
    let m = &rpm.metadata;
    let all = [
        ("pretrans", m.get_pre_trans_script()),
        ("pre", m.get_pre_install_script()),
        ("post", m.get_post_install_script()),
        ("preun", m.get_pre_uninstall_script()),
        ("postun", m.get_post_uninstall_script()),
        ("posttrans", m.get_post_trans_script()),
        ("verifyscript", m.get_verify_script()),
    ];
    for (name, s) in all {
        // A missing tag is a scriptlet the package does not have.
        if let Ok(s) = s {
            let program = s
                .program
                .map(|p| format!("#interpreter: {}\n", p.join(" ")))
                .unwrap_or_default();
            p.scripts.insert(name.to_string(), format!("{program}{}", s.script));
        }
    }
}

fn file_info(e: &::rpm::FileEntry, content: Option<&[u8]>) -> FileInfo {
    let kind = match e.file_type() {
        FileType::Regular => "file",
        FileType::Dir => "dir",
        FileType::SymbolicLink => "symlink",
        _ => "other",
    };
    let flags = e.flags();
    let mut words: Vec<String> = [
        (FileFlags::CONFIG, "config"),
        (FileFlags::NOREPLACE, "noreplace"),
        (FileFlags::MISSINGOK, "missingok"),
        (FileFlags::GHOST, "ghost"),
        (FileFlags::DOC, "doc"),
        (FileFlags::LICENSE, "license"),
    ]
    .into_iter()
    .filter(|(f, _)| flags.contains(*f))
    .map(|(_, w)| w.to_string())
    .collect();
    let header_digest = e.digest().map(|d| (format!("{:?}", d.algorithm()), d.as_hex().to_string()));
    let sha = content.map(sha256);
    if let (Some((algo, hex)), Some(sha)) = (&header_digest, &sha) {
        if algo.contains("256") && hex != sha {
            words.push(format!("header digest {hex} differs from the payload's"));
        }
    }
    FileInfo {
        kind: kind.into(),
        mode: Some(octal(u32::from(e.permissions()))),
        owner: Some(format!("{}:{}", e.user(), e.group())),
        size: e.size() as u64,
        sha256: sha.or_else(|| header_digest.filter(|(a, _)| a.contains("256")).map(|(_, h)| h)),
        target: None,
        flags: words,
    }
}
