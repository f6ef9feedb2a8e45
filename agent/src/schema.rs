//! The product manifest, embedded at build time: the agent validates with the
//! very schema the installers were built from.

use std::sync::OnceLock;

use outpost_manifest::Manifest;

const MANIFEST: &str = include_str!("../../packaging/outpost.toml");

pub fn manifest() -> &'static Manifest {
    static M: OnceLock<Manifest> = OnceLock::new();
    // omnipack validates the same text before any package is built, and a
    // unit test below parses it, so a failure here is a build defect.
    M.get_or_init(|| Manifest::parse(MANIFEST, "embedded outpost.toml").expect("embedded manifest is valid"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_manifest_parses() {
        assert_eq!(super::manifest().product.id, "outpost");
    }
}
