//! The zips: their members as release.json's `contents` lists them, each
//! member readable (its CRC checked), every member that is also a loose
//! file of the folder byte-identical to it, the Windows bundle's own
//! release.json agreeing with the loose MSIs, and the assistant's
//! executable signed like the MSIs.

use std::io::{Cursor, Read};

use super::openpgp::ReleaseKey;
use super::packages::{authenticode_file, authenticode_signature};
use super::{Context, Report};
use crate::release::{Bundle, BundleArtifact, Release};

pub fn check(ctx: &Context, rel: &Release, key: Option<&ReleaseKey>, r: &mut Report) {
    for b in &rel.bundles {
        let Some(bytes) = ctx.read(&b.path) else { continue };
        match members(&bytes) {
            Ok(members) => check_members(ctx, rel, key, b, &members, r),
            Err(e) => r.fail(&b.path, "zip", format!("zip cannot be read: {e}")),
        }
    }
}

/// Each member's name and bytes, or the first one that cannot be read.
fn members(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, zip::result::ZipError> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes))?;
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i)?;
        let name = f.name().to_string();
        let mut data = Vec::new();
        f.read_to_end(&mut data)
            .map_err(|e| zip::result::ZipError::Io(std::io::Error::other(format!("member `{name}`: {e}"))))?;
        out.push((name, data));
    }
    Ok(out)
}

fn check_members(
    ctx: &Context,
    rel: &Release,
    key: Option<&ReleaseKey>,
    b: &BundleArtifact,
    members: &[(String, Vec<u8>)],
    r: &mut Report,
) {
    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    if names == b.contents.iter().map(String::as_str).collect::<Vec<_>>() {
        r.pass(
            &b.path,
            "zip contents",
            format!("{} members as release.json lists", names.len()),
        );
    } else {
        r.fail(
            &b.path,
            "zip contents",
            format!("members {names:?} differ from release.json's contents {:?}", b.contents),
        );
    }
    for (name, data) in members {
        if rel.artifacts.iter().any(|a| &a.path == name) {
            match ctx.read(name) {
                Some(loose) if loose == *data => {
                    r.pass(&b.path, "zip member", format!("{name} is byte-identical to the loose file"))
                }
                Some(_) => r.fail(&b.path, "zip member", format!("{name} differs from the loose {name}")),
                None => {}
            }
        }
    }
    match b.bundle {
        Bundle::Windows => inner_release(rel, b, members, r),
        Bundle::Assistant => assistant(ctx, rel, b, members, r),
        Bundle::NonWindows => keyrings(key, b, members, r),
    }
}

/// The Windows bundle's release.json: the loose MSIs' records.
fn inner_release(rel: &Release, b: &BundleArtifact, members: &[(String, Vec<u8>)], r: &mut Report) {
    let Some((_, json)) = members.iter().find(|(n, _)| n == crate::release::FILE_NAME) else {
        return;
    };
    let inner: Release = match serde_json::from_slice(json) {
        Ok(i) => i,
        Err(e) => {
            return r.fail(
                &b.path,
                "zip release.json",
                format!("release.json inside is not a release manifest: {e}"),
            )
        }
    };
    for a in &inner.artifacts {
        if rel.artifacts.contains(a) {
            r.pass(
                &b.path,
                "zip release.json",
                format!("{} as the folder's release.json records it", a.path),
            );
        } else {
            r.fail(
                &b.path,
                "zip release.json",
                format!("release.json inside records {} unlike the folder's release.json", a.path),
            );
        }
    }
}

fn assistant(ctx: &Context, rel: &Release, b: &BundleArtifact, members: &[(String, Vec<u8>)], r: &mut Report) {
    let exe_name = crate::bundle::ASSISTANT_EXE;
    let Some((_, exe)) = members.iter().find(|(n, _)| n == exe_name) else {
        return r.fail(&b.path, "Authenticode", format!("no {exe_name} inside"));
    };
    let Some(signature) = authenticode_signature(rel) else {
        return ctx.not_for_release(
            r,
            &b.path,
            "Authenticode",
            format!("{exe_name}: not signed (an unsigned build)"),
        );
    };
    if let Some(sigs) = authenticode_file(&b.path, Some(exe_name), exe, r) {
        let by = format!("`{}` (certificate SHA-256 {})", sigs[0].signer, sigs[0].signer_sha256);
        ctx.signed(r, &b.path, signature, &format!("{by} ({exe_name})"));
    }
}

/// The repository keyrings the bundle ships are the key that signs the
/// release (the rpm, SHA256SUMS).
fn keyrings(key: Option<&ReleaseKey>, b: &BundleArtifact, members: &[(String, Vec<u8>)], r: &mut Report) {
    let Some(key) = key else { return };
    // The bundle's own names for them, as suffixes (no product id here).
    let names = crate::bundle::keyring_file_names("");
    for (name, data) in members
        .iter()
        .filter(|(n, _)| names.iter().any(|suffix| n.ends_with(suffix.as_str())))
    {
        match ReleaseKey::fingerprint_of(data) {
            Ok(f) if f == key.fingerprint() => r.pass(&b.path, "zip keyring", format!("{name} is the release key {f}")),
            Ok(f) => r.fail(
                &b.path,
                "zip keyring",
                format!("{name} holds key {f}, not the release key {}", key.fingerprint()),
            ),
            Err(e) => r.fail(&b.path, "zip keyring", format!("{name}: {e}")),
        }
    }
}
