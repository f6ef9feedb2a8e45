//! What a package installs, independent of the format: every file of the
//! product with its role, owner, mode and the feature it belongs to, as
//! nfpm's content model has it, made complete. The manifest and a target
//! give one [`Payload`]; each packager only maps the roles onto its own
//! mechanisms (deb conffiles, rpm `%config(noreplace)` and `%ghost`, MSI
//! components and IniFile rows, pkg components and scripts). Adding a file
//! to the product is one line in [`Payload::of`], or one `[[file]]` in the
//! manifest.
//!
//! Every payload also carries its self-validation list ([`Role::FileList`]):
//! the SHA-256 of each program file as installed, which `outpost-agent
//! verify` checks. It is rewritten by every change to the payload (a signed
//! agent, a relocated unit), so it always describes the bytes shipped.

use std::sync::Arc;

use outpost_manifest::{settings_file, Feature, Manifest, Platform};
use sha2::{Digest, Sha256};
use tera::Context;

use crate::packager::{BuildContext, Input, PackageError};
use crate::service::{launchd, systemd, ServiceSpec};
use crate::target::Target;
use crate::templates::render;

/// What a file is to the product; the format decides how it is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The agent executable (signed by the formats that sign code).
    Binary,
    /// The settings the package ships: replaced by every upgrade.
    Defaults,
    /// The administrator's settings file: shipped once, never overwritten.
    AdminConfig,
    /// The installer answers: written at install time by the package's own
    /// scripts or tables; the package owns the path but ships no content.
    Answers,
    /// The log rotation rule (Linux): the administrator may edit it.
    LogRotate,
    /// The service definition file (systemd unit, launchd plist).
    Service,
    /// Present when an optional feature is installed (`feature` says which).
    FeatureMarker,
    /// Removes the product where the platform has no uninstaller (macOS).
    UninstallScript,
    /// The copyright and licence text.
    Licence,
    /// A file the manifest adds (`[[file]]`).
    Extra,
    /// A document the format's own policy asks for (Debian's changelog),
    /// added by that format.
    Document,
    /// A folder the agent writes its state in.
    StateDir,
    /// A folder the agent writes its logs in.
    LogDir,
    /// The program files' SHA-256 list the agent validates itself against.
    FileList,
}

/// How a role is installed, in nfpm's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Owned by the package; an upgrade replaces it.
    File,
    /// The administrator's file: an upgrade never overwrites it.
    ConfigNoReplace,
    /// Owned by the package (removal cleans it) but with no content.
    Ghost,
    Dir,
}

impl Role {
    pub fn kind(self) -> Kind {
        match self {
            Role::AdminConfig | Role::LogRotate => Kind::ConfigNoReplace,
            Role::Answers => Kind::Ghost,
            Role::StateDir | Role::LogDir => Kind::Dir,
            _ => Kind::File,
        }
    }

    /// Whether the self-validation list holds files of this role: the
    /// program files the package owns and replaces. Not the administrator's
    /// files (the settings, the log rotation rule), not what the installer
    /// writes (answers, folders), not the feature markers (each is present
    /// only when its feature was chosen) and not documents (minimal systems
    /// drop /usr/share/doc through dpkg's path-exclude).
    pub fn verified(self) -> bool {
        match self {
            Role::Binary | Role::Defaults | Role::Service | Role::UninstallScript | Role::Extra => true,
            Role::AdminConfig | Role::Answers | Role::LogRotate | Role::FeatureMarker => false,
            Role::Licence | Role::Document | Role::StateDir | Role::LogDir | Role::FileList => false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// Absolute path as installed, in the platform's own form.
    pub path: String,
    pub role: Role,
    /// The optional feature that installs it; None: the client itself.
    pub feature: Option<String>,
    pub data: Arc<[u8]>,
    pub mode: u32,
    pub user: &'static str,
    pub group: &'static str,
    /// `data`'s SHA-256, hex, once asked for: the list is rewritten after
    /// every change to the payload, and the agent is megabytes.
    sha256: std::sync::OnceLock<String>,
}

impl Entry {
    /// The SHA-256 of `data`, hex, computed once per content.
    pub fn sha256(&self) -> &str {
        self.sha256.get_or_init(|| hex::encode(Sha256::digest(&self.data)))
    }

    pub fn kind(&self) -> Kind {
        self.role.kind()
    }

    /// The last component of the path, `/` or `\` separated.
    pub fn file_name(&self) -> &str {
        self.path.rsplit(['/', '\\']).next().unwrap_or(&self.path)
    }
}

#[derive(Debug, Clone)]
pub struct Payload {
    pub platform: Platform,
    entries: Vec<Entry>,
    /// Where the self-validation list is installed (`Layout::file_list`).
    file_list: String,
}

impl Payload {
    /// Everything `target`'s package installs: the manifest's layout, the
    /// agent and the `[[file]]` entries from `ctx`.
    pub fn of(ctx: &BuildContext, target: &Target) -> Result<Payload, PackageError> {
        let (m, platform) = (&ctx.manifest, target.platform);
        let agent = ctx.binary(Input::Agent, target)?;
        let l = m.layout(platform);
        let spec = ServiceSpec::from_manifest(m, platform);
        let mut p = Payload { platform, entries: Vec::new(), file_list: l.file_list() };
        p.add(Role::Binary, &l.binary, agent, 0o755);
        p.text(Role::Defaults, &l.defaults_file, settings_file::render_defaults(m, platform), 0o644);
        p.text(Role::AdminConfig, &l.config_file, settings_file::render_admin_template(m, platform), 0o644);
        p.add(Role::Answers, &l.answers_file, Arc::from(&[][..]), 0o644);
        p.add(Role::StateDir, &l.state_dir, Arc::from(&[][..]), 0o755);
        p.add(Role::LogDir, &l.log_dir, Arc::from(&[][..]), 0o755);
        match platform {
            Platform::Linux => {
                let unit = format!("{}/{}", systemd::UNIT_DIR, systemd::unit_name(&spec));
                p.text(Role::Service, &unit, systemd::render_unit(&spec)?, 0o644);
                p.text(Role::LogRotate, &format!("/etc/logrotate.d/{}", m.product.id), logrotate(&l.log_dir)?, 0o644);
                p.text(Role::Licence, &format!("/usr/share/doc/{}/copyright", m.product.id), licence(m, ctx.source_date), 0o644);
            }
            Platform::Macos => {
                let label = &m.service.launchd_label;
                p.text(Role::Service, &launchd::plist_path(label), launchd::render_daemon(&spec, label, &l.log_dir)?, 0o644);
                let script = crate::macos::scripts::uninstall(m)?;
                p.text(Role::UninstallScript, &crate::macos::scripts::uninstall_path(m), script, 0o755);
            }
            Platform::Windows => {}
        }
        for f in separately_installed_features(m, target) {
            let path = feature_marker_path(m, platform, &f.id);
            p.text(Role::FeatureMarker, &path, feature_marker(platform, f), 0o644);
            p.entries.last_mut().expect("just added").feature = Some(f.id.clone());
        }
        for (f, dest) in m.files_on(platform) {
            let data = ctx.files.get(&f.source).cloned().ok_or_else(|| {
                PackageError::Refused(format!("file `{}`: not read by this build", f.source.display()))
            })?;
            p.add(Role::Extra, dest, data, f.mode);
        }
        p.seal();
        Ok(p)
    }

    /// Rewrites the self-validation list from the entries as they are now:
    /// `sha256  path` lines as sha256sum writes them, sorted by path, with
    /// `\n` line ends on every platform. Called by every method that
    /// changes an entry, so a packager cannot ship a stale list.
    fn seal(&mut self) {
        self.entries.retain(|e| e.role != Role::FileList);
        let mut listed: Vec<&Entry> = self.entries.iter().filter(|e| e.role.verified()).collect();
        listed.sort_by(|a, b| a.path.cmp(&b.path));
        let text: String = listed.iter().map(|e| format!("{}  {}\n", e.sha256(), e.path)).collect();
        let path = self.file_list.clone();
        self.add(Role::FileList, &path, Arc::from(text.into_bytes()), 0o644);
    }

    fn add(&mut self, role: Role, path: &str, data: Arc<[u8]>, mode: u32) {
        self.entries.push(Entry {
            path: path.to_string(),
            role,
            feature: None,
            data,
            mode,
            user: "root",
            group: "root",
            sha256: std::sync::OnceLock::new(),
        });
    }

    /// A text file, with the platform's line ends.
    fn text(&mut self, role: Role, path: &str, text: String, mode: u32) {
        let text = if self.platform == Platform::Windows { text.replace('\n', "\r\n") } else { text };
        self.add(role, path, Arc::from(text.into_bytes()), mode);
    }

    /// Adds a document of the format's own (a changelog its policy asks for).
    pub fn add_document(&mut self, path: &str, data: Vec<u8>) {
        self.add(Role::Document, path, Arc::from(data), 0o644);
        self.seal();
    }

    /// Entries sorted by path, so every format is written in one stable order.
    pub fn entries(&self) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = self.entries.iter().collect();
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v
    }

    /// Replaces the content of the entries with `role` (the agent, once signed).
    pub fn replace_data(&mut self, role: Role, data: Vec<u8>) {
        let data: Arc<[u8]> = Arc::from(data);
        for e in self.entries.iter_mut().filter(|e| e.role == role) {
            e.data = data.clone();
            e.sha256 = std::sync::OnceLock::new();
        }
        self.seal();
    }

    /// The one entry with `role`, for the roles a package has once.
    pub fn one(&self, role: Role) -> &Entry {
        self.entries.iter().find(|e| e.role == role).unwrap_or_else(|| panic!("every payload has a {role:?}"))
    }

    /// Relocates the entries with `role` into `dir` (a format's convention,
    /// e.g. where a distribution's tools look for systemd units).
    pub fn move_into(&mut self, role: Role, dir: &str) {
        for e in self.entries.iter_mut().filter(|e| e.role == role) {
            e.path = format!("{dir}/{}", e.file_name());
        }
        self.seal();
    }

    /// Every directory that holds an entry, parents included, `/` excluded,
    /// with the explicitly declared ones' modes (POSIX paths).
    pub fn directories(&self) -> Vec<(String, u32)> {
        let mut dirs = std::collections::BTreeMap::new();
        for e in &self.entries {
            if e.kind() == Kind::Dir {
                dirs.insert(e.path.clone(), e.mode);
            }
            let mut p = std::path::Path::new(&e.path).parent();
            while let Some(d) = p {
                let s = d.to_string_lossy().to_string();
                if s == "/" {
                    break;
                }
                dirs.entry(s).or_insert(0o755);
                p = d.parent();
            }
        }
        dirs.into_iter().collect()
    }
}

/// The optional features a package installs one by one (an MSI feature, a
/// pkg choice), each marked by a file the agent looks for. Linux packages
/// install every feature; the settings alone turn one on there.
fn separately_installed_features<'m>(m: &'m Manifest, target: &Target) -> Vec<&'m Feature> {
    let arch = target.arch_word();
    match target.platform {
        Platform::Linux => Vec::new(),
        Platform::Macos => m.features_on(Platform::Macos).filter(|f| !f.required).collect(),
        Platform::Windows => m
            .features_on(Platform::Windows)
            .filter(|f| !f.required && f.exists_on_windows_arch(arch))
            .collect(),
    }
}

/// `<folder of the agent>/features/<id>.feature`.
pub fn feature_marker_path(m: &Manifest, platform: Platform, feature: &str) -> String {
    let binary = &m.layout(platform).binary;
    let sep = if platform == Platform::Windows { '\\' } else { '/' };
    let dir = binary.rsplit_once(sep).map(|(d, _)| d).unwrap_or_default();
    format!("{dir}{sep}features{sep}{feature}.feature")
}

/// What a feature's marker says. The two texts predate this model and are
/// kept byte for byte (the packages must not change in a redesign); the
/// agent reads only the file's presence.
fn feature_marker(platform: Platform, f: &Feature) -> String {
    match platform {
        Platform::Windows => format!("{}\n{}\n", f.title, f.description),
        _ => format!("# {} is installed; `{}` in the settings turns it on.\n", f.title, f.enabled_by.as_deref().unwrap_or("-")),
    }
}

fn logrotate(log_dir: &str) -> Result<String, PackageError> {
    let mut ctx = Context::new();
    ctx.insert("log_dir", log_dir);
    Ok(render("linux/logrotate", &ctx)?)
}

/// The copyright notice with the licence text; the year is the build's.
fn licence(m: &Manifest, source_date: u64) -> String {
    let p = &m.product;
    let year = crate::time::year(source_date);
    format!("{}\nCopyright {year} {}\nLicense: {}\n\n{}\n", p.name, p.vendor, p.license, licence_text(m))
}

/// The licence's text: MIT's in full, any other by reference.
pub fn licence_text(m: &Manifest) -> String {
    let p = &m.product;
    if p.license == "MIT" {
        MIT_LICENSE.to_string()
    } else {
        format!("See {}.", p.homepage)
    }
}

const MIT_LICENSE: &str = "\
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
