//! .deb writer: ar(debian-binary, control.tar.xz, data.tar.xz).

mod ar;
mod control;
mod tarball;

use std::collections::BTreeSet;
use std::fmt::Write as _;

use md5::{Digest, Md5};
use outpost_manifest::Platform;
use tera::Context;

use crate::compress;
use crate::content::{Kind, Payload, Role};
use crate::linux::{self, deps};
use crate::packager::{BuildContext, Built, PackageError, Packager};
use crate::release::{Scheme, Signature};
use crate::target::{Arch, Format, Target};
use crate::templates::render;
use control::Control;
use tarball::Tarball;

pub struct DebPackager;

/// Where the deb installs the systemd unit: where debhelper put units until
/// compat 14. deb-systemd-helper before init-system-helpers 1.52 (Ubuntu
/// 18.04 has 1.51) looks for units only in /etc/systemd/system and
/// /lib/systemd/system, and 18.04's /lib is not merged into /usr, so a unit
/// in /usr/lib would never be enabled there. On merged-/usr systems this is
/// the same directory as /usr/lib/systemd/system.
pub const UNIT_DIR: &str = "/lib/systemd/system";

/// xz preset dpkg-deb uses by default.
const XZ_PRESET: u32 = 6;

pub fn version(ctx: &BuildContext) -> String {
    format!("{}-{}", ctx.manifest.product.version, ctx.manifest.product.revision)
}

impl Packager for DebPackager {
    fn format(&self) -> Format {
        Format::Deb
    }

    fn archs(&self) -> &'static [Arch] {
        &[Arch::X86_64]
    }

    fn scheme(&self) -> Option<Scheme> {
        None
    }

    fn check(&self, m: &outpost_manifest::Manifest) -> Result<(), PackageError> {
        linux::check(m)
    }

    fn package(&self, ctx: &BuildContext, target: &Target) -> Result<Built, PackageError> {
        let p = &ctx.manifest.product;
        let lp = linux::build(ctx, target)?;
        let mut payload = lp.payload;
        // Where this distribution's tools look for units (UNIT_DIR).
        payload.move_into(Role::Service, UNIT_DIR);
        let docs = doc_context(ctx);
        let changelog = compress::gzip_n(render("deb/changelog", &docs)?.as_bytes())?;
        payload.add_document(&format!("/usr/share/doc/{}/changelog.Debian.gz", p.id), changelog);
        // Debian's copyright file has its own machine-readable format.
        let copyright = render("deb/copyright", &docs)?.into_bytes();

        let data = data_tar(ctx.source_date, &payload, &copyright)?;
        // data.tar is compressed while the control archive is written (its
        // md5sums hash every file once more): only compression is left on
        // the critical path.
        let (control_xz, data_xz) = std::thread::scope(|s| {
            let d = s.spawn(|| compress::xz(&data.tar, XZ_PRESET));
            let control = control_xz(ctx, target, (&lp.deps, &lp.unit), &payload, &copyright, &data);
            (control, d.join().expect("compression thread"))
        });
        let mtime = ctx.source_date;
        let mut ar = ar::ArWriter::new(Vec::with_capacity(data.tar.len() / 3))?;
        ar.append("debian-binary", mtime, b"2.0\n")?;
        ar.append("control.tar.xz", mtime, &control_xz?)?;
        ar.append("data.tar.xz", mtime, &data_xz?)?;
        Ok(Built {
            file_name: format!("{}_{}_{}.deb", p.id, version(ctx), target.arch_word()),
            bytes: ar.finish(),
            // A deb is signed by the repository that serves it (`publish`).
            signature: Signature::Unsigned,
        })
    }
}

/// control.tar.xz: the control file, conffiles, md5sums and the scripts.
fn control_xz(
    ctx: &BuildContext,
    target: &Target,
    (deps, unit): (&deps::ElfDeps, &str),
    payload: &Payload,
    copyright: &[u8],
    data: &Data,
) -> Result<Vec<u8>, PackageError> {
    let sums = md5sums(payload, copyright);
    let control = control(ctx, target, deps, data.installed_size)?;
    let scripts_ctx = crate::answers_sh::script_context(&ctx.manifest, Platform::Linux, unit)?;
    let control_tar = control_tar(ctx.source_date, &control, data, &sums, &scripts_ctx)?;
    Ok(compress::xz(&control_tar, XZ_PRESET)?)
}

/// data.tar and what the control archive says about it.
struct Data {
    tar: Vec<u8>,
    conffiles: Vec<String>,
    /// In KiB, as dpkg counts it (one per directory, each file rounded up).
    installed_size: u64,
}

/// data.tar: every directory (parents first), then the files, the
/// licence as `copyright`.
fn data_tar(mtime: u64, payload: &Payload, copyright: &[u8]) -> Result<Data, PackageError> {
    let entries = payload.entries();
    let dirs = payload.directories();
    // A header per member, the data padded to 512, two zero blocks: sized
    // once, so the multi-megabyte agent is copied once.
    let capacity = entries.iter().map(|e| 1024 + e.data.len()).sum::<usize>() + 512 * (dirs.len() + 4) + copyright.len();
    let mut data = Tarball::with_capacity(mtime, capacity);
    data.dir(".", 0o755)?;
    let mut installed_size: u64 = 0;
    for (dir, mode) in dirs {
        data.dir(&dir, mode)?;
        installed_size += 1;
    }
    let mut conffiles = Vec::new();
    for e in entries {
        let bytes = member_bytes(e, copyright);
        match e.kind() {
            Kind::Dir | Kind::Ghost => continue,
            Kind::File => {}
            Kind::ConfigNoReplace => conffiles.push(e.path.clone()),
        }
        data.file(&e.path, e.mode, e.user, e.group, bytes)?;
        installed_size += (bytes.len() as u64).div_ceil(1024);
    }
    Ok(Data {
        tar: data.finish()?,
        conffiles,
        installed_size,
    })
}

/// What data.tar holds for an entry: the licence as Debian's `copyright`.
fn member_bytes<'a>(e: &'a crate::content::Entry, copyright: &'a [u8]) -> &'a [u8] {
    if e.role == Role::Licence {
        copyright
    } else {
        &e.data
    }
}

/// The md5sums member: every packaged file but the conffiles (dpkg keeps
/// conffile hashes in its status file), in data.tar's order.
fn md5sums(payload: &Payload, copyright: &[u8]) -> String {
    let mut sums = String::new();
    for e in payload.entries().into_iter().filter(|e| e.kind() == Kind::File) {
        let _ = writeln!(
            sums,
            "{}  {}",
            hex::encode(Md5::digest(member_bytes(e, copyright))),
            &e.path[1..]
        );
    }
    sums
}

fn control(ctx: &BuildContext, target: &Target, deps: &deps::ElfDeps, installed_size: u64) -> Result<Control, PackageError> {
    let p = &ctx.manifest.product;
    let mut c = Control::new();
    c.set("Package", &p.id)
        .set("Version", version(ctx))
        .set("Architecture", target.arch_word())
        .set("Maintainer", &p.maintainer)
        .set("Installed-Size", installed_size.to_string())
        .set("Depends", depends(deps)?)
        .set("Recommends", "logrotate")
        .set("Conflicts", legacy_list(ctx, false))
        .set("Breaks", legacy_list(ctx, true))
        .set("Replaces", legacy_list(ctx, true))
        .set("Section", "admin")
        .set("Priority", "optional")
        .set("Homepage", &p.homepage)
        .description(&p.summary, &control::fold(&p.description));
    Ok(c)
}

fn control_tar(mtime: u64, c: &Control, data: &Data, md5sums: &str, scripts_ctx: &Context) -> Result<Vec<u8>, PackageError> {
    let mut ctl = Tarball::new(mtime);
    ctl.dir(".", 0o755)?;
    ctl.file("control", 0o644, "root", "root", c.render().as_bytes())?;
    if !data.conffiles.is_empty() {
        ctl.file(
            "conffiles",
            0o644,
            "root",
            "root",
            (data.conffiles.join("\n") + "\n").as_bytes(),
        )?;
    }
    ctl.file("md5sums", 0o644, "root", "root", md5sums.as_bytes())?;
    for script in ["postinst", "postrm", "preinst", "prerm"] {
        let text = render(&format!("deb/{script}"), scripts_ctx)?;
        ctl.file(script, 0o755, "root", "root", text.as_bytes())?;
    }
    Ok(ctl.finish()?)
}

/// What the Debian-only documents (copyright, changelog) are rendered with.
fn doc_context(ctx: &BuildContext) -> Context {
    let p = &ctx.manifest.product;
    let mut doc = Context::new();
    doc.insert("product", &serde_json::json!({ "id": p.id, "name": p.name, "maintainer": p.maintainer, "homepage": p.homepage, "vendor": p.vendor, "license": p.license, "version": p.version }));
    doc.insert("deb_version", &version(ctx));
    doc.insert("year", &crate::time::year(ctx.source_date));
    doc.insert("date", &crate::time::rfc2822(ctx.source_date));
    // A paragraph of a Debian control-style field: blank lines as ` .`.
    let license_text = crate::content::licence_text(&ctx.manifest)
        .lines()
        .map(|l| if l.is_empty() { " .".to_string() } else { format!(" {l}") })
        .collect::<Vec<_>>()
        .join("\n");
    doc.insert("license_text", &license_text);
    doc
}

fn depends(elf: &deps::ElfDeps) -> Result<String, PackageError> {
    let mut pkgs = BTreeSet::new();
    for soname in &elf.needed {
        let pkg = deps::debian_package(soname).ok_or_else(|| {
            PackageError::Refused(format!(
                "the agent links {soname}, which omnipack cannot map to a Debian package"
            ))
        })?;
        pkgs.insert(pkg);
    }
    let out: Vec<String> = pkgs
        .into_iter()
        .map(|pkg| match (pkg, elf.glibc) {
            ("libc6", Some((maj, min))) => format!("libc6 (>= {maj}.{min})"),
            (pkg, _) => pkg.to_string(),
        })
        .collect();
    // No init-system-helpers: it is Essential, and the scripts use only what
    // its 1.51 (Ubuntu 18.04) has, as dh_installsystemd adds no dependency
    // either. `(>= 1.54~)` is what dh_installinit adds for `invoke-rc.d
    // --skip-systemd-native`, which we do not use.
    Ok(out.join(", "))
}

/// Legacy Linux packages, optionally with `(<< version)`.
fn legacy_list(ctx: &BuildContext, versioned: bool) -> String {
    ctx.manifest
        .legacy
        .iter()
        .filter_map(|l| l.linux.as_ref())
        .map(|l| {
            if versioned {
                format!("{} (<< {})", l.package, l.below_version)
            } else {
                l.package.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
