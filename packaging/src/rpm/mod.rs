//! .rpm through the `rpm` crate's builder: xz payload, %config(noreplace),
//! %ghost, scriptlets, legacy Obsoletes/Provides, OpenPGP header signature.
//! The builder writes the payload uncompressed; [`payload`] compresses it on
//! every core (see there why not through the builder's own xz).

mod payload;

use ::rpm::{BuildConfig, CompressionWithLevel, Dependency, FileOptions, FileOptionsBuilder, PackageBuilder, Scriptlet};
use outpost_manifest::{Manifest, Platform};

use crate::content::{Kind, Payload, Role};
use crate::linux;
use crate::packager::{BuildContext, Built, PackageError, Packager};
use crate::release::{Scheme, Signature};
use crate::sign::Signer as _;
use crate::target::{Arch, Format, Target};
use crate::templates::render;

pub struct RpmPackager;

/// xz -6: the same codec and level as the deb, readable by rpm >= 4.4 (EL7
/// included), unlike zstd.
const XZ_LEVEL: u32 = 6;

impl Packager for RpmPackager {
    fn format(&self) -> Format {
        Format::Rpm
    }

    fn archs(&self) -> &'static [Arch] {
        &[Arch::X86_64]
    }

    fn scheme(&self) -> Option<Scheme> {
        Some(Scheme::OpenPgp)
    }

    fn check(&self, m: &Manifest) -> Result<(), PackageError> {
        linux::check(m)
    }

    fn package(&self, ctx: &BuildContext, target: &Target) -> Result<Built, PackageError> {
        let p = &ctx.manifest.product;
        let lp = linux::build(ctx, target)?;
        let mut b = header(ctx, target)?;
        files(&mut b, &lp.payload, &p.id)?;
        dependencies(&mut b, &ctx.manifest, &lp.deps);
        let sctx = crate::answers_sh::script_context(&ctx.manifest, Platform::Linux, &lp.unit)?;
        b.pre_install_script(Scriptlet::new(render("rpm/pre.sh", &sctx)?))
            .post_install_script(Scriptlet::new(render("rpm/post.sh", &sctx)?))
            .pre_uninstall_script(Scriptlet::new(render("rpm/preun.sh", &sctx)?))
            .post_uninstall_script(Scriptlet::new(render("rpm/postun.sh", &sctx)?))
            .post_trans_script(Scriptlet::new(render("rpm/posttrans.sh", &sctx)?));

        let mut pkg = payload::xz(b.build()?, XZ_LEVEL)?;
        let signature = match &ctx.openpgp {
            Some(key) => {
                pkg.sign_with_timestamp(key.rpm_signer()?, signature_time(ctx.source_date))?;
                Signature::by(Scheme::OpenPgp, key.is_test_key())
            }
            None => Signature::Unsigned,
        };
        let mut bytes = Vec::new();
        pkg.write(&mut bytes)?;
        Ok(Built {
            file_name: format!("{}-{}-{}.{}.rpm", p.id, p.version, p.revision, target.arch_word()),
            bytes,
            signature,
        })
    }
}

/// When the signature says it was made: the build's date, unless that is in
/// the future (what the crate's `build_and_sign` does).
fn signature_time(source_date: u64) -> u32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u32::try_from(source_date.min(now)).unwrap_or(u32::MAX)
}

/// The header's identity, a fixed build host and the changelog.
fn header(ctx: &BuildContext, target: &Target) -> Result<PackageBuilder, PackageError> {
    let p = &ctx.manifest.product;
    let release = p.revision.to_string();
    let sde = u32::try_from(ctx.source_date).map_err(|_| PackageError::Refused("SOURCE_DATE_EPOCH is past 2106".into()))?;
    let mut b = PackageBuilder::new(&p.id, &p.version, &p.license, target.arch_word(), &p.summary);
    b.using_config(BuildConfig::v4().compression(CompressionWithLevel::None).source_date(sde))
        .release(release.clone())
        .description(&p.description)
        .url(&p.homepage)
        .vendor(&p.vendor)
        .packager(&p.maintainer)
        .group("System Environment/Daemons")
        // A fixed build host keeps the header reproducible.
        .build_host("omnipack")
        .add_changelog_entry(
            format!("{} - {}-{release}", p.maintainer, p.version),
            format!("- Release {}, built by omnipack.", p.version),
            sde,
        );
    Ok(b)
}

/// Every payload entry, by its kind: `%config(noreplace)`, `%ghost`,
/// `%dir`, `%doc` for the licence.
fn files(b: &mut PackageBuilder, payload: &Payload, id: &str) -> Result<(), PackageError> {
    for e in payload.entries() {
        let opts = |o: FileOptionsBuilder| o.permissions(e.mode as u16).user(e.user).group(e.group);
        match (e.role, e.kind()) {
            (Role::Licence, _) => b.with_file_contents(e.data.to_vec(), opts(FileOptions::new(&e.path)).doc())?,
            (_, Kind::File) => b.with_file_contents(e.data.to_vec(), opts(FileOptions::new(&e.path)))?,
            (_, Kind::ConfigNoReplace) => {
                b.with_file_contents(e.data.to_vec(), opts(FileOptions::new(&e.path)).config().noreplace())?
            }
            (_, Kind::Ghost) => b.with_ghost(opts(FileOptions::ghost(&e.path)))?,
            (_, Kind::Dir) => b.with_dir_entry(opts(FileOptions::dir(&e.path)))?,
        };
    }
    // Directories that are ours alone, so erase removes them.
    for dir in product_dirs(payload, id) {
        b.with_dir_entry(FileOptions::dir(&dir).permissions(0o755).user("root").group("root"))?;
    }
    Ok(())
}

fn dependencies(b: &mut PackageBuilder, m: &Manifest, deps: &linux::deps::ElfDeps) {
    // What rpmbuild declares for an xz payload: an rpm without xz then
    // says so instead of failing to unpack (rpm 4.11 has it, 5.2-1).
    b.requires(Dependency::rpmlib("PayloadIsXz", "5.2-1"));
    for soname in &deps.needed {
        b.requires(Dependency::any(format!("{soname}()(64bit)")));
    }
    if let Some((maj, min)) = deps.glibc {
        b.requires(Dependency::any(format!("libc.so.6(GLIBC_{maj}.{min})(64bit)")));
    }
    // The package ships a logrotate rule; logrotate itself is optional.
    b.recommends(Dependency::any("logrotate"));
    for l in m.legacy.iter().filter_map(|l| l.linux.as_ref()) {
        // Fedora's rename rule: obsolete every legacy release, provide
        // the name at the first version we obsolete no longer.
        b.obsoletes(Dependency::less(&l.package, &l.below_version));
        b.provides(Dependency::eq(&l.package, &l.below_version));
    }
}

/// Directories whose path names the product (`/etc/outpost`, `/usr/share/outpost`, ...).
fn product_dirs(payload: &Payload, id: &str) -> Vec<String> {
    let declared: Vec<String> = payload
        .entries()
        .iter()
        .filter(|e| e.kind() == Kind::Dir)
        .map(|e| e.path.clone())
        .collect();
    payload
        .directories()
        .into_iter()
        .map(|(d, _)| d)
        .filter(|d| d.rsplit('/').next() == Some(id) && !declared.contains(d))
        .collect()
}
