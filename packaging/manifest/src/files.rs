//! `[[file]]`: a file the product installs beyond the agent and its
//! configuration (documentation, a helper script), with where it goes on
//! each platform. Every format installs it from the one content model; a
//! format that cannot place it somewhere says so (`omnipack check`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::{Layout, ManifestError, Platform};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    /// Relative to the manifest's folder.
    pub source: String,
    pub linux: Option<String>,
    pub macos: Option<String>,
    pub windows: Option<String>,
    /// Octal permission bits, `"0644"` (the default) or `"0755"`.
    pub mode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductFile {
    /// The file to install, relative to the manifest's folder.
    pub source: PathBuf,
    /// Where it is installed, per platform it is installed on.
    pub destinations: BTreeMap<Platform, String>,
    pub mode: u32,
}

impl ProductFile {
    pub fn destination(&self, platform: Platform) -> Option<&str> {
        self.destinations.get(&platform).map(String::as_str)
    }
}

pub(crate) fn validate(
    raw: Vec<RawFile>,
    file: &str,
    layouts: &BTreeMap<Platform, Layout>,
) -> Result<Vec<ProductFile>, ManifestError> {
    let mut taken: BTreeMap<(Platform, String), String> = BTreeMap::new();
    for (platform, l) in layouts {
        for p in [
            &l.binary,
            &l.defaults_file,
            &l.config_file,
            &l.answers_file,
            &l.staged_answers,
            &l.state_dir,
            &l.log_dir,
        ] {
            taken.insert((*platform, p.to_ascii_lowercase()), format!("layout.{platform}"));
        }
    }
    let mut out = Vec::new();
    for (i, f) in raw.into_iter().enumerate() {
        let key = |k: &str| format!("file[{i}].{k}");
        let err = |k: &str, reason: String| ManifestError::new(file, key(k), reason);
        if f.source.is_empty() || f.source.starts_with('/') || f.source.split(['/', '\\']).any(|c| c == "..") {
            return Err(err(
                "source",
                format!("`{}`: give a path inside the manifest's folder, relative to it", f.source),
            ));
        }
        let mode = match f.mode.as_deref().unwrap_or("0644") {
            "0644" => 0o644,
            "0755" => 0o755,
            m => return Err(err("mode", format!("`{m}`: allowed are \"0644\" and \"0755\""))),
        };
        let mut destinations = BTreeMap::new();
        for (platform, dest) in [
            (Platform::Linux, f.linux),
            (Platform::Macos, f.macos),
            (Platform::Windows, f.windows),
        ] {
            let Some(dest) = dest else { continue };
            let k = platform.as_str();
            if !layouts.contains_key(&platform) {
                return Err(err(k, format!("the product does not ship on {platform}")));
            }
            let parts = dest.split(['/', '\\']);
            if !platform.is_absolute_path(&dest) || parts.clone().any(|c| c == ".." || c == ".") || dest.ends_with(['/', '\\']) {
                return Err(err(k, format!("`{dest}`: give an absolute path of a file on {platform}")));
            }
            if dest.chars().any(|c| c.is_control()) {
                return Err(err(k, "a control character in the path".into()));
            }
            if let Some(owner) = taken.insert((platform, dest.to_ascii_lowercase()), key(k)) {
                return Err(err(k, format!("`{dest}` is already installed by `{owner}`")));
            }
            destinations.insert(platform, dest);
        }
        if destinations.is_empty() {
            return Err(err(
                "linux",
                "give where the file goes on at least one platform (linux, macos, windows)".into(),
            ));
        }
        out.push(ProductFile {
            source: PathBuf::from(f.source),
            destinations,
            mode,
        });
    }
    Ok(out)
}
