//! A .deb read back: the control paragraph, conffiles, maintainer scripts,
//! every file of data.tar with mode, owner, size and SHA-256, and the
//! settings of the shipped defaults file.

use std::collections::BTreeMap;
use std::io::Read;

use super::ar;
use super::error::Malformed;
use super::model::{octal, FileInfo, Kind, Package};
use super::settings;

/// Control members that are not scripts.
const NOT_SCRIPTS: [&str; 4] = ["control", "conffiles", "md5sums", "shlibs"];

pub fn read(bytes: &[u8]) -> Result<Package, Malformed> {
    let members = ar::members(bytes)?;
    let mut p = Package::new(Kind::Deb);
    let mut control_files = BTreeMap::new();
    let mut data = None;
    for (name, body) in &members {
        if name == "debian-binary" {
            p.meta("debian-binary", String::from_utf8_lossy(body).trim());
        } else if name.starts_with("control.tar") {
            control_files = tar_files(name, &unpack(name, body)?)?
                .into_iter()
                .filter_map(|(path, e)| e.data.map(|d| (path, d)))
                .collect();
        } else if name.starts_with("data.tar") {
            data = Some(tar_files(name, &unpack(name, body)?)?);
            p.meta(
                "data-compression",
                name.trim_start_matches("data.tar").trim_start_matches('.'),
            );
        }
    }
    let control = control_files
        .get("/control")
        .ok_or_else(|| Malformed::new("control.tar", "has no ./control"))?;
    for (k, v) in paragraph(&String::from_utf8_lossy(control)) {
        p.metadata.insert(k, v);
    }
    let data = data.ok_or_else(|| Malformed::new("ar archive", "has no data.tar member"))?;
    let conffiles: Vec<String> = control_files
        .get("/conffiles")
        .map(|c| {
            String::from_utf8_lossy(c)
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default();
    for (path, body) in &control_files {
        let name = path.trim_start_matches('/');
        if !NOT_SCRIPTS.contains(&name) {
            p.scripts.insert(name.to_string(), String::from_utf8_lossy(body).into_owned());
        }
    }
    p.settings = settings::find(
        data.iter()
            .filter_map(|(path, e)| e.data.as_deref().map(|d| (path.as_str(), d))),
    );
    for (path, e) in data {
        let mut info = e.info;
        if conffiles.contains(&path) {
            info.flags.push("conffile".into());
        }
        p.files.insert(path, info);
    }
    if let Some(c) = conffiles.iter().find(|c| !p.files.contains_key(*c)) {
        return Err(Malformed::new(
            "conffiles",
            format!("lists `{c}`, which data.tar does not hold"),
        ));
    }
    Ok(p)
}

/// A member's bytes, decompressed by its name's suffix.
fn unpack(name: &str, body: &[u8]) -> Result<Vec<u8>, Malformed> {
    let mut out = Vec::new();
    let result = if name.ends_with(".xz") {
        liblzma::read::XzDecoder::new(body).read_to_end(&mut out)
    } else if name.ends_with(".gz") {
        flate2::read::GzDecoder::new(body).read_to_end(&mut out)
    } else if name.ends_with(".tar") {
        out.extend_from_slice(body);
        Ok(out.len())
    } else {
        return Err(Malformed::new(name, "compression not read here; allowed: .xz, .gz, none"));
    };
    result.map_err(|e| Malformed::new(name, e))?;
    Ok(out)
}

pub struct TarEntry {
    pub info: FileInfo,
    pub data: Option<Vec<u8>>,
}

/// Every entry of a tar by absolute path (`./usr/bin/x` → `/usr/bin/x`).
pub fn tar_files(member: &str, tar: &[u8]) -> Result<BTreeMap<String, TarEntry>, Malformed> {
    let bad = |e: std::io::Error| Malformed::new(member, e);
    let mut out = BTreeMap::new();
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let raw = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let path = format!(
            "/{}",
            raw.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/')
        );
        let h = entry.header();
        let mode = h.mode().map_err(bad)?;
        let owner = match (h.username().ok().flatten(), h.groupname().ok().flatten()) {
            (Some(u), Some(g)) if !u.is_empty() => format!("{u}:{g}"),
            _ => format!("{}:{}", h.uid().map_err(bad)?, h.gid().map_err(bad)?),
        };
        let kind = h.entry_type();
        let target = entry.link_name().map_err(bad)?.map(|t| t.to_string_lossy().into_owned());
        let (info, data) = if kind.is_file() {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).map_err(bad)?;
            (FileInfo::regular(&data, Some(mode)), Some(data))
        } else {
            let word = if kind.is_dir() {
                "dir"
            } else if kind.is_symlink() {
                "symlink"
            } else {
                "other"
            };
            (
                FileInfo {
                    kind: word.into(),
                    mode: Some(octal(mode)),
                    target,
                    ..FileInfo::default()
                },
                None,
            )
        };
        out.insert(
            path,
            TarEntry {
                info: FileInfo {
                    owner: Some(owner),
                    ..info
                },
                data,
            },
        );
    }
    Ok(out)
}

/// A control paragraph's fields; continuation lines kept with their `\n`.
fn paragraph(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push('\n');
                v.push_str(line);
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}
