//! Windows Installer packages (x64 and x86) from the product manifest, on
//! the shared MSI database compiler in `crate::msi`.

mod conditions;
pub mod product;
pub mod rows;

use outpost_manifest::Manifest;

use crate::content::Role;
use crate::packager::{BuildContext, Built, Input, PackageError, Packager};
use crate::release::{Scheme, Signature};
use crate::target::{Arch, Format, Target};

pub struct MsiPackager;

impl Packager for MsiPackager {
    fn format(&self) -> Format {
        Format::Msi
    }

    fn archs(&self) -> &'static [Arch] {
        &[Arch::X86_64, Arch::X86]
    }

    fn inputs(&self) -> &'static [Input] {
        &[Input::Agent, Input::MsiCustomAction]
    }

    fn scheme(&self) -> Option<Scheme> {
        Some(Scheme::Authenticode)
    }

    fn check(&self, m: &Manifest) -> Result<(), PackageError> {
        product::validate(m)
    }

    fn package(&self, ctx: &BuildContext, target: &Target) -> Result<Built, PackageError> {
        let p = &ctx.manifest.product;
        let mut payload = ctx.payload(target)?;
        let mut check_dll = ctx.binary(Input::MsiCustomAction, target)?.to_vec();
        // The executable is signed before it goes into the cabinet, so the
        // installed file carries its own signature; so is the custom action
        // DLL that msiexec loads from the Binary table.
        if let Some(signer) = &ctx.authenticode {
            let agent = signer.sign_bytes(&payload.one(Role::Binary).data, "exe")?;
            payload.replace_data(Role::Binary, agent);
            check_dll = signer.sign_bytes(&check_dll, "dll")?;
        }
        let db = product::compile(ctx, target, &payload, &check_dll)?;
        let mut bytes = db.to_bytes()?;
        let mut signature = Signature::Unsigned;
        if let Some(signer) = &ctx.authenticode {
            bytes = signer.sign_bytes(&bytes, "msi")?;
            signature = Signature::by(Scheme::Authenticode, signer.is_test_key());
        }
        Ok(Built { file_name: format!("{}-{}-{}.msi", p.id, p.version, target.arch_word()), bytes, signature })
    }
}
