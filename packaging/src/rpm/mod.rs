//! .rpm through the `rpm` crate's builder: xz payload, %config(noreplace),
//! %ghost, scriptlets, legacy Obsoletes/Provides, OpenPGP header signature.

use ::rpm::{BuildConfig, CompressionWithLevel, Dependency, FileOptions, PackageBuilder, Scriptlet};

use crate::content::Role;
use crate::linux;
use outpost_manifest::Platform;
use crate::packager::{BuildContext, Built, PackageError, Packager};
use crate::target::{Format, Target};
use crate::templates::render;

pub struct RpmPackager;

/// xz -6: the same codec and level as the deb, readable by rpm >= 4.4 (EL7
/// included), unlike zstd.
const XZ_LEVEL: u32 = 6;

impl Packager for RpmPackager {
    fn format(&self) -> Format {
        Format::Rpm
    }

    fn package(&self, ctx: &BuildContext, target: &Target) -> Result<Built, PackageError> {
        let m = &ctx.manifest;
        let p = &m.product;
        let lp = linux::build(ctx, target, crate::service::systemd::UNIT_DIR)?;
        let arch = target.arch_word();
        let release = p.revision.to_string();
        let sde = u32::try_from(ctx.source_date).map_err(|_| PackageError::Invalid("SOURCE_DATE_EPOCH is past 2106".into()))?;

        let mut b = PackageBuilder::new(&p.id, &p.version, &p.license, arch, &p.summary);
        b.using_config(
            BuildConfig::v4()
                .compression(CompressionWithLevel::Xz(XZ_LEVEL))
                .source_date(sde),
        )
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

        let mut payload = lp.payload.clone();
        payload.file(&format!("{}/copyright", lp.doc_dir), copyright(ctx).into_bytes(), 0o644);
        for e in payload.entries() {
            let opts = || {
                FileOptions::new(&e.path)
                    .permissions(e.mode as u16)
                    .user(e.user)
                    .group(e.group)
            };
            match e.role {
                Role::File if e.path.starts_with(&lp.doc_dir) => b.with_file_contents(e.data.to_vec(), opts().doc())?,
                Role::File => b.with_file_contents(e.data.to_vec(), opts())?,
                Role::ConfigNoReplace => b.with_file_contents(e.data.to_vec(), opts().config().noreplace())?,
                Role::Ghost => b.with_ghost(
                    FileOptions::ghost(&e.path)
                        .permissions(e.mode as u16)
                        .user(e.user)
                        .group(e.group),
                )?,
                Role::Dir => b.with_dir_entry(
                    FileOptions::dir(&e.path)
                        .permissions(e.mode as u16)
                        .user(e.user)
                        .group(e.group),
                )?,
            };
        }
        // Directories that are ours alone, so erase removes them.
        for dir in product_dirs(&payload, &p.id) {
            b.with_dir_entry(FileOptions::dir(&dir).permissions(0o755).user("root").group("root"))?;
        }

        // What rpmbuild declares for an xz payload: an rpm without xz then
        // says so instead of failing to unpack (rpm 4.11 has it, 5.2-1).
        b.requires(Dependency::rpmlib("PayloadIsXz", "5.2-1"));
        for soname in &lp.deps.needed {
            b.requires(Dependency::any(format!("{soname}()(64bit)")));
        }
        if let Some((maj, min)) = lp.deps.glibc {
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

        let sctx = crate::answers_sh::script_context(m, Platform::Linux, &lp.unit)?;
        b.pre_install_script(Scriptlet::new(render("rpm/pre.sh", &sctx)?))
            .post_install_script(Scriptlet::new(render("rpm/post.sh", &sctx)?))
            .pre_uninstall_script(Scriptlet::new(render("rpm/preun.sh", &sctx)?))
            .post_uninstall_script(Scriptlet::new(render("rpm/postun.sh", &sctx)?))
            .post_trans_script(Scriptlet::new(render("rpm/posttrans.sh", &sctx)?));

        let (pkg, signed) = match &ctx.openpgp {
            Some(key) => {
                let signer = key.rpm_signer().map_err(|e| PackageError::Invalid(e.to_string()))?;
                (b.build_and_sign(signer)?, Some("openpgp"))
            }
            None => (b.build()?, None),
        };
        let mut bytes = Vec::new();
        pkg.write(&mut bytes)?;
        Ok(Built {
            file_name: format!("{}-{}-{}.{}.rpm", p.id, p.version, release, arch),
            bytes,
            signed,
        })
    }
}

/// Directories whose path names the product (`/etc/outpost`, `/usr/share/outpost`, ...).
fn product_dirs(payload: &crate::content::Payload, id: &str) -> Vec<String> {
    let declared: Vec<String> = payload
        .entries()
        .iter()
        .filter(|e| e.role == Role::Dir)
        .map(|e| e.path.clone())
        .collect();
    payload
        .directories()
        .into_iter()
        .map(|(d, _)| d)
        .filter(|d| d.rsplit('/').next() == Some(id) && !declared.contains(d))
        .collect()
}

fn copyright(ctx: &BuildContext) -> String {
    let p = &ctx.manifest.product;
    let text = if p.license == "MIT" {
        linux::MIT_LICENSE.to_string()
    } else {
        format!("See {}.", p.homepage)
    };
    format!(
        "{}\nCopyright {} {}\nLicense: {}\n\n{}\n",
        p.name,
        crate::time::year(ctx.source_date),
        p.vendor,
        p.license,
        text
    )
}
