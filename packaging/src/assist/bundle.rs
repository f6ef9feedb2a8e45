//! Where `assist` and `patch` find the release and the product manifest when
//! the command line does not say: the repository's layout on a build machine
//! (`dist`, `packaging/outpost.toml`, relative to the current folder), else
//! the folder holding the running omnipack, which on an administrator's
//! Windows machine is the extracted bundle (omnipack.exe, outpost.toml, the
//! MSIs and their release.json), wherever the administrator runs it from.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// The release folder on a build machine.
pub const DIST: &str = "dist";
/// The product manifest in the repository: `packaging/outpost.toml`.
pub const REPO_MANIFEST: [&str; 2] = ["packaging", "outpost.toml"];
/// The product manifest's name in the assistant's bundle.
pub const BUNDLE_MANIFEST: &str = "outpost.toml";

/// The folder holding the running executable.
fn exe_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the running omnipack")?;
    Ok(exe.parent().map(Path::to_path_buf).unwrap_or_default())
}

/// `--from`, else `dist` when it has a release.json, else the executable's
/// folder when it has one.
pub fn release_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match given {
        Some(d) => Ok(d),
        None => first_with(
            &[PathBuf::from(DIST), exe_dir()?],
            crate::release::FILE_NAME,
            "--from FOLDER (the folder holding the MSIs and their release.json)",
        ),
    }
}

/// `--manifest`, else packaging/outpost.toml when it exists, else
/// outpost.toml beside the executable.
pub fn manifest(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match given {
        Some(f) => Ok(f),
        None => {
            let repo: PathBuf = REPO_MANIFEST.iter().collect();
            if repo.is_file() {
                return Ok(repo);
            }
            let beside = exe_dir()?.join(BUNDLE_MANIFEST);
            if beside.is_file() {
                return Ok(beside);
            }
            bail!(
                "no product manifest: looked for {} (in {}) and {} (beside omnipack); pass --manifest FILE",
                repo.display(),
                current_dir(),
                beside.display()
            )
        }
    }
}

/// The first of `dirs` that holds `file`, or an error naming every place
/// looked at and the option that says where.
fn first_with(dirs: &[PathBuf], file: &str, option: &str) -> anyhow::Result<PathBuf> {
    if let Some(d) = dirs.iter().find(|d| d.join(file).is_file()) {
        return Ok(d.clone());
    }
    let looked: Vec<String> = dirs.iter().map(|d| d.join(file).display().to_string()).collect();
    bail!(
        "no {file}: looked for {} (the current folder is {}); pass {option}",
        looked.join(" and "),
        current_dir()
    )
}

fn current_dir() -> String {
    std::env::current_dir().map_or_else(|e| format!("unknown: {e}"), |d| d.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_folder_with_the_file_wins_and_a_miss_names_every_place() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("dist"), t.path().join("bundle"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let e = first_with(&[a.clone(), b.clone()], "release.json", "--from X")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!(
                "no release.json: looked for {} and {}",
                a.join("release.json").display(),
                b.join("release.json").display()
            )),
            "{e}"
        );
        assert!(e.ends_with("; pass --from X"), "{e}");
        std::fs::write(b.join("release.json"), "{}").unwrap();
        assert_eq!(first_with(&[a.clone(), b.clone()], "release.json", "").unwrap(), b);
        std::fs::write(a.join("release.json"), "{}").unwrap();
        assert_eq!(first_with(&[a.clone(), b], "release.json", "").unwrap(), a);
    }
}
