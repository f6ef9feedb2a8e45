//! Deterministic GUIDs. ProductCode, PackageCode and Component GUIDs derive
//! from the product's identity and version by UUIDv5, never from randomness:
//! two builds of the same inputs must give the same bytes, and a component's
//! GUID must stay the same for as long as its key path does (Windows
//! Installer's component rules).
//!
//! Each caller picks a `namespace` naming what the GUID is for (e.g.
//! `"component"`, `"product-code"`, `"package-code"`) and a `name` holding
//! everything it must change with (e.g. `"x64/Client/agent.exe"`, or the
//! version for a ProductCode). The namespace itself is a UUIDv5 of that word
//! under [`PROJECT_NAMESPACE`], so equal names in different namespaces never
//! give equal GUIDs.

use uuid::Uuid;

/// UUIDv5 of the URL `https://outpost.example/omnipack/msi` in the RFC 4122
/// URL namespace. Fixed forever: changing it would change every ProductCode
/// and component GUID, and break upgrades of installed products.
pub const PROJECT_NAMESPACE: Uuid = Uuid::from_u128(0xed1318d9_c53d_544a_abde_174d227da8dc);

/// Upper-case, braced UUIDv5, the form Windows Installer's GUID columns and
/// properties require, e.g. `{AF8529F7-2523-5689-B997-92E0BAAFC5C9}`.
pub fn guid(namespace: &str, name: &str) -> String {
    let ns = Uuid::new_v5(&PROJECT_NAMESPACE, namespace.as_bytes());
    braced(&Uuid::new_v5(&ns, name.as_bytes()))
}

/// `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`, upper case.
pub fn braced(uuid: &Uuid) -> String {
    format!("{{{}}}", uuid.hyphenated()).to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_namespace_is_the_documented_derivation() {
        assert_eq!(
            PROJECT_NAMESPACE,
            Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://outpost.example/omnipack/msi")
        );
    }

    #[test]
    fn guids_are_stable_braced_upper_case_v5() {
        // Pinned value (cross-checked with Python's uuid.uuid5): a change here
        // changes installed products' component GUIDs.
        assert_eq!(
            guid("component", "Client.agent.exe"),
            "{AF8529F7-2523-5689-B997-92E0BAAFC5C9}"
        );
        let g = guid("product-code", "2.1.0");
        assert_eq!(g, guid("product-code", "2.1.0"));
        assert_ne!(g, guid("package-code", "2.1.0"));
        assert!(::msi::Category::Guid.validate(&g), "{g}");
        assert_eq!(Uuid::parse_str(&g[1..37]).map(|u| u.get_version_num()).ok(), Some(5));
    }
}
