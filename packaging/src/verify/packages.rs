//! Each package's signature as release.json says it is signed: OpenPGP on
//! an rpm's header, Authenticode on an MSI and the executables inside it,
//! the pkg's XAR signature and the Mach-O code signatures in its Payload.
//! A pkg's table-of-contents checksums are checked signed or not.

use super::openpgp::ReleaseKey;
use super::{authenticode, macho, msi, xar, Context, Report};
use crate::release::{Artifact, Release, Scheme, Signature};

pub fn check(ctx: &Context, rel: &Release, key: Option<&ReleaseKey>, r: &mut Report) {
    for a in &rel.artifacts {
        let Some(bytes) = ctx.read(&a.path) else { continue };
        if a.format() == crate::target::Format::Pkg {
            match xar::check_integrity(&bytes) {
                Ok(()) => r.pass(
                    &a.path,
                    "XAR checksums",
                    "table of contents and members match their checksums",
                ),
                Err(e) => r.fail(&a.path, "XAR checksums", format!("pkg: {e}")),
            }
        }
        match a.signature.scheme() {
            None => unsigned(ctx, a, r),
            Some(Scheme::OpenPgp) => rpm(ctx, a, &bytes, key, r),
            Some(Scheme::Authenticode) => windows(ctx, a, &bytes, r),
            Some(Scheme::Apple) => apple(ctx, a, &bytes, r),
        }
    }
}

/// A package release.json records as unsigned, of a format that is signed
/// in a signed build (a deb never is: its repository is).
fn unsigned(ctx: &Context, a: &Artifact, r: &mut Report) {
    if crate::formats::packager(a.format()).scheme().is_some() {
        ctx.not_for_release(r, &a.path, "signature", "not signed (release.json: signed null)".into());
    }
}

fn rpm(ctx: &Context, a: &Artifact, bytes: &[u8], key: Option<&ReleaseKey>, r: &mut Report) {
    let Some(key) = key else {
        r.fail(
            &a.path,
            "OpenPGP signature",
            "no release key (<product>-signing-key.asc) in the folder to check the rpm's signature with",
        );
        return;
    };
    let check = match key.verify_rpm(bytes) {
        Ok(c) => c,
        Err(e) => return r.fail(&a.path, "OpenPGP signature", e.to_string()),
    };
    match check.digests {
        Ok(()) => r.pass(
            &a.path,
            "rpm digests",
            "header and payload match the digests the signature header records",
        ),
        Err(e) => r.fail(&a.path, "rpm digests", e.to_string()),
    }
    match check.signature {
        Ok(()) => {
            r.pass(
                &a.path,
                "OpenPGP signature",
                format!("header signature verifies with {}", key.fingerprint()),
            );
            ctx.signed(
                r,
                &a.path,
                a.signature,
                &format!("OpenPGP key {} `{}`", key.fingerprint(), key.user_id()),
            );
        }
        Err(e) => r.fail(&a.path, "OpenPGP signature", e.to_string()),
    }
}

/// Who an Authenticode file was signed by, for the report.
fn signers(sigs: &[authenticode::Signature]) -> String {
    let parts: Vec<String> = sigs
        .iter()
        .map(|s| format!("{} by `{}` (certificate SHA-256 {})", s.hash, s.signer, s.signer_sha256))
        .collect();
    parts.join(", nested: ")
}

/// One Authenticode file (an MSI, or an executable inside a package or a
/// bundle, named `inner`) checked; the signatures when it verified.
pub fn authenticode_file(file: &str, inner: Option<&str>, bytes: &[u8], r: &mut Report) -> Option<Vec<authenticode::Signature>> {
    let prefix = inner.map(|i| format!("{i}: ")).unwrap_or_default();
    match authenticode::check_file(bytes) {
        Ok(sigs) => {
            r.pass(file, "Authenticode", format!("{prefix}{}", signers(&sigs)));
            Some(sigs)
        }
        Err(e) => {
            r.fail(file, "Authenticode", format!("{prefix}{e}"));
            None
        }
    }
}

fn windows(ctx: &Context, a: &Artifact, bytes: &[u8], r: &mut Report) {
    if let Some(sigs) = authenticode_file(&a.path, None, bytes, r) {
        let by = format!("`{}` (certificate SHA-256 {})", sigs[0].signer, sigs[0].signer_sha256);
        ctx.signed(r, &a.path, a.signature, &by);
    }
    match msi::executables(bytes) {
        Ok(exes) if exes.is_empty() => r.fail(&a.path, "Authenticode", "no executable found in its cabinets or Binary table"),
        Ok(exes) => {
            for (name, exe) in exes {
                authenticode_file(&a.path, Some(&name), &exe, r);
            }
        }
        Err(e) => r.fail(&a.path, "Authenticode", format!("the executables inside cannot be read: {e}")),
    }
}

fn apple(ctx: &Context, a: &Artifact, bytes: &[u8], r: &mut Report) {
    match xar::check_signature(bytes) {
        Ok(s) => {
            let by = format!("`{}` (certificate SHA-256 {}, chain of {})", s.name, s.sha256, s.chain_len);
            r.pass(&a.path, "XAR signature", format!("RSA and CMS signatures verify with {by}"));
            ctx.signed(r, &a.path, a.signature, &by);
        }
        Err(e) => r.fail(&a.path, "XAR signature", format!("pkg: {e}")),
    }
    let payloads = match xar::members(bytes, "Payload") {
        Ok(p) => p,
        Err(e) => return r.fail(&a.path, "Mach-O signature", format!("the Payloads cannot be read: {e}")),
    };
    let mut found = 0;
    for (member, payload) in payloads {
        let machos = match macho::in_payload(&payload) {
            Ok(m) => m,
            Err(e) => {
                r.fail(&a.path, "Mach-O signature", format!("{member}: {e}"));
                continue;
            }
        };
        for (path, data) in machos {
            found += 1;
            match macho::verify(&data) {
                Ok(signer) => r.pass(
                    &a.path,
                    "Mach-O signature",
                    format!("{path} (in {member}): signed by `{signer}`"),
                ),
                Err(e) => r.fail(&a.path, "Mach-O signature", format!("{path} (in {member}): {e}")),
            }
        }
    }
    if found == 0 {
        r.fail(&a.path, "Mach-O signature", "no Mach-O executable in any Payload");
    }
}

/// Whether release.json says the Windows packages are test-signed (the
/// assistant is signed by the same certificate).
pub fn authenticode_signature(rel: &Release) -> Option<Signature> {
    rel.artifacts
        .iter()
        .map(|a| a.signature)
        .find(|s| s.scheme() == Some(Scheme::Authenticode))
}
