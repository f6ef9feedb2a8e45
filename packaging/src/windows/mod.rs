//! Windows Installer packages (x64 and x86) from the product manifest, on
//! the shared MSI database compiler in `crate::msi`.

mod conditions;
pub mod product;
pub mod rows;

use crate::packager::{BuildContext, Built, PackageError, Packager};
use crate::target::{Format, Target};

pub struct MsiPackager;

impl Packager for MsiPackager {
    fn format(&self) -> Format {
        Format::Msi
    }

    fn package(&self, ctx: &BuildContext, target: &Target) -> Result<Built, PackageError> {
        let p = &ctx.manifest.product;
        let mut agent = ctx.agent_for(target)?.to_vec();
        let mut check_dll = ctx.msi_ca_for(target)?.to_vec();
        // The executable is signed before it goes into the cabinet, so the
        // installed file carries its own signature; so is the custom action
        // DLL that msiexec loads from the Binary table.
        if let Some(signer) = &ctx.authenticode {
            agent = signer.sign_bytes(&agent, "exe")?;
            check_dll = signer.sign_bytes(&check_dll, "dll")?;
        }
        let db = product::compile(ctx, target, &agent, &check_dll)?;
        let mut bytes = db.to_bytes()?;
        let mut signed = None;
        if let Some(signer) = &ctx.authenticode {
            bytes = signer.sign_bytes(&bytes, "msi")?;
            signed = Some("authenticode");
        }
        Ok(Built { file_name: format!("{}-{}-{}.msi", p.id, p.version, target.arch_word()), bytes, signed })
    }
}
