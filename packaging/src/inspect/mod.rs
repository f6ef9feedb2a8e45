//! `omnipack inspect FILE` and `omnipack diff A B` (issue 15, being written).

use std::path::Path;

pub fn command(file: &Path, _json: bool) -> anyhow::Result<()> {
    anyhow::bail!("{}: omnipack inspect is not built yet", file.display())
}

pub fn diff_command(a: &Path, b: &Path, _json: bool) -> anyhow::Result<()> {
    anyhow::bail!("{} {}: omnipack diff is not built yet", a.display(), b.display())
}
