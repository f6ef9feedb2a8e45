//! `omnipack verify DIR` (issue 15, being written).

use std::path::Path;

pub fn command(dir: &Path, _json: bool) -> anyhow::Result<()> {
    anyhow::bail!("{}: omnipack verify is not built yet", dir.display())
}
