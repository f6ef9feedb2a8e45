//! The CycloneDX 1.6 JSON document: the installer as the subject, the
//! binaries it carries, the crates compiled into each, the files it
//! installs, and the dependency graph between them. Built from sorted maps
//! only and stamped with the build's source date, so one build's inputs
//! give one document, byte for byte.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::crates::{CompiledIn, Crate, Origin};
use super::InstalledFile;
use crate::content::Role;

pub const SPEC_VERSION: &str = "1.6";

/// What the document describes.
pub struct Subject<'a> {
    pub installer_file_name: &'a str,
    pub product: &'a outpost_manifest::Product,
    /// `platform-arch-format`, e.g. `windows-x64-msi`.
    pub target: String,
    pub source_date: u64,
}

/// A binary the installer carries, with what it was compiled from.
pub struct Binary {
    /// The workspace package it is built from (`outpost-agent`).
    pub package: &'static str,
    /// The Rust target triples it is compiled for (two for a universal binary).
    pub triples: Vec<&'static str>,
    pub compiled_in: CompiledIn,
    /// Where the package installs it and its SHA-256 there; None for a
    /// binary only the installer itself runs (the MSI custom action).
    pub installed: Option<(String, String)>,
}

impl Binary {
    fn bom_ref(&self) -> String {
        format!("binary:{}", self.package)
    }

    fn component(&self) -> Value {
        let version = self.compiled_in.crates.get(&self.compiled_in.root).map(|c| c.version.as_str()).unwrap_or_default();
        let mut properties = vec![prop("omnipack:rust-target", &self.triples.join(" "))];
        let mut c = json!({
            "type": "application",
            "bom-ref": self.bom_ref(),
            "name": self.package,
            "version": version,
        });
        match &self.installed {
            Some((path, sha256)) => {
                c["hashes"] = json!([sha256_hash(sha256)]);
                properties.push(prop("omnipack:install-path", path));
            }
            None => c["description"] = json!("run by the installer, not installed"),
        }
        c["properties"] = Value::Array(properties);
        c
    }
}

/// The document's bytes: pretty JSON with a final newline, its
/// serialNumber a UUID v5 of the document without it.
pub fn document(subject: &Subject, binaries: &[Binary], installed: &[InstalledFile]) -> Result<Vec<u8>, serde_json::Error> {
    let crates: BTreeMap<&String, &Crate> = binaries.iter().flat_map(|b| &b.compiled_in.crates).collect();
    let mut components: Vec<Value> = binaries.iter().map(Binary::component).collect();
    components.extend(crates.values().map(|c| crate_component(c)));
    components.extend(files(installed));
    let mut bom = json!({
        "$schema": format!("http://cyclonedx.org/schema/bom-{SPEC_VERSION}.schema.json"),
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "version": 1,
        "metadata": metadata(subject),
        "components": components,
        "dependencies": dependencies(binaries),
    });
    let unnumbered = serde_json::to_vec(&bom)?;
    let serial = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, &unnumbered);
    bom["serialNumber"] = json!(format!("urn:uuid:{serial}"));
    let mut bytes = serde_json::to_vec_pretty(&bom)?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn metadata(s: &Subject) -> Value {
    let p = s.product;
    json!({
        "timestamp": crate::time::iso8601(s.source_date, true),
        "tools": {"components": [{
            "type": "application",
            "name": "omnipack",
            "version": env!("CARGO_PKG_VERSION"),
        }]},
        "component": {
            "type": "application",
            "bom-ref": "installer",
            "name": s.installer_file_name,
            "version": p.version,
            "description": format!("{} {} installer ({})", p.name, p.version, s.target),
            "supplier": {"name": p.vendor, "url": [p.homepage]},
            "licenses": [{"expression": p.license}],
            "properties": [prop("omnipack:target", &s.target), prop("omnipack:product-id", &p.id)],
        },
    })
}

fn crate_component(c: &Crate) -> Value {
    let mut v = json!({
        "type": "library",
        "bom-ref": c.purl(),
        "name": c.name,
        "version": c.version,
        "purl": c.purl(),
    });
    if let Some(l) = c.license_expression() {
        v["licenses"] = json!([{"expression": l}]);
    }
    match &c.origin {
        Origin::CratesIo => {
            let mut r = json!({"type": "distribution", "url": format!("https://crates.io/api/v1/crates/{}/{}/download", c.name, c.version)});
            if let Some(sum) = &c.checksum {
                r["hashes"] = json!([sha256_hash(sum)]);
            }
            v["externalReferences"] = json!([r]);
        }
        Origin::Local => v["properties"] = json!([prop("omnipack:cargo-source", "this repository")]),
        Origin::Other(source) => v["properties"] = json!([prop("omnipack:cargo-source", source)]),
    }
    v
}

/// Every file the package carries with content (not the folders, not what
/// the installer writes at install time), by path.
fn files(installed: &[InstalledFile]) -> Vec<Value> {
    installed
        .iter()
        .map(|f| {
            let mut c = json!({
                "type": "file",
                "bom-ref": format!("file:{}", f.path),
                "name": f.path,
                "hashes": [sha256_hash(&f.sha256)],
            });
            if let Some(role) = f.role {
                c["properties"] = json!([prop("omnipack:role", role_name(role))]);
            }
            c
        })
        .collect()
}

/// The installer carries the binaries; each binary is its root crate; each
/// crate depends on what cargo linked it with.
fn dependencies(binaries: &[Binary]) -> Vec<Value> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph.insert("installer".into(), binaries.iter().map(Binary::bom_ref).collect());
    for b in binaries {
        graph.insert(b.bom_ref(), BTreeSet::from([b.compiled_in.root.clone()]));
        for (purl, deps) in &b.compiled_in.edges {
            graph.entry(purl.clone()).or_default().extend(deps.iter().cloned());
        }
    }
    graph.into_iter().map(|(r, deps)| json!({"ref": r, "dependsOn": deps})).collect()
}

fn sha256_hash(hex: &str) -> Value {
    json!({"alg": "SHA-256", "content": hex})
}

fn prop(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Binary => "binary",
        Role::Defaults => "defaults",
        Role::AdminConfig => "administrator-settings",
        Role::Answers => "installer-answers",
        Role::LogRotate => "log-rotation",
        Role::Service => "service-definition",
        Role::FeatureMarker => "feature-marker",
        Role::UninstallScript => "uninstall-script",
        Role::Licence => "licence",
        Role::Extra => "extra",
        Role::Document => "document",
        Role::StateDir => "state-folder",
        Role::LogDir => "log-folder",
        Role::FileList => "self-validation-list",
    }
}
