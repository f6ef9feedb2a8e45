//! Windows Installer patches (.msp): a cumulative hotfix from one build of a
//! product to a later build of the same product (same ProductCode and
//! UpgradeCode, higher ProductVersion), carrying whole files (no deltas).
//!
//! Layout written (see Windows Installer's "Patch Packages" and WiX's
//! `Patch` binder, the readable reference):
//!
//! * A compound file (CFB version 3), root CLSID
//!   `{000C1086-0000-0000-C000-000000000046}`.
//! * Summary information: Title "Patch", Subject = display name, Author =
//!   manufacturer, Comments = description, Template (PID 7) = the target
//!   ProductCode, Last Saved By (PID 8) = `:RTM.1;:#RTM.1` (the transform
//!   sub-storages in apply order), Revision Number (PID 9) = the patch
//!   code, Word Count (PID 15) = 4 (Windows Installer 3.0+), Security 4.
//! * Root tables `MsiPatchMetadata` (AllowRemoval, Classification,
//!   DisplayName, Description, ManufacturerName, TargetProductName) and
//!   `MsiPatchSequence` (PatchFamily, ProductCode, Sequence = the new
//!   ProductVersion, Attributes NULL).
//! * Sub-storage `RTM.1`: the transform from the target (old) database to
//!   the upgrade, where every changed or added file has a File.Sequence
//!   above the target's last sequence and `msidbFileAttributesPatchAdded`
//!   (0x1000), unchanged files keep their old sequence, and the Media
//!   table and root streams stay the target's (the files come from the
//!   patch's own cabinet, not from a changed product cabinet).
//! * Sub-storage `#RTM.1`: the paired transform (Revision Number
//!   `new;new;upgrade`): table `PatchPackage` (PatchId, Media_) and its
//!   row, a `Media` row with the next DiskId, LastSequence and Cabinet
//!   `#patch.cab`, the File rows of the carried files again (Sequence,
//!   Attributes) and the Property rows `<ClientPatchId>.PatchCode`,
//!   `<ClientPatchId>.AllowRemoval`, `PATCHNEWPACKAGECODE`,
//!   `PATCHNEWSUMMARYSUBJECT` and `PATCHNEWSUMMARYCOMMENTS`.
//! * Root stream `patch.cab`: an MSZIP cabinet of the carried files, members
//!   named by File key, in sequence order.
//!
//! Both transforms validate ProductCode, UpgradeCode and an equal
//! major.minor.update ProductVersion (`TransformOptions::patch()`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read};

use super::schema::{self, TableDef};
use super::summary::{self, SummaryInfo};
use super::transform::{self, RowUpdate, TableDiff, TableShape, TransformOptions};
use super::{guid, Database, MsiError, PackageKind, Storage, Value};

/// The baseline name of the single target (WiX's default `RTM`).
const BASELINE: &str = "RTM.1";
/// Root stream holding the carried files.
const CABINET_STREAM: &str = "patch.cab";
/// `msidbFileAttributesPatchAdded`.
const PATCH_ADDED: i32 = 0x1000;
/// Summary Word Count (PID 15) of a patch: needs Windows Installer 3.0 or
/// later.
const WORD_COUNT_INSTALLER_3: i32 = 4;
/// Property naming where the patch's media come from (WiX's name).
const MEDIA_SOURCE_PROP: &str = "PATCHMediaSrcProp";

/// What the patch says about itself (MsiPatchMetadata, MsiPatchSequence,
/// summary information) and its identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchOptions {
    /// MsiPatchSequence.PatchFamily: patches of one family supersede each
    /// other by Sequence. An identifier (letters, digits, `_`, `.`).
    pub family: String,
    /// MsiPatchMetadata DisplayName; summary Subject.
    pub display_name: String,
    /// MsiPatchMetadata Description; summary Comments.
    pub description: String,
    /// MsiPatchMetadata Classification: "Hotfix", "Update",
    /// "Security Rollup", "Critical Update", "Service Pack", …
    pub classification: String,
    /// MsiPatchMetadata AllowRemoval and `<ClientPatchId>.AllowRemoval`.
    pub allow_removal: bool,
    /// The patch code; None derives it from the ProductCode and the new
    /// ProductVersion (`guid::guid("patch-code", …)`), never at random.
    pub patch_code: Option<String>,
    /// MsiPatchMetadata ManufacturerName; None = the new Manufacturer.
    pub manufacturer: Option<String>,
    /// Unix time for the cabinet members' dates (0 = 1980-01-01).
    pub file_time: u64,
}

impl PatchOptions {
    /// A removable hotfix of `family`.
    pub fn hotfix(family: &str, display_name: &str, description: &str) -> PatchOptions {
        PatchOptions {
            family: family.to_string(),
            display_name: display_name.to_string(),
            description: description.to_string(),
            classification: "Hotfix".into(),
            allow_removal: true,
            patch_code: None,
            manufacturer: None,
            file_time: 0,
        }
    }
}

/// The patch code `options` give for a product and new version.
pub fn patch_code(product_code: &str, new_version: &str) -> String {
    guid::guid("patch-code", &format!("{product_code}/{new_version}"))
}

fn refuse(reason: impl Into<String>) -> MsiError {
    MsiError::format("cannot make a patch", reason.into())
}

fn property(db: &Database, name: &str) -> Option<String> {
    db.table("Property")
        .and_then(|t| t.get(&[Value::from(name)]).map(|r| r[1].clone()))
        .and_then(|v| v.as_str().map(str::to_string))
}

fn version_parts(v: &str) -> Option<Vec<u32>> {
    v.split('.').map(|p| p.parse::<u32>().ok()).collect()
}

/// A cell as plain text (strings without the quotes `Display` adds).
fn show(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn int(v: &Value) -> Option<i32> {
    match v {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

fn col(def: &TableDef, name: &str) -> Result<usize, MsiError> {
    def.column_index(name).ok_or_else(|| MsiError::Schema {
        table: def.name.clone(),
        reason: format!("has no column `{name}`"),
    })
}

/// Refuses what a patch cannot carry, naming it.
fn check(old: &Database, new: &Database) -> Result<(String, String), MsiError> {
    let need = |db: &Database, which: &str, name: &str| {
        property(db, name).ok_or_else(|| refuse(format!("the {which} package has no {name} property")))
    };
    let (pc_old, pc_new) = (need(old, "old", "ProductCode")?, need(new, "new", "ProductCode")?);
    if pc_old != pc_new {
        return Err(refuse(format!(
            "the ProductCode differs ({pc_old} → {pc_new}); a patch updates one product, a new ProductCode needs a major upgrade (a new MSI)"
        )));
    }
    let (uc_old, uc_new) = (need(old, "old", "UpgradeCode")?, need(new, "new", "UpgradeCode")?);
    if uc_old != uc_new {
        return Err(refuse(format!("the UpgradeCode differs ({uc_old} → {uc_new})")));
    }
    let (v_old, v_new) = (need(old, "old", "ProductVersion")?, need(new, "new", "ProductVersion")?);
    match (version_parts(&v_old), version_parts(&v_new)) {
        (Some(a), Some(b)) if b > a => {}
        (Some(_), Some(_)) => {
            return Err(refuse(format!(
                "the new ProductVersion {v_new} is not higher than the old {v_old}"
            )))
        }
        _ => return Err(refuse(format!("cannot compare ProductVersion {v_old} and {v_new}"))),
    }
    if old.summary.template != new.summary.template {
        return Err(refuse(format!(
            "the platform or language differs ({:?} → {:?})",
            old.summary.template, new.summary.template
        )));
    }
    // Keys a patch must not remove, and component GUIDs it must not change.
    for table in ["Feature", "Component", "File", "Directory"] {
        let Some(t) = old.table(table) else { continue };
        let k = t.def().key_len();
        let newt = new.table(table);
        let removed: Vec<String> = t
            .rows()
            .filter(|r| newt.and_then(|n| n.get(&r[..k])).is_none())
            .map(|r| r[..k].iter().map(show).collect::<Vec<_>>().join("/"))
            .collect();
        if !removed.is_empty() {
            return Err(refuse(format!(
                "the new package removes {table} {}; a patch cannot remove {}",
                removed.join(", "),
                match table {
                    "Feature" => "features (the feature tree must stay)",
                    "Component" => "components (component rules)",
                    "File" => "files (component rules: a component's files stay)",
                    _ => "directories",
                }
            )));
        }
    }
    if let (Some(o), Some(n)) = (old.table("Component"), new.table("Component")) {
        let id = col(o.def(), "ComponentId")?;
        let kp = o.def().column_index("KeyPath");
        for r in o.rows() {
            let Some(nr) = n.get(&r[..1]) else { continue };
            if nr.get(id) != r.get(id) {
                return Err(refuse(format!(
                    "component {} changes its GUID ({} → {}); a patch cannot change component GUIDs",
                    show(&r[0]),
                    show(&r[id]),
                    nr.get(id).map(show).unwrap_or_default()
                )));
            }
            if let Some(kp) = kp {
                if nr.get(kp) != r.get(kp) {
                    return Err(refuse(format!(
                        "component {} changes its key path; that needs a new component GUID, which a patch cannot carry",
                        show(&r[0])
                    )));
                }
            }
        }
    }
    Ok((pc_new, v_new))
}

/// Reads the files of `keys` out of the new package's cabinets.
fn files_from_cabinets(new: &Database, keys: &BTreeSet<String>) -> Result<BTreeMap<String, Vec<u8>>, MsiError> {
    let mut out = BTreeMap::new();
    let Some(media) = new.table("Media") else {
        return Err(refuse("the new package has no Media table to read files from"));
    };
    let ci = col(media.def(), "Cabinet")?;
    for row in media.rows() {
        let Some(cabinet) = row[ci].as_str() else { continue };
        let Some(stream) = cabinet.strip_prefix('#') else {
            return Err(refuse(format!(
                "cabinet {cabinet} is external; pass the files' bytes instead"
            )));
        };
        let data = new
            .streams
            .get(stream)
            .ok_or_else(|| MsiError::stream(stream, "is named by Media.Cabinet but not in the new package"))?;
        let cab_err = |member: &str, e: std::io::Error| MsiError::Cabinet {
            member: member.to_string(),
            reason: format!("reading {stream}: {e}"),
        };
        let mut cab = cab::Cabinet::new(Cursor::new(data.as_slice())).map_err(|e| cab_err("", e))?;
        for key in keys {
            if out.contains_key(key) {
                continue;
            }
            let present = cab.folder_entries().any(|f| f.file_entries().any(|e| e.name() == key));
            if present {
                let mut bytes = Vec::new();
                cab.read_file(key)
                    .and_then(|mut r| r.read_to_end(&mut bytes))
                    .map_err(|e| cab_err(key, e))?;
                out.insert(key.clone(), bytes);
            }
        }
    }
    if let Some(missing) = keys.iter().find(|k| !out.contains_key(*k)) {
        return Err(MsiError::Cabinet {
            member: missing.clone(),
            reason: "is not in any cabinet of the new package".into(),
        });
    }
    Ok(out)
}

/// The .msp that updates an installed `old` to `new`. `new_files` maps
/// File keys to contents; when empty, the carried files are read from the
/// new package's embedded cabinets. Files are carried when their File row
/// (other than Sequence) or their MsiFileHash row changed, or when they are
/// new. Refused, with the reason: another ProductCode or UpgradeCode, a
/// ProductVersion that is not higher, another platform or language, a
/// removed feature, component, file or directory, a changed component GUID
/// or key path.
pub fn patch(
    old: &Database,
    new: &Database,
    new_files: &BTreeMap<String, Vec<u8>>,
    options: &PatchOptions,
) -> Result<Vec<u8>, MsiError> {
    let (product_code, new_version) = check(old, new)?;
    check_family(&options.family)?;
    let code = options
        .patch_code
        .clone()
        .unwrap_or_else(|| patch_code(&product_code, &new_version));
    let carried = Carried::between(old, new)?;
    let members = carried_bytes(new, new_files, &carried)?;
    let cabinet = super::cab::cabinet(&members, options.file_time)?;
    let upgrade = upgrade_database(old, new, &carried)?;
    let toptions = TransformOptions::patch();
    let main_set = transform::diff(old, &upgrade)?;
    let main = transform::encode(old, &main_set, &toptions)?;
    let paired = paired_transform(new, &upgrade, &carried, &code, options)?;

    let mut msp = Database::new(PackageKind::Patch);
    msp.summary.codepage = old.summary.codepage;
    let manufacturer = options
        .manufacturer
        .clone()
        .or_else(|| property(new, "Manufacturer"))
        .unwrap_or_default();
    insert_patch_tables(&mut msp, new, options, &manufacturer, &product_code, &new_version)?;
    msp.streams.insert(CABINET_STREAM.into(), cabinet);
    msp.storages.insert(BASELINE.into(), Storage::from_cfb(&main)?);
    msp.storages.insert(format!("#{BASELINE}"), Storage::from_cfb(&paired)?);
    set_patch_summary(&mut msp.summary, old, new, options, manufacturer, product_code, code);
    msp.to_bytes()
}

/// The family names the patch line in MsiPatchSequence and, stripped to an
/// identifier, its `<ClientPatchId>` properties.
fn check_family(family: &str) -> Result<(), MsiError> {
    if family.is_empty() || !family.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
        return Err(refuse(format!(
            "patch family `{family}` must be a non-empty identifier (letters, digits, `_`, `.`)"
        )));
    }
    Ok(())
}

/// The files a patch carries, with the File rows and media it gives them.
struct Carried {
    /// The new package's File definition.
    file_def: TableDef,
    seq_i: usize,
    attr_i: usize,
    /// The carried files' File rows by key: Sequence after the old package's
    /// last one, `msidbFileAttributesPatchAdded` set.
    rows: BTreeMap<String, Vec<Value>>,
    /// Their keys in sequence order (the cabinet's order).
    order: Vec<String>,
    /// The old package's Media definition and the patch's own Media row.
    media_def: TableDef,
    disk_i: usize,
    last_i: usize,
    disk_id: i32,
    last_sequence: i32,
}

impl Carried {
    /// Which files change from `old` to `new`, and their new sequence numbers.
    fn between(old: &Database, new: &Database) -> Result<Carried, MsiError> {
        let old_file = old.table("File").ok_or_else(|| refuse("the old package has no File table"))?;
        let new_file = new.table("File").ok_or_else(|| refuse("the new package has no File table"))?;
        let file_def = new_file.def().clone();
        let (seq_i, attr_i) = (col(&file_def, "Sequence")?, col(&file_def, "Attributes")?);
        let hash = |db: &Database, key: &Value| {
            db.table("MsiFileHash")
                .and_then(|t| t.get(&[key.clone()]).map(|r| r.to_vec()))
        };
        let mut changed: Vec<(i32, Vec<Value>)> = Vec::new(); // (new-package sequence, row)
        for row in new_file.rows() {
            let same = old_file.get(&row[..1]).is_some_and(|o| {
                o.iter().enumerate().all(|(i, v)| i == seq_i || row.get(i) == Some(v)) && hash(old, &row[0]) == hash(new, &row[0])
            });
            if !same {
                changed.push((int(&row[seq_i]).unwrap_or(0), row.to_vec()));
            }
        }
        if changed.is_empty() {
            return Err(refuse("no file changed between the two packages; nothing to patch"));
        }
        changed.sort_by_key(|(s, _)| *s);
        let media = old
            .table("Media")
            .ok_or_else(|| refuse("the old package has no Media table"))?;
        let (disk_i, last_i) = (col(media.def(), "DiskId")?, col(media.def(), "LastSequence")?);
        let old_last = media.rows().filter_map(|r| int(&r[last_i])).max().unwrap_or(0);
        let old_max_file = old_file.rows().filter_map(|r| int(&r[seq_i])).max().unwrap_or(0);
        let first = old_last.max(old_max_file) + 1;
        let disk_id = media.rows().filter_map(|r| int(&r[disk_i])).max().unwrap_or(0) + 1;
        let mut rows: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        for (n, (_, mut row)) in changed.into_iter().enumerate() {
            row[seq_i] = Value::Int(first + n as i32);
            row[attr_i] = Value::Int(int(&row[attr_i]).unwrap_or(0) | PATCH_ADDED);
            let key = row[0].as_str().unwrap_or_default().to_string();
            order.push(key.clone());
            rows.insert(key, row);
        }
        let last_sequence = first + order.len() as i32 - 1;
        Ok(Carried {
            file_def,
            seq_i,
            attr_i,
            rows,
            order,
            media_def: media.def().clone(),
            disk_i,
            last_i,
            disk_id,
            last_sequence,
        })
    }
}

/// The carried files' bytes as cabinet members in sequence order, checked
/// against their File rows.
fn carried_bytes(
    new: &Database,
    new_files: &BTreeMap<String, Vec<u8>>,
    carried: &Carried,
) -> Result<Vec<(String, Vec<u8>)>, MsiError> {
    let keys: BTreeSet<String> = carried.order.iter().cloned().collect();
    let bytes = if new_files.is_empty() {
        files_from_cabinets(new, &keys)?
    } else {
        keys.iter()
            .map(|k| {
                new_files
                    .get(k)
                    .map(|d| (k.clone(), d.clone()))
                    .ok_or_else(|| MsiError::Cabinet {
                        member: k.clone(),
                        reason: "changed between the packages but its bytes were not given".into(),
                    })
            })
            .collect::<Result<_, _>>()?
    };
    let size_i = col(&carried.file_def, "FileSize")?;
    for key in &carried.order {
        let size = int(&carried.rows[key][size_i]);
        if size != Some(bytes[key].len() as i32) {
            return Err(MsiError::Cabinet {
                member: key.clone(),
                reason: format!("is {} bytes; its File row says {size:?}", bytes[key].len()),
            });
        }
    }
    Ok(carried.order.iter().map(|k| (k.clone(), bytes[k].clone())).collect())
}

/// The upgrade as the target→upgrade transform sees it: the new package
/// with unchanged files at their old sequence, carried files after the old
/// last sequence, and the old media and streams.
fn upgrade_database(old: &Database, new: &Database, carried: &Carried) -> Result<Database, MsiError> {
    let old_file = old.table("File").ok_or_else(|| refuse("the old package has no File table"))?;
    let media = old
        .table("Media")
        .ok_or_else(|| refuse("the old package has no Media table"))?;
    let mut upgrade = new.clone();
    upgrade.streams = old.streams.clone();
    upgrade.storages = old.storages.clone();
    upgrade.remove_table("Media");
    upgrade.add_table(media.def().clone())?;
    for r in media.rows() {
        upgrade.table_mut("Media").expect("added").push(r.to_vec())?;
    }
    let ufile = upgrade.table_mut("File").expect("the new package has File");
    let rows: Vec<Vec<Value>> = ufile.rows().map(<[Value]>::to_vec).collect();
    for row in rows {
        let key = row[0].as_str().unwrap_or_default().to_string();
        let replacement = match carried.rows.get(&key) {
            Some(p) => p.clone(),
            None => old_file
                .get(&row[..1])
                .expect("unchanged files exist in the old package")
                .to_vec(),
        };
        ufile.put(replacement)?;
    }
    Ok(upgrade)
}

/// The paired transform: patch plumbing on top of the upgrade (PatchPackage,
/// the patch's Media row, the patch properties) and the carried File rows
/// again, as WiX's paired transform has them.
fn paired_transform(
    new: &Database,
    upgrade: &Database,
    carried: &Carried,
    code: &str,
    options: &PatchOptions,
) -> Result<Vec<u8>, MsiError> {
    let mut paired = upgrade.clone();
    paired.insert(schema::patch_package(), vec![code.into(), Value::Int(carried.disk_id)])?;
    let mut media_row = vec![Value::Null; carried.media_def.columns.len()];
    media_row[carried.disk_i] = Value::Int(carried.disk_id);
    media_row[carried.last_i] = Value::Int(carried.last_sequence);
    media_row[col(&carried.media_def, "Cabinet")?] = format!("#{CABINET_STREAM}").into();
    media_row[col(&carried.media_def, "Source")?] = MEDIA_SOURCE_PROP.into();
    paired.table_mut("Media").expect("added").push(media_row)?;
    for (k, v) in patch_properties(new, code, options) {
        paired.table_mut("Property").expect("checked").put(vec![k.into(), v.into()])?;
    }
    let mut paired_set = transform::diff(upgrade, &paired)?;
    let (seq_i, attr_i) = (carried.seq_i, carried.attr_i);
    paired_set.tables.insert(
        "File".into(),
        TableDiff {
            def: carried.file_def.clone(),
            shape: TableShape::Existing,
            inserted: Vec::new(),
            updated: carried
                .order
                .iter()
                .map(|k| RowUpdate {
                    key: vec![k.as_str().into()],
                    changes: vec![
                        (attr_i, carried.rows[k][attr_i].clone()),
                        (seq_i, carried.rows[k][seq_i].clone()),
                    ],
                })
                .collect(),
            deleted: Vec::new(),
        },
    );
    transform::encode(upgrade, &paired_set, &TransformOptions::patch())
}

/// The Property rows the paired transform sets: the patch code and
/// removability under the family's client id, and what the new package
/// says about itself.
fn patch_properties(new: &Database, code: &str, options: &PatchOptions) -> Vec<(String, String)> {
    let client_id: String = options
        .family
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let mut props: Vec<(String, String)> = vec![
        (format!("{client_id}.PatchCode"), code.to_string()),
        (
            format!("{client_id}.AllowRemoval"),
            if options.allow_removal { "1" } else { "0" }.into(),
        ),
    ];
    if let Some(pkg) = new.summary.revision_number.clone() {
        props.push(("PATCHNEWPACKAGECODE".into(), pkg));
    }
    if let Some(s) = new.summary.subject.clone().filter(|s| !s.is_empty()) {
        props.push(("PATCHNEWSUMMARYSUBJECT".into(), s));
    }
    if let Some(c) = new.summary.comments.clone().filter(|s| !s.is_empty()) {
        props.push(("PATCHNEWSUMMARYCOMMENTS".into(), c));
    }
    props
}

/// MsiPatchMetadata (the non-empty facts) and MsiPatchSequence.
fn insert_patch_tables(
    msp: &mut Database,
    new: &Database,
    options: &PatchOptions,
    manufacturer: &str,
    product_code: &str,
    new_version: &str,
) -> Result<(), MsiError> {
    let product_name = property(new, "ProductName").unwrap_or_default();
    let mut meta = vec![
        ("AllowRemoval", if options.allow_removal { "1" } else { "0" }.to_string()),
        ("Classification", options.classification.clone()),
        ("DisplayName", options.display_name.clone()),
        ("Description", options.description.clone()),
        ("ManufacturerName", manufacturer.to_string()),
        ("TargetProductName", product_name),
    ];
    meta.retain(|(_, v)| !v.is_empty());
    for (k, v) in meta {
        msp.insert(schema::msi_patch_metadata(), vec![Value::Null, k.into(), v.into()])?;
    }
    msp.insert(
        schema::msi_patch_sequence(),
        vec![
            options.family.as_str().into(),
            product_code.into(),
            new_version.into(),
            Value::Null,
        ],
    )?;
    Ok(())
}

/// The patch's summary: Template = the target ProductCode, Last Saved By =
/// the transforms in apply order, Revision Number = the patch code.
fn set_patch_summary(
    s: &mut SummaryInfo,
    old: &Database,
    new: &Database,
    options: &PatchOptions,
    manufacturer: String,
    product_code: String,
    code: String,
) {
    s.title = Some(PackageKind::Patch.default_title().into());
    s.subject = Some(options.display_name.clone()).filter(|v| !v.is_empty());
    s.author = Some(manufacturer).filter(|v| !v.is_empty());
    s.keywords = Some(format!("Installer,Patching,PCP,{}", options.classification));
    s.comments = Some(options.description.clone()).filter(|v| !v.is_empty());
    s.template = Some(product_code);
    s.last_saved_by = Some(format!(":{BASELINE};:#{BASELINE}"));
    s.revision_number = Some(code);
    s.create_time = old.summary.create_time.max(new.summary.create_time);
    s.last_save_time = s.create_time;
    s.word_count = Some(WORD_COUNT_INSTALLER_3);
    s.creating_application = Some("omnipack".into());
    s.security = Some(summary::SECURITY_ENFORCED);
}

/// `patch` from two package files alone: the carried files come from the
/// new package's cabinet.
pub fn patch_msis(old: &[u8], new: &[u8], options: &PatchOptions) -> Result<Vec<u8>, MsiError> {
    let old = Database::from_bytes(old)?;
    let new = Database::from_bytes(new)?;
    patch(&old, &new, &BTreeMap::new(), options)
}
