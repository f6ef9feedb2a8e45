//! What the deb and rpm packages share: the payload, the systemd unit, the
//! installer-answers shell library and the script context. Each format only
//! maps this onto its own mechanisms.

pub mod deps;

use outpost_manifest::{settings_file, Platform};
use tera::Context;

use crate::content::Payload;
use crate::packager::{BuildContext, PackageError};
use crate::service::{systemd, ServiceSpec};
use crate::target::Target;
use crate::templates::render;

pub struct LinuxPackage {
    pub payload: Payload,
    pub deps: deps::ElfDeps,
    pub unit: String,
    pub doc_dir: String,
}

/// The payload both formats share; `unit_dir` is where the format installs
/// the systemd unit (see `crate::deb::UNIT_DIR`).
pub fn build(ctx: &BuildContext, target: &Target, unit_dir: &str) -> Result<LinuxPackage, PackageError> {
    let m = &ctx.manifest;
    let layout = m.layout(Platform::Linux);
    let agent = ctx.agent_for(target)?;
    let deps = deps::read(&agent).map_err(PackageError::Invalid)?;
    let spec = ServiceSpec::from_manifest(m, Platform::Linux);
    let doc_dir = format!("/usr/share/doc/{}", m.product.id);

    let mut p = Payload::default();
    p.file(&layout.binary, agent, 0o755)
        .file(
            &layout.defaults_file,
            settings_file::render_defaults(m, Platform::Linux).into_bytes(),
            0o644,
        )
        .config_noreplace(
            &layout.config_file,
            settings_file::render_admin_template(m, Platform::Linux).into_bytes(),
            0o644,
        )
        .ghost(&layout.answers_file, 0o644)
        .config_noreplace(
            &format!("/etc/logrotate.d/{}", m.product.id),
            logrotate(&layout.log_dir)?.into_bytes(),
            0o644,
        )
        .file(
            &format!("{unit_dir}/{}", systemd::unit_name(&spec)),
            systemd::render_unit(&spec)?.into_bytes(),
            0o644,
        )
        .dir(&layout.state_dir, 0o755)
        .dir(&layout.log_dir, 0o755);
    Ok(LinuxPackage {
        payload: p,
        deps,
        unit: systemd::unit_name(&spec),
        doc_dir,
    })
}

fn logrotate(log_dir: &str) -> Result<String, PackageError> {
    let mut ctx = Context::new();
    ctx.insert("log_dir", log_dir);
    Ok(render("linux/logrotate", &ctx)?)
}

pub const MIT_LICENSE: &str = "\
Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the \"Software\"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.";
