//! A macOS product archive read back: the Distribution's options and
//! choices, each component's PackageInfo, Bom and Payload (each file's
//! mode, owners, size, SHA-256, and where Bom and Payload disagree), the
//! scripts, and the settings of the shipped defaults file.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use apple_xar::reader::XarReader;

use super::error::Malformed;
use super::model::{octal, FileInfo, Kind, Package};
use super::xml::{elements, Element};
use super::{bom, cpio, settings};

type Xar<'a> = XarReader<Cursor<&'a [u8]>>;

pub fn read(bytes: &[u8]) -> Result<Package, Malformed> {
    let mut xar = XarReader::new(Cursor::new(bytes)).map_err(|e| Malformed::new("xar", e))?;
    let mut p = Package::new(Kind::Pkg);
    let signed = xar.table_of_contents().signature.is_some() || xar.table_of_contents().x_signature.is_some();
    p.meta("xar-signature", if signed { "present" } else { "none" });
    let names: Vec<String> = xar
        .files()
        .map_err(|e| Malformed::new("xar", e))?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let distribution = member(&mut xar, "Distribution")?;
    distribution_xml(&String::from_utf8_lossy(&distribution), &mut p)?;
    let mut contents = Vec::new();
    for prefix in names.iter().filter_map(|n| n.strip_suffix("/PackageInfo")) {
        component(&mut xar, prefix, &mut p, &mut contents)?;
    }
    p.settings = settings::find(contents.iter().map(|(p, d)| (p.as_str(), d.as_slice())));
    Ok(p)
}

fn member(xar: &mut Xar, name: &str) -> Result<Vec<u8>, Malformed> {
    xar.get_file_data_from_path(name)
        .map_err(|e| Malformed::new(format!("xar member `{name}`"), e))?
        .ok_or_else(|| Malformed::new(format!("xar member `{name}`"), "missing"))
}

fn gunzip(part: &str, data: &[u8]) -> Result<Vec<u8>, Malformed> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .map_err(|e| Malformed::new(part, e))?;
    Ok(out)
}

fn distribution_xml(xml: &str, p: &mut Package) -> Result<(), Malformed> {
    for e in elements("Distribution", xml)? {
        match e.name.as_str() {
            "title" => p.meta("title", e.text.clone()),
            "options" | "product" | "os-version" | "domains" => {
                for (k, v) in &e.attrs {
                    p.meta(&format!("{}.{k}", e.name), v.clone());
                }
            }
            "choice" => {
                let id = e.attrs.get("id").cloned().unwrap_or_default();
                let r = e
                    .attrs
                    .iter()
                    .filter(|(k, _)| *k != "id")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                p.record("choices", id, r);
            }
            "pkg-ref" if !e.text.is_empty() => {
                let id = e.attrs.get("id").cloned().unwrap_or_default();
                let mut r: BTreeMap<String, String> = e
                    .attrs
                    .iter()
                    .filter(|(k, _)| *k != "id")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                r.insert("archive".into(), e.text.clone());
                p.record("pkg-refs", id, r);
            }
            _ => {}
        }
    }
    // Which component each choice installs: its pkg-ref children.
    let refs = choice_packages(&elements("Distribution", xml)?);
    for (choice, pkgs) in refs {
        if let Some(r) = p.sections.get_mut("choices").and_then(|s| s.get_mut(&choice)) {
            r.insert("packages".into(), pkgs.join(" "));
        }
    }
    Ok(())
}

/// The pkg-refs without text that follow each `<choice>`.
fn choice_packages(elements: &[Element]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for e in elements {
        match e.name.as_str() {
            "choice" => out.push((e.attrs.get("id").cloned().unwrap_or_default(), Vec::new())),
            "pkg-ref" if e.text.is_empty() => {
                if let (Some(last), Some(id)) = (out.last_mut(), e.attrs.get("id")) {
                    last.1.push(id.clone());
                }
            }
            _ => {}
        }
    }
    out
}

fn component(xar: &mut Xar, prefix: &str, p: &mut Package, contents: &mut Vec<(String, Vec<u8>)>) -> Result<(), Malformed> {
    let info_part = format!("{prefix}/PackageInfo");
    let info = String::from_utf8_lossy(&member(xar, &info_part)?).into_owned();
    let els = elements(&info_part, &info)?;
    let root = els
        .iter()
        .find(|e| e.name == "pkg-info")
        .ok_or_else(|| Malformed::new(&info_part, "no <pkg-info>"))?;
    let id = root.attrs.get("identifier").cloned().unwrap_or_else(|| prefix.to_string());
    let location = root.attrs.get("install-location").cloned().unwrap_or_else(|| "/".into());
    let mut r: BTreeMap<String, String> = root
        .attrs
        .iter()
        .filter(|(k, _)| *k != "identifier")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for e in &els {
        match e.name.as_str() {
            "payload" => r.extend(e.attrs.iter().map(|(k, v)| (format!("payload.{k}"), v.clone()))),
            "preinstall" | "postinstall" => {
                r.insert(e.name.clone(), e.attrs.get("file").cloned().unwrap_or_default());
            }
            _ => {}
        }
    }
    r.insert("member".into(), prefix.to_string());
    p.record("components", id.clone(), r);

    let bom_part = format!("{prefix}/Bom");
    let bom = bom::entries(&bom_part, &member(xar, &bom_part)?)?;
    let payload_part = format!("{prefix}/Payload");
    let payload = cpio::entries(&payload_part, &gunzip(&payload_part, &member(xar, &payload_part)?)?)?;
    files(&location, &id, bom, payload, p, contents);
    let scripts_part = format!("{prefix}/Scripts");
    if let Ok(Some(scripts)) = xar.get_file_data_from_path(&scripts_part) {
        for e in cpio::entries(&scripts_part, &gunzip(&scripts_part, &scripts)?)? {
            if e.mode & 0o170000 == 0o100000 {
                let name = format!("{id}/{}", e.name.trim_start_matches("./"));
                p.scripts.insert(name, String::from_utf8_lossy(&e.data).into_owned());
            }
        }
    }
    Ok(())
}

/// `./a/b` under `location` → `/location/a/b`.
fn installed(location: &str, name: &str) -> String {
    let rel = name.trim_start_matches('.').trim_start_matches('/');
    let base = location.trim_end_matches('/');
    if rel.is_empty() {
        format!("{base}/")
    } else {
        format!("{base}/{rel}")
    }
}

fn files(
    location: &str,
    id: &str,
    bom: Vec<bom::BomEntry>,
    payload: Vec<cpio::CpioEntry>,
    p: &mut Package,
    contents: &mut Vec<(String, Vec<u8>)>,
) {
    let mut listed: BTreeMap<String, bom::BomEntry> = bom.into_iter().map(|b| (b.path.clone(), b)).collect();
    for e in payload {
        let path = installed(location, &e.name);
        let mut info = match e.mode & 0o170000 {
            0o100000 => FileInfo::regular(&e.data, Some(e.mode)),
            0o040000 => FileInfo {
                kind: "dir".into(),
                mode: Some(octal(e.mode)),
                ..FileInfo::default()
            },
            0o120000 => FileInfo {
                kind: "symlink".into(),
                mode: Some(octal(e.mode)),
                target: Some(String::from_utf8_lossy(&e.data).into_owned()),
                ..FileInfo::default()
            },
            _ => FileInfo {
                kind: "other".into(),
                mode: Some(octal(e.mode)),
                ..FileInfo::default()
            },
        };
        info.owner = Some(format!("{}:{}", e.uid, e.gid));
        info.flags.push(format!("component {id}"));
        match listed.remove(&e.name) {
            None => info.flags.push("not in the Bom".into()),
            Some(b) => {
                if u32::from(b.mode) != e.mode || (b.uid, b.gid) != (e.uid, e.gid) {
                    info.flags
                        .push(format!("Bom says mode {:o} owner {}:{}", b.mode, b.uid, b.gid));
                }
                if b.kind == 1 && (b.size as usize != e.data.len() || b.checksum != crate::pkg::bom::cksum(&e.data)) {
                    info.flags
                        .push(format!("Bom says size {} cksum {}, the Payload differs", b.size, b.checksum));
                }
            }
        }
        if info.kind == "file" {
            contents.push((path.clone(), e.data));
        }
        p.files.insert(path, info);
    }
    for (name, b) in listed {
        let info = FileInfo {
            kind: "missing".into(),
            mode: Some(octal(u32::from(b.mode))),
            size: u64::from(b.size),
            flags: vec![format!("component {id}"), "in the Bom, not in the Payload".into()],
            ..FileInfo::default()
        };
        p.files.insert(installed(location, &name), info);
    }
}
