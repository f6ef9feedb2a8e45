//! The folder's lists: release.json (each file's sha256 and size),
//! SHA256SUMS (each digest, every release file covered) and its signature
//! SHA256SUMS.asc, and files that neither list names.

use std::collections::BTreeSet;

use super::openpgp::ReleaseKey;
use super::{Context, Report};
use crate::checksums::{self, FILE_NAME as SUMS, SIGNATURE_FILE_NAME as SUMS_ASC};
use crate::release::{Release, Scheme, FILE_NAME as RELEASE};

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The release's public key, `<product id>-signing-key.asc`.
pub fn release_key(ctx: &Context, r: &mut Report) -> Option<ReleaseKey> {
    let names: Vec<String> = std::fs::read_dir(ctx.dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("-signing-key.asc"))
        .collect();
    let [name] = names.as_slice() else {
        if names.len() > 1 {
            r.fail(
                &names.join(", "),
                "release key",
                "more than one *-signing-key.asc: which is the release key?",
            );
        }
        return None;
    };
    let text = String::from_utf8_lossy(&ctx.read(name)?).into_owned();
    match ReleaseKey::parse(&text) {
        Ok(k) => {
            r.pass(
                name,
                "release key",
                format!("OpenPGP key {} `{}`", k.fingerprint(), k.user_id()),
            );
            Some(k)
        }
        Err(e) => {
            r.fail(name, "release key", e.to_string());
            None
        }
    }
}

/// release.json and SHA256SUMS against the files; returns release.json.
pub fn check(ctx: &Context, key: Option<&ReleaseKey>, r: &mut Report) -> Option<Release> {
    let rel = read_release(ctx, r);
    let sums = read_sums(ctx, key, rel.as_ref(), r);
    if let Some(rel) = &rel {
        for (name, sum, size) in rel.files() {
            let Some(bytes) = ctx.read(name) else {
                r.fail(name, "release.json", "listed in release.json but missing from the folder");
                continue;
            };
            if sha256(&bytes) != sum {
                r.fail(name, "release.json", "sha256 differs from release.json");
            } else if bytes.len() as u64 != size {
                r.fail(
                    name,
                    "release.json",
                    format!("size {} differs from release.json's {size}", bytes.len()),
                );
            } else {
                r.pass(name, "release.json", "sha256 and size as release.json records");
            }
            if sums.as_ref().is_some_and(|s| !s.iter().any(|(n, _)| n == name)) {
                r.fail(name, "SHA256SUMS", "listed in release.json but not in SHA256SUMS");
            }
        }
    }
    if let Some(rel) = &rel {
        for s in &rel.sboms {
            if rel.artifacts.iter().any(|a| a.path == s.describes) {
                r.pass(&s.path, "SBOM", format!("describes {}", s.describes));
            } else {
                r.fail(
                    &s.path,
                    "SBOM",
                    format!("describes {}, which release.json does not list as a package", s.describes),
                );
            }
        }
    }
    unlisted(ctx, rel.as_ref(), sums.as_deref(), r);
    rel
}

fn read_release(ctx: &Context, r: &mut Report) -> Option<Release> {
    let Some(bytes) = ctx.read(RELEASE) else {
        r.fail(RELEASE, "release.json", "missing: not a release folder");
        return None;
    };
    match serde_json::from_slice::<Release>(&bytes) {
        Ok(rel) => Some(rel),
        Err(e) => {
            r.fail(RELEASE, "release.json", format!("not a release manifest: {e}"));
            None
        }
    }
}

/// SHA256SUMS's entries against the files, and its signature.
fn read_sums(ctx: &Context, key: Option<&ReleaseKey>, rel: Option<&Release>, r: &mut Report) -> Option<Vec<(String, String)>> {
    let Some(bytes) = ctx.read(SUMS) else {
        r.fail(SUMS, "SHA256SUMS", "missing");
        return None;
    };
    check_sums_signature(ctx, key, rel, &bytes, r);
    let sums = match checksums::parse(&String::from_utf8_lossy(&bytes)) {
        Ok(s) => s,
        Err(e) => {
            r.fail(SUMS, "SHA256SUMS", e.to_string());
            return None;
        }
    };
    for (name, sum) in &sums {
        match ctx.read(name) {
            None => r.fail(name, "SHA256SUMS", "listed in SHA256SUMS but missing from the folder"),
            Some(b) if sha256(&b) != *sum => r.fail(name, "SHA256SUMS", "sha256 differs from SHA256SUMS"),
            Some(_) => r.pass(name, "SHA256SUMS", "sha256 as SHA256SUMS lists"),
        }
    }
    Some(sums)
}

fn check_sums_signature(ctx: &Context, key: Option<&ReleaseKey>, rel: Option<&Release>, sums: &[u8], r: &mut Report) {
    let Some(asc) = ctx.read(SUMS_ASC) else {
        let detail = "not signed: no SHA256SUMS.asc (an unsigned build)".to_string();
        ctx.not_for_release(r, SUMS, "OpenPGP signature", detail);
        return;
    };
    let Some(key) = key else {
        r.fail(
            SUMS_ASC,
            "OpenPGP signature",
            "no release key (<product>-signing-key.asc) in the folder to check it with",
        );
        return;
    };
    match key.verify_detached(sums, &String::from_utf8_lossy(&asc)) {
        Ok(()) => {
            r.pass(
                SUMS,
                "OpenPGP signature",
                format!("SHA256SUMS.asc verifies with {}", key.fingerprint()),
            );
            // The key that signs the rpm signs SHA256SUMS.
            let test = rel.is_some_and(|rel| {
                rel.artifacts
                    .iter()
                    .any(|a| a.signature == crate::release::Signature::Test(Scheme::OpenPgp))
            });
            if test {
                let by = format!("OpenPGP key {} `{}`", key.fingerprint(), key.user_id());
                ctx.signed(r, SUMS, crate::release::Signature::Test(Scheme::OpenPgp), &by);
            }
        }
        Err(e) => r.fail(SUMS, "OpenPGP signature", format!("SHA256SUMS.asc: {e}")),
    }
}

/// Files in the folder that neither release.json nor SHA256SUMS names.
fn unlisted(ctx: &Context, rel: Option<&Release>, sums: Option<&[(String, String)]>, r: &mut Report) {
    let mut known: BTreeSet<&str> = [SUMS, SUMS_ASC, RELEASE].into();
    known.extend(rel.into_iter().flat_map(|rel| rel.files().map(|(n, _, _)| n)));
    known.extend(sums.into_iter().flatten().map(|(n, _)| n.as_str()));
    let Ok(entries) = std::fs::read_dir(ctx.dir) else { return };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        if !known.contains(name.as_str()) {
            r.notice(
                &name,
                "listed",
                "in the folder but listed in neither release.json nor SHA256SUMS",
            );
        }
    }
}
