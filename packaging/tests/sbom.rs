//! The CycloneDX SBOM of every installer (issue 15), made in-process from
//! stand-in binaries and the real `cargo metadata` of this workspace, and
//! checked by what we did not write: the CycloneDX JSON schema through
//! `cyclonedx-python-lib`'s validator (PyPI, in the venv `validators_need`
//! in scripts/lib.sh makes), the crate lists against `cargo tree`, the
//! files' hashes against what `rpm` and `msiextract` read from the packages.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{ok, run, text, tool};
use omnipack::content::{Kind, Payload};
use omnipack::packager::{BuildContext, Built};
use omnipack::sbom::{self, Crates};
use omnipack::target::{Format, Target};
use serde_json::Value;
use sha2::{Digest, Sha256};

use common::in_process::MANIFEST;

fn context() -> BuildContext {
    common::in_process::context(MANIFEST)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Every target of every format, the packagers' own list.
fn targets() -> Vec<Target> {
    omnipack::formats::ALL.iter().flat_map(|p| p.targets()).collect()
}

fn resolve() -> Crates {
    let triples: BTreeSet<&str> = targets().iter().flat_map(sbom::triples).collect();
    Crates::resolve(&workspace_root(), &triples.into_iter().collect::<Vec<_>>(), None).unwrap()
}

struct Made {
    target: Target,
    built: Built,
    /// The content model's payload the package was made from (the
    /// stand-ins are unsigned, so the agent keeps its bytes).
    installed: Payload,
    sbom: Vec<u8>,
}

/// Every installer and its SBOM, made once for all the tests here.
fn made() -> &'static [Made] {
    static MADE: OnceLock<Vec<Made>> = OnceLock::new();
    MADE.get_or_init(|| {
        let (ctx, crates) = (context(), resolve());
        targets()
            .into_iter()
            .map(|target| {
                let built = omnipack::formats::packager(target.format).package(&ctx, &target).unwrap();
                let installed = ctx.payload(&target).unwrap();
                let sbom = sbom::installer_sbom(&ctx, &target, &built.file_name, &built.bytes, &crates).unwrap_or_else(|e| panic!("{target}: {e}"));
                Made { target, built, installed, sbom }
            })
            .collect()
    })
}

fn json(m: &Made) -> Value {
    serde_json::from_slice(&m.sbom).unwrap()
}

/// The venv python `validators_need` installed cyclonedx-python-lib into.
fn validator_python() -> PathBuf {
    let dir = std::env::var_os("OMNIPACK_VALIDATORS").unwrap_or_else(|| {
        panic!("OMNIPACK_VALIDATORS is not set: run scripts/test, or `. scripts/lib.sh; validators_need` and export it")
    });
    let python = Path::new(&dir).join("venv/bin/python");
    assert!(python.is_file(), "{} is missing: `. scripts/lib.sh; validators_need` installs cyclonedx-python-lib there", python.display());
    python
}

const VALIDATE: &str = r#"
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
version = {"1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}[sys.argv[1]]
failed = 0
for path in sys.argv[2:]:
    error = JsonStrictValidator(version).validate_str(open(path, encoding="utf-8").read())
    # The message alone: the error's text carries the whole schema.
    print(f"{path}: {'valid' if error is None else getattr(error.data, 'message', error)}")
    failed += error is not None
sys.exit(1 if failed else 0)
"#;

/// Runs the CycloneDX strict JSON schema validator on each of `docs` (one
/// process each, side by side: a document takes the validator seconds);
/// whether it accepted them all and what it said.
fn validate(docs: &[(String, Vec<u8>)]) -> (bool, String) {
    let python = validator_python();
    let dir = tempfile::tempdir().unwrap();
    let outputs: Vec<std::process::Output> = std::thread::scope(|s| {
        let runs: Vec<_> = docs
            .iter()
            .map(|(name, bytes)| {
                let path = dir.path().join(name);
                std::fs::write(&path, bytes).unwrap();
                let python = &python;
                s.spawn(move || run(tool(python).arg("-c").arg(VALIDATE).arg(sbom::SPEC_VERSION).arg(&path)))
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    (outputs.iter().all(|o| o.status.success()), outputs.iter().map(text).collect())
}

#[test]
fn every_sbom_is_valid_cyclonedx_and_a_broken_one_is_refused() {
    let docs: Vec<(String, Vec<u8>)> = made().iter().map(|m| (sbom::file_name(&m.built.file_name), m.sbom.clone())).collect();
    assert_eq!(docs.len(), 5, "deb, rpm, two MSIs, pkg");
    let (valid, said) = validate(&docs);
    assert!(valid, "the CycloneDX validator refused:\n{said}");
    // The validator can say no: a component without its required name.
    let mut broken = json(&made()[0]);
    broken["metadata"]["component"].as_object_mut().unwrap().remove("name");
    let (valid, said) = validate(&[("broken.cdx.json".into(), serde_json::to_vec(&broken).unwrap())]);
    assert!(!valid && said.contains("name"), "a component without a name passed:\n{said}");
}

/// `name@version` of every crate `cargo tree` prints for `package` built
/// for `triple` through normal dependencies.
fn cargo_tree(package: &str, triple: &str) -> BTreeSet<String> {
    let cargo = std::env::var_os("CARGO").expect("CARGO: cargo sets it for the tests it runs");
    let args = ["tree", "--locked", "--offline", "-e", "normal", "--target", triple, "-p", package, "--prefix", "none", "-f", "{p}"];
    let out = ok(tool(cargo).current_dir(workspace_root()).args(args));
    out.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (name, version) = (w.next()?, w.next()?.strip_prefix('v')?);
            Some(format!("{name}@{version}"))
        })
        .collect()
}

fn components(v: &Value) -> &Vec<Value> {
    v["components"].as_array().unwrap()
}

fn listed_crates(v: &Value) -> BTreeSet<String> {
    components(v)
        .iter()
        .filter_map(|c| c["purl"].as_str()?.strip_prefix("pkg:cargo/").map(str::to_string))
        .collect()
}

#[test]
fn the_crates_are_those_cargo_tree_builds_into_each_binary() {
    for m in made() {
        let mut packages = vec!["outpost-agent"];
        if m.target.format == Format::Msi {
            packages.push("omnipack-msi-ca");
        }
        let mut expected = BTreeSet::new();
        for triple in sbom::triples(&m.target) {
            for p in &packages {
                expected.extend(cargo_tree(p, triple));
            }
        }
        let v = json(m);
        let listed = listed_crates(&v);
        let missing: Vec<_> = expected.difference(&listed).collect();
        let extra: Vec<_> = listed.difference(&expected).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{}: missing {missing:?}, not built in {extra:?}", m.target);
        assert!(listed.iter().any(|c| c.starts_with("rustls@")), "{}: {listed:?}", m.target);
    }
}

/// Every crate has its licence and purl; crates.io ones their archive's
/// SHA-256 from Cargo.lock; and the dependency graph reaches every crate
/// from the installer.
#[test]
fn each_crate_has_its_licence_and_the_graph_reaches_it() {
    for m in made() {
        let v = json(m);
        let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for d in v["dependencies"].as_array().unwrap() {
            let deps = d["dependsOn"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
            graph.insert(d["ref"].as_str().unwrap(), deps);
        }
        let (mut reached, mut todo) = (BTreeSet::new(), vec!["installer"]);
        while let Some(r) = todo.pop() {
            if reached.insert(r) {
                todo.extend(graph.get(r).into_iter().flatten());
            }
        }
        for c in components(&v).iter().filter(|c| c["purl"].is_string()) {
            let purl = c["purl"].as_str().unwrap();
            assert!(reached.contains(purl), "{}: {purl} is not reached from the installer", m.target);
            let licence = c["licenses"][0]["expression"].as_str().unwrap_or_else(|| panic!("{}: {purl} has no licence", m.target));
            assert!(!licence.contains('/'), "{}: {purl}: {licence} is not an SPDX expression", m.target);
            if let Some(r) = c["externalReferences"].as_array() {
                assert_eq!(r[0]["hashes"][0]["content"].as_str().unwrap().len(), 64, "{}: {purl}", m.target);
            }
        }
        let agent = components(&v).iter().find(|c| c["bom-ref"] == "binary:outpost-agent").unwrap();
        assert_eq!(graph["binary:outpost-agent"], [format!("pkg:cargo/outpost-agent@{}", agent["version"].as_str().unwrap())]);
        let tokio = components(&v).iter().find(|c| c["name"] == "tokio").unwrap();
        assert_eq!(tokio["licenses"][0]["expression"], "MIT");
    }
}

#[test]
fn nothing_of_this_machine_no_secret_and_the_same_bytes_twice() {
    let mut forbidden = vec![workspace_root().display().to_string(), "/root".into(), "-----BEGIN".into(), "PRIVATE KEY".into(), ".cargo/registry".into(), "manifest_path".into()];
    for var in ["HOME", "CARGO_TARGET_DIR", "CARGO_HOME", "OMNIPACK_CACHE"] {
        forbidden.extend(std::env::var(var).ok().filter(|v| v.len() > 1));
    }
    let (ctx, crates) = (context(), resolve());
    let mut serials = BTreeSet::new();
    for m in made() {
        let text = std::str::from_utf8(&m.sbom).unwrap();
        for f in &forbidden {
            assert!(!text.contains(f.as_str()), "{}: the SBOM holds `{f}`", m.target);
        }
        let again = sbom::installer_sbom(&ctx, &m.target, &m.built.file_name, &m.built.bytes, &crates).unwrap();
        assert!(again == m.sbom, "{}: a second build gives other bytes", m.target);
        let v = json(m);
        assert_eq!(v["metadata"]["timestamp"], "2023-11-14T22:13:20Z", "{}: the source date", m.target);
        assert_eq!(v["metadata"]["component"]["name"], m.built.file_name.as_str());
        assert_eq!(v["metadata"]["tools"]["components"][0]["name"], "omnipack");
        assert!(serials.insert(v["serialNumber"].as_str().unwrap().to_string()), "{}: serial number reused", m.target);
    }
}

/// The `file` components: install path to SHA-256.
fn listed_files(v: &Value) -> BTreeMap<String, String> {
    components(v)
        .iter()
        .filter(|c| c["type"] == "file")
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["hashes"][0]["content"].as_str().unwrap().to_string()))
        .collect()
}

/// Every file of the content model the package was made from is listed
/// (by file name: the deb moves the unit, the MSI writes its folder
/// notation), with its role; the agent's component has the agent's hash.
#[test]
fn every_file_of_the_payload_is_listed_with_its_role() {
    for m in made() {
        let v = json(m);
        let files: Vec<&Value> = components(&v).iter().filter(|c| c["type"] == "file").collect();
        let name = |p: &str| p.rsplit(['/', '\\']).next().unwrap().to_string();
        for e in m.installed.entries().into_iter().filter(|e| matches!(e.kind(), Kind::File)) {
            if m.target.format == Format::Msi && e.role == omnipack::content::Role::AdminConfig {
                continue; // the MSI writes the administrator's file at install time, it does not carry one
            }
            let listed = files.iter().find(|c| name(c["name"].as_str().unwrap()) == name(&e.path));
            let listed = listed.unwrap_or_else(|| panic!("{}: {} is not listed", m.target, e.path));
            assert!(listed["properties"][0]["name"] == "omnipack:role", "{}: {} has no role", m.target, e.path);
        }
        let agent = m.installed.one(omnipack::content::Role::Binary);
        let component = components(&v).iter().find(|c| c["bom-ref"] == "binary:outpost-agent").unwrap();
        assert_eq!(component["hashes"][0]["content"], agent.sha256(), "{}", m.target);
    }
}

/// `path digest` of every regular file, as `rpm -qp --dump` reads them.
fn rpm_files(rpm: &Path) -> BTreeMap<String, String> {
    let dump = ok(tool("rpm").args(["-qp", "--dump"]).arg(rpm));
    dump.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            // path size mtime digest mode ...; folders and ghosts have no digest.
            (w.len() > 4 && w[3].len() == 64 && w[3] != "0".repeat(64)).then(|| (w[0].to_string(), w[3].to_string()))
        })
        .collect()
}

/// Each file `msiextract` takes out of the MSI, by its path under the
/// extraction folder, with its SHA-256.
fn msi_files(msi: &Path, into: &Path) -> BTreeMap<String, String> {
    let listing = ok(tool("msiextract").arg("-C").arg(into).arg(msi));
    listing
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|rel| {
            let data = std::fs::read(into.join(rel.trim())).unwrap_or_else(|e| panic!("{rel}: {e}"));
            (rel.trim().to_string(), hex::encode(Sha256::digest(&data)))
        })
        .collect()
}

/// The hashes are those of the bytes the packages install, read back by
/// tools we did not write: `rpm --dump` for the rpm, `dpkg-deb -x` for the
/// deb, `msiextract` for both
/// MSIs (every file they hold, matched by its path under the install
/// folders).
#[test]
fn the_listed_hashes_are_those_rpm_and_msiextract_read_from_the_packages() {
    let tmp = tempfile::tempdir().unwrap();
    for m in made().iter().filter(|m| matches!(m.target.format, Format::Rpm | Format::Msi | Format::Deb)) {
        let path = tmp.path().join(&m.built.file_name);
        std::fs::write(&path, &m.built.bytes).unwrap();
        let listed = listed_files(&json(m));
        let into = tmp.path().join(m.target.to_string());
        let read = match m.target.format {
            Format::Rpm => rpm_files(&path),
            Format::Deb => deb_files(&path, &into),
            _ => msi_files(&path, &into),
        };
        assert!(read.values().any(|sha| *sha == m.installed.one(omnipack::content::Role::Binary).sha256()), "{}: the agent is not among {read:?}", m.target);
        for (name, sha) in &read {
            let matching: Vec<&String> = listed.iter().filter(|(p, _)| same_path(p, name)).map(|(_, s)| s).collect();
            assert_eq!(matching, [sha], "{}: {name} as the package installs it", m.target);
        }
        assert_eq!(read.len(), listed.len(), "{}: the package installs {read:?}, the SBOM lists {listed:?}", m.target);
    }
}

/// Every regular file `dpkg-deb -x` unpacks, by its absolute path.
fn deb_files(deb: &Path, into: &Path) -> BTreeMap<String, String> {
    ok(tool("dpkg-deb").arg("-x").arg(deb).arg(into));
    let mut out = BTreeMap::new();
    let mut dirs = vec![into.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().map(Result::unwrap) {
            let t = e.file_type().unwrap();
            if t.is_dir() {
                dirs.push(e.path());
            } else if t.is_file() {
                let rel = e.path().strip_prefix(into).unwrap().display().to_string();
                out.insert(format!("/{rel}"), hex::encode(Sha256::digest(std::fs::read(e.path()).unwrap())));
            }
        }
    }
    out
}

/// An install path and a path a tool printed name one file: the same, or
/// an MSI's `[Folder]\\rest` (the SBOM keeps the MSI's folder notation) and
/// msiextract's path, which resolves or drops `[Folder]`, end alike.
fn same_path(install: &str, read: &str) -> bool {
    let msi_rest = install.strip_prefix('[').and_then(|p| p.split_once(']')).map(|(_, rest)| rest.replace('\\', "/"));
    install == read || msi_rest.is_some_and(|rest| format!("/{read}").ends_with(&rest))
}
