//! The product manifest compiled into an installer database: directories,
//! one component per installed resource, a feature per manifest feature
//! (IDs are a stable interface for ADDLOCAL), settings as public properties
//! remembered across upgrades, the service, upgrades and legacy removal.
//!
//! `compile` runs one step per group of tables; `Builder` holds what the
//! steps share. Where each action runs is laid out in `sequences`.

mod features;
mod launch;
mod program_files;
mod removal;
mod sequences;
mod settings;
mod upgrades;
mod validate;

pub use validate::{refusals, validate};

use md5::Md5;
use outpost_manifest::{Manifest, Platform, Product, Setting};
use sha2::{Digest, Sha256};

use super::rows::{
    self, ActionText, AppSearch, Component, ComponentAttributes, CustomAction, CustomActionType, Directory, FeatureComponent,
    File, FileAttributes, FileHash, LocatorType, Media, Property, RegLocator, RegistryRoot, Row, Sequence, SequenceTable,
};
use crate::msi::{cab, filename, guid, Database, FileTime, PackageKind};
use crate::content::Payload;
use crate::packager::{BuildContext, PackageError};
use crate::service::{windows as winsvc, ServiceSpec};
use crate::target::{Arch, Target};

/// `check_dll`: the custom action DLL (packaging/msi-ca) built for the
/// package's architecture.
pub fn compile(ctx: &BuildContext, target: &Target, payload: &Payload, check_dll: &[u8]) -> Result<Database, PackageError> {
    let m = &ctx.manifest;
    validate(m)?;
    let features = validate::features_on(m, target);
    let client = validate::required_feature(&features)
        .ok_or_else(|| invalid(validate::NO_REQUIRED_FEATURE))?
        .msi_feature
        .as_str();
    let settings: Vec<&Setting> = m.settings_on(Platform::Windows).collect();
    let packaged = program_files::packaged(payload, check_dll);
    let mut b = Builder::new(ids(m, target, &packaged), target.arch == Arch::X86_64);

    summary(&mut b, ctx);
    directories(&mut b, m)?;
    identity(&mut b, &m.product)?;
    features::features(&mut b, m, &features)?;
    program_files::program_files(&mut b, m, payload, client)?;
    service(&mut b, m)?;
    settings::remember(&mut b, &m.product, &settings, client)?;
    settings::answers(&mut b, m, &settings, client)?;
    settings::defaults(&mut b, &settings)?;
    settings::checks(&mut b, m, &settings, check_dll)?;
    settings::legacy(&mut b, m, &settings)?;
    features::reconcile(&mut b, m, &features)?;
    removal::data_folders(&mut b, m, client)?;
    upgrades::upgrades(&mut b, m)?;
    secure_and_hidden(&mut b, &settings)?;
    launch::launch_conditions(&mut b, &m.product.name)?;
    sequences::standard_actions(&mut b)?;
    media(&mut b, ctx.source_date)?;
    Ok(b.db)
}

/// A refusal of our own (the manifest asks for what the MSI cannot do).
fn invalid(message: &str) -> PackageError {
    PackageError::Refused(message.to_string())
}

/// Per-build identity. Product and package codes derive from the product's
/// identity, version and architecture (and, for the package code, the
/// packaged bytes), never from randomness.
struct Ids {
    product_code: String,
    package_code: String,
    /// Component GUIDs stay the same across versions (component rules).
    component_ns: String,
}

fn ids(m: &Manifest, target: &Target, packaged: &[&[u8]]) -> Ids {
    let base = format!("{}/{}", m.product.upgrade_code, target.arch_word());
    // A hotfix line (2.1.0, 2.1.1, …) keeps one ProductCode so a patch can
    // carry it forward; a new major.minor gets a new one (major upgrade).
    let line: Vec<&str> = m.product.version.split('.').take(2).collect();
    let product_code = guid::guid("product-code", &format!("{base}/{}", line.join(".")));
    let mut content = Sha256::new();
    for bytes in packaged {
        content.update(bytes);
    }
    let content = hex::encode(content.chain_update(format!("{m:?}")).finalize());
    let package_code = guid::guid("package-code", &format!("{product_code}/{content}"));
    Ids {
        product_code,
        package_code,
        component_ns: base,
    }
}

/// The database being built and what its steps share.
struct Builder {
    db: Database,
    ids: Ids,
    x64: bool,
    /// The cabinet's members (file key, bytes), in File.Sequence order.
    files: Vec<(String, Vec<u8>)>,
    /// SecureCustomProperties found by the steps: set on the client (UI)
    /// side, needed on the server side. `secure_and_hidden` puts every
    /// setting and the upgrade detection properties first; the order is
    /// part of the package's bytes.
    secure: Vec<String>,
    /// Properties whose values stay out of the log: MsiHiddenProperties.
    hidden: Vec<String>,
}

impl Builder {
    fn new(ids: Ids, x64: bool) -> Builder {
        Builder {
            db: Database::new(PackageKind::Installer),
            ids,
            x64,
            files: Vec::new(),
            secure: Vec::new(),
            hidden: Vec::new(),
        }
    }

    fn add(&mut self, row: impl Row) -> Result<(), PackageError> {
        Ok(rows::insert(&mut self.db, row)?)
    }

    fn prop(&mut self, name: &str, value: &str) -> Result<(), PackageError> {
        self.add(Property {
            name: name.into(),
            value: value.into(),
        })
    }

    fn component(&mut self, id: &str, dir: &str, key_path: Option<&str>) -> Result<(), PackageError> {
        self.component_with(id, dir, key_path, ComponentAttributes::LOCAL_ONLY)
    }

    fn component_with(
        &mut self,
        id: &str,
        dir: &str,
        key_path: Option<&str>,
        extra: ComponentAttributes,
    ) -> Result<(), PackageError> {
        let guid = guid::guid("component", &format!("{}/{id}", self.ids.component_ns));
        let view = if self.x64 {
            ComponentAttributes::BIT64
        } else {
            ComponentAttributes::LOCAL_ONLY
        };
        self.add(Component {
            id: id.into(),
            guid,
            directory: dir.into(),
            attributes: extra | view,
            key_path: key_path.map(Into::into),
        })
    }

    fn feature_component(&mut self, feature: &str, component: &str) -> Result<(), PackageError> {
        self.add(FeatureComponent {
            feature: feature.into(),
            component: component.into(),
        })
    }

    /// A compressed file, the next in the cabinet, with its hash.
    fn file(&mut self, key: &str, component: &str, dir: &str, long: &str, data: Vec<u8>) -> Result<(), PackageError> {
        let sequence = self.files.len() as i32 + 1;
        let name = filename::file_name(long, dir)?;
        let size = data.len() as i32;
        self.add(File {
            key: key.into(),
            component: component.into(),
            name,
            size,
            attributes: FileAttributes::VITAL,
            sequence,
        })?;
        // Our files carry no version resource: without a hash, repair and
        // patches would keep an old file of the same size.
        let md5 = Md5::digest(&data);
        let part = |i: usize| i32::from_le_bytes(md5[i * 4..i * 4 + 4].try_into().expect("16-byte digest"));
        self.add(FileHash {
            file: key.into(),
            parts: [part(0), part(1), part(2), part(3)],
        })?;
        self.files.push((key.to_string(), data));
        Ok(())
    }

    /// AppSearch sets `property` from a registry value under HKLM, read in
    /// the package's own view (the 64-bit one on x64).
    fn search_registry(&mut self, property: &str, signature: &str, key: &str, name: &str) -> Result<(), PackageError> {
        let kind = if self.x64 {
            LocatorType::RAW_VALUE | LocatorType::BIT64
        } else {
            LocatorType::RAW_VALUE
        };
        let root = RegistryRoot::LOCAL_MACHINE;
        self.add(RegLocator {
            signature: signature.into(),
            root,
            key: key.into(),
            name: name.into(),
            kind,
        })?;
        self.add(AppSearch {
            property: property.into(),
            signature: signature.into(),
        })
    }

    fn custom_action(&mut self, name: &str, kind: CustomActionType, source: &str, target: &str) -> Result<(), PackageError> {
        self.add(CustomAction {
            action: name.into(),
            kind,
            source: source.into(),
            target: target.into(),
        })
    }

    /// Schedules an action in the UI and execute sequences (UI only runs
    /// for interactive installs; /qn runs the execute sequence alone).
    fn both(&mut self, action: &str, condition: Option<&str>, seq: i32) -> Result<(), PackageError> {
        self.execute(action, condition, seq)?;
        self.ui(action, condition, seq)
    }

    fn execute(&mut self, action: &str, condition: Option<&str>, seq: i32) -> Result<(), PackageError> {
        self.sequence(SequenceTable::InstallExecute, action, condition, seq)
    }

    fn ui(&mut self, action: &str, condition: Option<&str>, seq: i32) -> Result<(), PackageError> {
        self.sequence(SequenceTable::InstallUi, action, condition, seq)
    }

    fn sequence(&mut self, table: SequenceTable, action: &str, condition: Option<&str>, number: i32) -> Result<(), PackageError> {
        self.add(Sequence {
            table,
            action: action.into(),
            condition: condition.map(Into::into),
            number,
        })
    }

    /// A type 51 custom action setting `property` to `value` (formatted),
    /// run in both sequences at `seq` when `condition` holds.
    fn set_property(&mut self, action: &str, property: &str, value: &str, condition: &str, seq: i32) -> Result<(), PackageError> {
        self.custom_action(action, sequences::SET_PROPERTY, property, value)?;
        self.both(action, Some(condition), seq)
    }
}

/// The last component of a Windows path.
fn last_component(path: &str) -> &str {
    path.trim_end_matches('\\').rsplit('\\').next().unwrap_or(path)
}

/// Summary information: identity and a fixed time for reproducibility.
fn summary(b: &mut Builder, ctx: &BuildContext) {
    let p = &ctx.manifest.product;
    let s = &mut b.db.summary;
    s.subject = Some(p.name.clone());
    s.author = Some(p.vendor.clone());
    s.keywords = Some("Installer".into());
    s.comments = Some(p.summary.clone());
    s.template = Some(format!("{};1033", if b.x64 { "x64" } else { "Intel" }));
    s.revision_number = Some(b.ids.package_code.clone());
    s.create_time = Some(FileTime::from_unix_seconds(ctx.source_date));
    s.last_save_time = Some(FileTime::from_unix_seconds(ctx.source_date));
    // Minimum Windows Installer 2.0 (the floor for a 64-bit package), not
    // 5.0: XP and Server 2003 have 3.1, Vista and Server 2008 at most 4.5,
    // and a package asking for more is refused by Windows Installer itself
    // ("install a newer Windows Installer", 1613) before our launch
    // conditions can say why. Supported systems all have 5.0, and the one
    // 5.0 action (MsiConfigureServices) is conditioned on VersionMsi.
    s.page_count = Some(200);
    // msidbSumInfoSourceTypeCompressed, long file names.
    s.word_count = Some(2);
    s.creating_application = Some("omnipack".into());
    // Read-only recommended.
    s.security = Some(2);
}

/// Program files directly under ProgramFiles[64]Folder (features' marker
/// files in a subfolder), data, logs and state under CommonAppDataFolder.
fn directories(b: &mut Builder, m: &Manifest) -> Result<(), PackageError> {
    let l = m.layout(Platform::Windows);
    let install = validate::parent(&l.binary);
    let data = validate::parent(&l.config_file);
    let pf = if b.x64 { "ProgramFiles64Folder" } else { "ProgramFilesFolder" };
    for (id, parent, name) in [
        ("TARGETDIR", None, ""),
        (pf, Some("TARGETDIR"), "."),
        ("INSTALLDIR", Some(pf), last_component(&install)),
        ("FEATURESDIR", Some("INSTALLDIR"), "features"),
        ("CommonAppDataFolder", Some("TARGETDIR"), "."),
        ("DATADIR", Some("CommonAppDataFolder"), last_component(&data)),
        ("LOGDIR", Some("DATADIR"), last_component(&l.log_dir)),
        ("STATEDIR", Some("DATADIR"), last_component(&l.state_dir)),
    ] {
        let default_dir = match parent {
            None => "SourceDir".to_string(),
            Some(parent) => filename::directory_name(name, parent)?,
        };
        b.add(Directory {
            id: id.into(),
            parent: parent.map(Into::into),
            default_dir,
        })?;
    }
    Ok(())
}

/// Identity properties and Add/Remove Programs.
fn identity(b: &mut Builder, p: &Product) -> Result<(), PackageError> {
    for (k, v) in [
        ("ProductCode", b.ids.product_code.clone()),
        ("ProductName", p.name.clone()),
        ("ProductVersion", p.version.clone()),
        ("ProductLanguage", "1033".into()),
        ("Manufacturer", p.vendor.clone()),
        ("UpgradeCode", p.upgrade_code.clone()),
        ("ALLUSERS", "1".into()),
        ("ARPHELPLINK", p.help_url.clone()),
        ("ARPURLINFOABOUT", p.homepage.clone()),
        ("ARPCOMMENTS", p.summary.clone()),
        // No maintenance UI: features change through msiexec ADDLOCAL=.
        ("ARPNOMODIFY", "1".into()),
    ] {
        b.prop(k, &v)?;
    }
    Ok(())
}

/// The agent's service, owned by the agent's component.
fn service(b: &mut Builder, m: &Manifest) -> Result<(), PackageError> {
    let spec = ServiceSpec::from_manifest(m, Platform::Windows);
    Ok(winsvc::add(
        &mut b.db,
        &spec,
        &m.service.windows_name,
        program_files::AGENT_COMPONENT,
    )?)
}

/// Public properties the server side may receive, and those kept out of
/// the log.
fn secure_and_hidden(b: &mut Builder, settings: &[&Setting]) -> Result<(), PackageError> {
    let mut secure: Vec<String> = settings.iter().map(|s| s.msi_property.clone()).collect();
    secure.extend(upgrades::DETECTED.map(String::from));
    secure.append(&mut b.secure);
    b.prop("SecureCustomProperties", &secure.join(";"))?;
    if b.hidden.is_empty() {
        return Ok(());
    }
    let hidden = b.hidden.join(";");
    b.prop("MsiHiddenProperties", &hidden)?;
    // MsiHiddenProperties hides property values, not the ActionData
    // WriteIniValues logs per line ("Key: [3], Value: [4]"): leave the value out.
    b.add(ActionText {
        action: "WriteIniValues".into(),
        description: "Writing the installer answers".into(),
        template: "File: [1], Section: [2], Key: [3]".into(),
    })
}

/// The cabinet, files in sequence order, on the one disk.
fn media(b: &mut Builder, source_date: u64) -> Result<(), PackageError> {
    let last_sequence = b.files.len() as i32;
    b.add(Media {
        disk_id: 1,
        last_sequence,
        cabinet: "#product.cab".into(),
    })?;
    let cab_bytes = cab::cabinet(&b.files, source_date)?;
    b.db.streams.insert("product.cab".into(), cab_bytes);
    Ok(())
}
