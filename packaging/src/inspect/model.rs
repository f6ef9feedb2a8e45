//! What `inspect` finds in a package, one shape for every format, so that
//! `diff` compares two packages field by field without knowing the format:
//! metadata (control fields, rpm header, summary information, Distribution
//! options), the settings and their defaults, the files, the scripts, and
//! named sections of keyed records (MSI tables, rpm dependencies, pkg
//! choices and components). Every map is sorted, so the JSON is stable.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::target::Format;

/// What a file is, read from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum Kind {
    Deb,
    Rpm,
    Msi,
    /// A Windows Installer transform.
    Mst,
    /// A Windows Installer patch.
    Msp,
    Pkg,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Deb => Format::Deb.as_str(),
            Kind::Rpm => Format::Rpm.as_str(),
            Kind::Msi => Format::Msi.as_str(),
            Kind::Mst => "mst",
            Kind::Msp => "msp",
            Kind::Pkg => Format::Pkg.as_str(),
        }
    }
}

impl From<Kind> for String {
    fn from(k: Kind) -> String {
        k.name().to_string()
    }
}

/// One setting as the package carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// The value in the shipped defaults file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The installer property that sets it (MSI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// What the installer sets the property to when nothing else did (MSI;
    /// empty: the property stays unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installer_default: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// The shipped defaults file the values were read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub values: BTreeMap<String, Setting>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    /// `file`, `dir`, `symlink` or another type word.
    pub kind: String,
    /// Permission bits, octal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `user:group` (names or numbers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Format words: `conffile`, `config`, `noreplace`, `ghost`, `doc`, the
    /// MSI component, and any disagreement between two records of the file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

impl FileInfo {
    /// A regular file with `data`.
    pub fn regular(data: &[u8], mode: Option<u32>) -> FileInfo {
        FileInfo {
            kind: "file".into(),
            mode: mode.map(octal),
            size: data.len() as u64,
            sha256: Some(sha256(data)),
            ..FileInfo::default()
        }
    }
}

/// A record of a section: field name to value.
pub type Record = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    pub format: Kind,
    pub metadata: BTreeMap<String, String>,
    pub settings: Settings,
    pub files: BTreeMap<String, FileInfo>,
    pub scripts: BTreeMap<String, String>,
    /// Named sections of records by key (e.g. `Property` → `ProductCode`).
    pub sections: BTreeMap<String, BTreeMap<String, Record>>,
}

impl Package {
    pub fn new(format: Kind) -> Package {
        Package {
            format,
            metadata: BTreeMap::new(),
            settings: Settings::default(),
            files: BTreeMap::new(),
            scripts: BTreeMap::new(),
            sections: BTreeMap::new(),
        }
    }

    pub fn meta(&mut self, key: &str, value: impl Into<String>) {
        self.metadata.insert(key.to_string(), value.into());
    }

    pub fn record(&mut self, section: &str, key: impl Into<String>, record: Record) {
        self.sections
            .entry(section.to_string())
            .or_default()
            .insert(key.into(), record);
    }
}

pub fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn octal(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

/// A record from (field, value) pairs.
pub fn record<K: Into<String>, V: Into<String>>(fields: impl IntoIterator<Item = (K, V)>) -> Record {
    fields.into_iter().map(|(k, v)| (k.into(), v.into())).collect()
}
