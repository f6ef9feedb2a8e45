//! The product manifest compiled into an installer database: directories,
//! one component per installed resource, a feature per manifest feature
//! (IDs are a stable interface for ADDLOCAL), settings as public properties
//! remembered across upgrades, the service, upgrades and legacy removal.

use md5::{Digest, Md5};
use outpost_manifest::{Manifest, Platform, Setting};
use sha2::Sha256;

use super::conditions;
use crate::msi::{cab, filename, guid, schema, Database, FileTime, PackageKind, Value};
use crate::packager::{BuildContext, PackageError};
use crate::service::{windows as winsvc, ServiceSpec};
use crate::target::{Arch, Target};

const REMEMBER_ROOT: i32 = 2; // HKEY_LOCAL_MACHINE
/// msidbLocatorTypeRawValue, plus msidbLocatorType64bit on x64.
const LOCATOR_RAW: i32 = 2;
const LOCATOR_64: i32 = 16;
/// Custom action types: 51 sets a property, 19 stops with an error message,
/// 18 runs an installed executable (here deferred, in the system context),
/// 1 calls a DLL from the Binary table (immediate).
const CA_SET_PROPERTY: i32 = 51;
const CA_ERROR: i32 = 19;
const CA_EXE_DEFERRED_SYSTEM: i32 = 18 | 0x400 | 0x800;
const CA_DLL: i32 = 1;
/// Accumulates the settings whose values are refused (written by the
/// custom action DLL, packaging/msi-ca).
const INVALID: &str = "INVALIDSETTINGS";
/// The custom action DLL's Binary row, and the property holding its rules.
const CHECK_BINARY: &str = "OmnipackCA";
const CHECK_RULES: &str = "OmnipackAnswerRules";

fn err(e: impl std::fmt::Display) -> PackageError {
    PackageError::Invalid(format!("MSI: {e}"))
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
    Ids { product_code, package_code, component_ns: base }
}

/// Property names used by the remember pattern, derived from a setting's
/// position so they stay short identifiers.
fn cmd_prop(i: usize) -> String {
    format!("OPCMD{i}")
}

/// Windows-side directory names from the manifest's layout.
struct Dirs {
    install: String,
    data: String,
    logs: String,
    state: String,
}

fn last_component(path: &str) -> &str {
    path.trim_end_matches('\\').rsplit('\\').next().unwrap_or(path)
}

fn dirs(m: &Manifest) -> Result<Dirs, PackageError> {
    let l = m.layout(Platform::Windows);
    let parent = |p: &str| p.rsplit_once('\\').map(|(d, _)| d.to_string()).unwrap_or_default();
    let install = parent(&l.binary);
    let data = parent(&l.config_file);
    // The MSI places program files directly under ProgramFiles[64]Folder and
    // data under CommonAppDataFolder; other shapes need directories the
    // manifest cannot name yet.
    let checks = [
        ("binary", &l.binary, install.starts_with("C:\\Program Files\\") && !install[17..].contains('\\')),
        ("defaults_file", &l.defaults_file, parent(&l.defaults_file) == install),
        ("config_file", &l.config_file, data.starts_with("C:\\ProgramData\\") && !data[15..].contains('\\')),
        ("answers_file", &l.answers_file, parent(&l.answers_file) == data),
        ("log_dir", &l.log_dir, parent(&l.log_dir) == data),
        ("state_dir", &l.state_dir, parent(&l.state_dir) == data),
    ];
    for (what, path, ok) in checks {
        if !ok {
            return Err(PackageError::Invalid(format!(
                "layout.windows.{what} `{path}`: the MSI needs program files in one folder directly under C:\\Program Files, and data, answers, logs and state in or directly under one folder of C:\\ProgramData"
            )));
        }
    }
    Ok(Dirs {
        install: last_component(&install).to_string(),
        data: last_component(&data).to_string(),
        logs: last_component(&l.log_dir).to_string(),
        state: last_component(&l.state_dir).to_string(),
    })
}

struct Builder {
    db: Database,
    ids: Ids,
    x64: bool,
    /// (file key, component, long name, directory, bytes)
    files: Vec<(String, Vec<u8>)>,
}

impl Builder {
    fn row(&mut self, def: crate::msi::TableDef, row: Vec<Value>) -> Result<(), PackageError> {
        self.db.insert(def, row).map_err(err)
    }

    fn prop(&mut self, name: &str, value: &str) -> Result<(), PackageError> {
        self.row(schema::property(), vec![name.into(), value.into()])
    }

    fn component(&mut self, id: &str, dir: &str, key_path: Option<&str>) -> Result<(), PackageError> {
        self.component_with(id, dir, key_path, 0)
    }

    fn component_with(&mut self, id: &str, dir: &str, key_path: Option<&str>, extra: i32) -> Result<(), PackageError> {
        let code = guid::guid("component", &format!("{}/{id}", self.ids.component_ns));
        let attrs = extra | if self.x64 { 256 } else { 0 }; // msidbComponentAttributes64bit
        self.row(schema::component(), vec![id.into(), code.into(), dir.into(), attrs.into(), Value::Null, key_path.into()])
    }

    fn feature_component(&mut self, feature: &str, component: &str) -> Result<(), PackageError> {
        self.row(schema::feature_components(), vec![feature.into(), component.into()])
    }

    fn file(&mut self, key: &str, component: &str, dir: &str, long: &str, data: Vec<u8>) -> Result<(), PackageError> {
        let sequence = self.files.len() as i32 + 1;
        let name = filename::file_name(long, dir).map_err(err)?;
        self.row(
            schema::file(),
            vec![key.into(), component.into(), name.into(), (data.len() as i32).into(), Value::Null, Value::Null, 512.into(), sequence.into()],
        )?;
        // Our files carry no version resource: without a hash, repair and
        // patches would keep an old file of the same size.
        let md5 = Md5::digest(&data);
        let part = |i: usize| i32::from_le_bytes(md5[i * 4..i * 4 + 4].try_into().expect("16-byte digest"));
        self.row(schema::msi_file_hash(), vec![key.into(), 0.into(), part(0).into(), part(1).into(), part(2).into(), part(3).into()])?;
        self.files.push((key.to_string(), data));
        Ok(())
    }

    fn custom_action(&mut self, name: &str, kind: i32, source: &str, target: &str) -> Result<(), PackageError> {
        self.row(schema::custom_action(), vec![name.into(), kind.into(), source.into(), target.into(), Value::Null])
    }

    /// Schedules an action in the UI and execute sequences (UI only runs
    /// for interactive installs; /qn runs the execute sequence alone).
    fn both(&mut self, action: &str, condition: Option<&str>, seq: i32) -> Result<(), PackageError> {
        self.row(schema::install_execute_sequence(), vec![action.into(), condition.into(), seq.into()])?;
        self.row(schema::install_ui_sequence(), vec![action.into(), condition.into(), seq.into()])
    }

    fn execute(&mut self, action: &str, condition: Option<&str>, seq: i32) -> Result<(), PackageError> {
        self.row(schema::install_execute_sequence(), vec![action.into(), condition.into(), seq.into()])
    }
}

/// Every setting's property checked before anything is installed, by the
/// same Rust rule the agent runs: the DLL custom action `CheckAnswers`
/// (after the defaults at 500+, at 600, in both sequences) reads the rules
/// from the `OmnipackAnswerRules` property and appends each refusal to
/// INVALIDSETTINGS, which `RefuseInvalidSettings` (700) turns into an error.
/// Not on uninstall: a stale remembered value must not block a removal.
fn answer_checks(b: &mut Builder, settings: &[&Setting], check_dll: &[u8]) -> Result<(), PackageError> {
    let rules: Vec<serde_json::Value> = settings
        .iter()
        .map(|s| serde_json::json!({"property": s.msi_property, "name": s.name, "secret": s.secret, "kind": s.kind}))
        .collect();
    let rules = serde_json::to_string(&rules).map_err(err)?;
    b.prop(CHECK_RULES, &rules)?;
    b.row(schema::binary(), vec![CHECK_BINARY.into(), Value::Binary(check_dll.to_vec())])?;
    b.custom_action("CheckAnswers", CA_DLL, CHECK_BINARY, "CheckAnswers")?;
    b.both("CheckAnswers", Some("NOT (REMOVE~=\"ALL\")"), 600)?;
    b.custom_action("RefuseInvalidSettings", CA_ERROR, "", &format!("Invalid installer properties, nothing was installed: [{INVALID}]"))?;
    b.both("RefuseInvalidSettings", Some(INVALID), 700)
}

/// The Windows versions the product supports (shared notes,
/// platforms.md), named by every refusal below.
const SUPPORTED_WINDOWS: &str = "Windows 10, Windows 11, Windows Server 2016, Windows Server 2019 or Windows Server 2022";
/// The first build of Windows 10 (1507); 8.1 and Server 2012 R2 are 9600.
const FIRST_WINDOWS_10_BUILD: i32 = 10240;

/// Which Windows the package installs on. No agent is shipped for Windows
/// below 10: Rust's standard library needs Windows 10 since 1.78 (it
/// imports `ProcessPrng` from bcryptprimitives.dll), so on Vista to 8.1 /
/// Server 2008 to 2012 R2 the service could not start; XP and Server 2003
/// (NT 5.x) are refused by the product itself. Each gets its own message.
///
/// `VersionNT` tells NT 5.x from 6.x but not 8.1 from 10: msiexec is not
/// manifested for Windows 10, so Windows Installer reports `VersionNT` 603
/// and `WindowsBuild` 9600 on Windows 10 and 11. The real version comes from
/// the registry (AppSearch, 64-bit view on x64): `CurrentBuildNumber`
/// (REG_SZ, every NT; >= 10240 from Windows 10 on) and
/// `CurrentMajorVersionNumber` (REG_DWORD, read back as `#10`; Windows 10
/// and later only on Windows, though Wine writes it for every version).
/// Either one saying 10 is enough; nothing found refuses (fails closed).
///
/// Every condition starts with `Installed`: a repair, a patch or an
/// uninstall of the installed product is never blocked. LaunchConditions
/// runs right after AppSearch, before the CheckAnswers DLL, which (Rust,
/// like the agent) could not even be loaded on those systems.
fn launch_conditions(b: &mut Builder, product: &str) -> Result<(), PackageError> {
    let locator = LOCATOR_RAW + if b.x64 { LOCATOR_64 } else { 0 };
    let key = "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion";
    for (signature, value, prop) in [("OsBuild", "CurrentBuildNumber", "OUTPOSTOSBUILD"), ("OsMajor", "CurrentMajorVersionNumber", "OUTPOSTOSMAJOR")] {
        b.row(schema::reg_locator(), vec![signature.into(), REMEMBER_ROOT.into(), key.into(), value.into(), locator.into()])?;
        b.row(schema::app_search(), vec![prop.into(), signature.into()])?;
    }
    let refusals = [
        ("Installed OR VersionNT>=600".to_string(), format!("{product} cannot be installed on Windows XP or Windows Server 2003; it needs {SUPPORTED_WINDOWS}. Nothing was installed.")),
        (
            format!("Installed OR VersionNT<600 OR VersionNT>603 OR OUTPOSTOSMAJOR=\"#10\" OR OUTPOSTOSBUILD>={FIRST_WINDOWS_10_BUILD}"),
            format!("{product} needs {SUPPORTED_WINDOWS}: its service cannot run on Windows Vista to 8.1 or Windows Server 2008 to 2012 R2. Nothing was installed."),
        ),
    ];
    for (condition, message) in refusals {
        b.row(schema::launch_condition(), vec![condition.into(), message.into()])?;
    }
    if b.x64 {
        b.row(schema::launch_condition(), vec!["Installed OR VersionNT64".into(), format!("This package of {product} is for 64-bit Windows; use the x86 package.").into()])?;
    }
    Ok(())
}

/// `check_dll`: the custom action DLL (packaging/msi-ca) built for the
/// package's architecture.
pub fn compile(ctx: &BuildContext, target: &Target, agent: &[u8], check_dll: &[u8]) -> Result<Database, PackageError> {
    let m = &ctx.manifest;
    let p = &m.product;
    let x64 = target.arch == Arch::X86_64;
    let mut b = Builder { db: Database::new(PackageKind::Installer), ids: ids(m, target, &[agent, check_dll]), x64, files: Vec::new() };
    let d = dirs(m)?;
    let layout = m.layout(Platform::Windows);

    // Summary information: identity and a fixed time for reproducibility.
    let s = &mut b.db.summary;
    s.subject = Some(p.name.clone());
    s.author = Some(p.vendor.clone());
    s.keywords = Some("Installer".into());
    s.comments = Some(p.summary.clone());
    s.template = Some(format!("{};1033", if x64 { "x64" } else { "Intel" }));
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
    s.word_count = Some(2); // compressed, long file names
    s.creating_application = Some("omnipack".into());
    s.security = Some(2);

    // Directories.
    let pf = if x64 { "ProgramFiles64Folder" } else { "ProgramFilesFolder" };
    let dir = |b: &mut Builder, id: &str, parent: Option<&str>, name: &str| -> Result<(), PackageError> {
        let default = match parent {
            None => "SourceDir".to_string(),
            Some(par) => filename::directory_name(name, par).map_err(err)?,
        };
        b.row(schema::directory(), vec![id.into(), parent.into(), default.into()])
    };
    dir(&mut b, "TARGETDIR", None, "")?;
    dir(&mut b, pf, Some("TARGETDIR"), ".")?;
    dir(&mut b, "INSTALLDIR", Some(pf), &d.install)?;
    dir(&mut b, "FEATURESDIR", Some("INSTALLDIR"), "features")?;
    dir(&mut b, "CommonAppDataFolder", Some("TARGETDIR"), ".")?;
    dir(&mut b, "DATADIR", Some("CommonAppDataFolder"), &d.data)?;
    dir(&mut b, "LOGDIR", Some("DATADIR"), &d.logs)?;
    dir(&mut b, "STATEDIR", Some("DATADIR"), &d.state)?;

    // Identity properties and Add/Remove Programs.
    let settings: Vec<&Setting> = m.settings_on(Platform::Windows).collect();
    let mut secure: Vec<String> = settings.iter().map(|s| s.msi_property.clone()).collect();
    secure.extend(["OLDERVERSIONSFOUND".into(), "NEWERVERSIONDETECTED".into()]);
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

    // Features: IDs from the manifest; optional ones follow their
    // enablement property (Condition rows), or ADDLOCAL/REMOVE directly.
    let arch = target.arch_word();
    let features: Vec<_> = m.features_on(Platform::Windows).filter(|f| f.exists_on_windows_arch(arch)).collect();
    for (i, f) in features.iter().enumerate() {
        let (level, attrs) = if f.required { (1, 16) } else { (101, 0) }; // 16 = UIDisallowAbsent
        b.row(
            schema::feature(),
            vec![
                f.msi_feature.as_str().into(),
                Value::Null,
                f.title.as_str().into(),
                f.description.as_str().into(),
                ((i as i32 + 1) * 2).into(),
                level.into(),
                "INSTALLDIR".into(),
                attrs.into(),
            ],
        )?;
        if let Some(setting) = f.enabled_by.as_ref().and_then(|n| m.setting(n)) {
            let prop = &setting.msi_property;
            b.row(schema::condition(), vec![f.msi_feature.as_str().into(), 1.into(), format!("{prop}=\"1\" OR {prop}~=\"true\"").into()])?;
        }
    }
    let client = features.iter().find(|f| f.required).map(|f| f.msi_feature.clone()).ok_or_else(|| err("no required feature"))?;

    // Program files: the agent, the shipped defaults, one marker per feature.
    let exe_name = last_component(&layout.binary).to_string();
    b.component("Agent", "INSTALLDIR", Some("AgentExe"))?;
    b.file("AgentExe", "Agent", "INSTALLDIR", &exe_name, agent.to_vec())?;
    b.feature_component(&client, "Agent")?;
    let spec = ServiceSpec::from_manifest(m, Platform::Windows);
    winsvc::add(&mut b.db, &spec, &m.service.windows_name, "Agent").map_err(err)?;

    let defaults = outpost_manifest::settings_file::render_defaults(m, Platform::Windows).replace('\n', "\r\n");
    b.component("Defaults", "INSTALLDIR", Some("DefaultsConf"))?;
    b.file("DefaultsConf", "Defaults", "INSTALLDIR", last_component(&layout.defaults_file), defaults.into_bytes())?;
    b.feature_component(&client, "Defaults")?;

    for f in features.iter().filter(|f| !f.required) {
        let comp = format!("Feature.{}", f.msi_feature);
        let key = format!("Marker.{}", f.msi_feature);
        b.component(&comp, "FEATURESDIR", Some(&key))?;
        let text = format!("{}\r\n{}\r\n", f.title, f.description);
        b.file(&key, &comp, "FEATURESDIR", &format!("{}.feature", f.id), text.into_bytes())?;
        b.feature_component(&f.msi_feature, &comp)?;
    }

    // Settings: remembered in the registry, written to the installer-answers
    // file through IniFile rows, validated before anything is installed
    // (`answer_checks`).
    // Secrets are listed in MsiHiddenProperties and never remembered: the
    // key is readable by every user, and a value there is plain text.
    let remember_key = format!("SOFTWARE\\{}\\{}\\Settings", p.vendor, p.name);
    let first_remembered = settings.iter().position(|s| !s.secret).ok_or_else(|| err("every setting is secret: nothing to remember"))?;
    // msidbComponentAttributesRegistryKeyPath: the first remembered value.
    b.component_with("Settings", "INSTALLDIR", Some(&format!("Remember{first_remembered}")), 4)?;
    b.feature_component(&client, "Settings")?;
    b.component("Answers", "DATADIR", None)?;
    b.feature_component(&client, "Answers")?;
    let answers_name = last_component(&layout.answers_file).to_string();
    let answers_file = filename::file_name(&answers_name, "DATADIR").map_err(err)?;
    let locator = LOCATOR_RAW + if x64 { LOCATOR_64 } else { 0 };
    // Each phase below owns a block of 100 sequence numbers.
    if settings.len() > 100 {
        return Err(PackageError::Invalid("more than 100 settings do not fit the MSI sequence layout".into()));
    }
    let mut hidden = Vec::new();
    for (i, s) in settings.iter().enumerate() {
        let prop = s.msi_property.as_str();
        let cmd = cmd_prop(i);
        if s.secret {
            hidden.push(prop.to_string());
        } else {
            b.row(schema::registry(), vec![format!("Remember{i}").into(), REMEMBER_ROOT.into(), remember_key.as_str().into(), s.name.as_str().into(), format!("[{prop}]").into(), "Settings".into()])?;
            b.row(schema::reg_locator(), vec![format!("Remembered{i}").into(), REMEMBER_ROOT.into(), remember_key.as_str().into(), s.name.as_str().into(), locator.into()])?;
            b.row(schema::app_search(), vec![prop.into(), format!("Remembered{i}").into()])?;
            // Order (both sequences): keep an explicit value (command line or
            // transform) across AppSearch, which would overwrite it with the
            // remembered one; then a legacy client's value; then the default.
            b.custom_action(&format!("Keep{i}"), CA_SET_PROPERTY, &cmd, &format!("[{prop}]"))?;
            b.both(&format!("Keep{i}"), Some(prop), 100 + i as i32)?;
            b.custom_action(&format!("Restore{i}"), CA_SET_PROPERTY, prop, &format!("[{cmd}]"))?;
            b.both(&format!("Restore{i}"), Some(&cmd), 300 + i as i32)?;
        }
        b.row(
            schema::ini_file(),
            vec![format!("Answer{i}").into(), answers_file.as_str().into(), "DATADIR".into(), "Settings".into(), s.name.as_str().into(), format!("[{prop}]").into(), 0.into(), "Answers".into()],
        )?;
        let default = s.default_for(Platform::Windows).unwrap_or_default();
        if !conditions::literal_ok(default) {
            return Err(PackageError::Invalid(format!("settings[{}].default: `{default}` cannot be an MSI property value", s.name)));
        }
        if !default.is_empty() {
            b.custom_action(&format!("Default{i}"), CA_SET_PROPERTY, prop, default)?;
            b.both(&format!("Default{i}"), Some(&format!("NOT {prop}")), 500 + i as i32)?;
        }
    }
    answer_checks(&mut b, &settings, check_dll)?;
    // A legacy client's settings, read from its registry key.
    let mut n = 0;
    for l in &m.legacy {
        let Some(key) = l.windows.as_ref().and_then(|w| w.registry_key.as_ref()) else { continue };
        for (from, to) in &l.carry {
            let Some(s) = settings.iter().find(|s| &s.name == to) else { continue };
            let legacy_prop = format!("LEGACYVALUE{n}");
            b.row(schema::reg_locator(), vec![format!("Legacy{n}").into(), REMEMBER_ROOT.into(), key.as_str().into(), from.as_str().into(), locator.into()])?;
            b.row(schema::app_search(), vec![legacy_prop.as_str().into(), format!("Legacy{n}").into()])?;
            b.custom_action(&format!("Legacy{n}"), CA_SET_PROPERTY, &s.msi_property, &format!("[{legacy_prop}]"))?;
            b.both(&format!("Legacy{n}"), Some(&format!("NOT {} AND {legacy_prop}", s.msi_property)), 400 + n)?;
            if s.secret {
                hidden.push(legacy_prop.clone());
            }
            secure.push(legacy_prop);
            n += 1;
        }
    }
    // Explicit feature requests (ADDLOCAL/REMOVE) win over the properties;
    // bring the properties in line so the agent's settings agree.
    for (j, f) in features.iter().enumerate() {
        let Some(setting) = f.enabled_by.as_ref().and_then(|n| m.setting(n)) else { continue };
        let prop = &setting.msi_property;
        let fid = &f.msi_feature;
        b.custom_action(&format!("FeatureOn{j}"), CA_SET_PROPERTY, prop, "true")?;
        b.both(&format!("FeatureOn{j}"), Some(&format!("&{fid}=3 OR (&{fid}<0 AND !{fid}=3)")), 1200 + 2 * j as i32)?;
        b.custom_action(&format!("FeatureOff{j}"), CA_SET_PROPERTY, prop, "false")?;
        b.both(&format!("FeatureOff{j}"), Some(&format!("&{fid}=2 OR (&{fid}<0 AND !{fid}<>3)")), 1201 + 2 * j as i32)?;
    }
    b.prop("SecureCustomProperties", &secure.join(";"))?;
    if !hidden.is_empty() {
        b.prop("MsiHiddenProperties", &hidden.join(";"))?;
        // MsiHiddenProperties hides property values, not the ActionData
        // WriteIniValues logs per line ("Key: [3], Value: [4]"): leave the value out.
        b.row(schema::action_text(), vec!["WriteIniValues".into(), "Writing the installer answers".into(), "File: [1], Section: [2], Key: [3]".into()])?;
    }

    let remove_admin = match m.removal.administrator_config {
        outpost_manifest::ConfigOnRemoval::Remove => Some(filename::file_name(last_component(&layout.config_file), "DATADIR").map_err(err)?),
        outpost_manifest::ConfigOnRemoval::Keep => None,
    };
    // Data folders: created on install; what the service and the installer
    // wrote is removed on uninstall; the administrator's own file as the
    // manifest's `removal.administrator_config` says.
    b.component("DataFolders", "DATADIR", None)?;
    b.feature_component(&client, "DataFolders")?;
    for folder in ["DATADIR", "LOGDIR", "STATEDIR"] {
        b.row(schema::create_folder(), vec![folder.into(), "DataFolders".into()])?;
    }
    for (key, file, folder) in [
        ("RemoveAnswers", Some(answers_file.as_str()), "DATADIR"),
        ("RemoveLogs", Some("*"), "LOGDIR"),
        ("RemoveLogDir", None, "LOGDIR"),
        ("RemoveState", Some("*"), "STATEDIR"),
        ("RemoveStateDir", None, "STATEDIR"),
        ("RemoveDataDir", None, "DATADIR"),
    ]
    .into_iter()
    .chain(remove_admin.as_deref().map(|f| ("RemoveAdminConfig", Some(f), "DATADIR")))
    {
        b.row(schema::remove_file(), vec![key.into(), "DataFolders".into(), file.into(), folder.into(), 2.into()])?;
    }

    // The agent checks the answers it will run with, inside the
    // transaction: a failure rolls the whole install back.
    b.custom_action("CheckSettings", CA_EXE_DEFERRED_SYSTEM, "AgentExe", &format!("config check \"[DATADIR]{answers_name}\""))?;

    // Upgrades: replace any earlier version, refuse to replace a newer one,
    // remove every legacy client.
    let v = p.version.as_str();
    b.row(schema::upgrade(), vec![p.upgrade_code.as_str().into(), Value::Null, v.into(), Value::Null, 1.into(), Value::Null, "OLDERVERSIONSFOUND".into()])?;
    b.row(schema::upgrade(), vec![p.upgrade_code.as_str().into(), v.into(), Value::Null, Value::Null, 2.into(), Value::Null, "NEWERVERSIONDETECTED".into()])?;
    for (k, code) in m.legacy.iter().flat_map(|l| l.windows.iter().flat_map(|w| w.upgrade_codes.iter())).enumerate() {
        let prop = format!("LEGACYPRODUCT{k}");
        b.row(schema::upgrade(), vec![code.as_str().into(), "0.0.0".into(), Value::Null, Value::Null, 0x100.into(), Value::Null, prop.as_str().into()])?;
        secure.push(prop);
    }
    b.db.table_mut("Property").expect("inserted above").set(&["SecureCustomProperties".into()], "Value", secure.join(";")).map_err(err)?;
    b.custom_action("BlockDowngrade", CA_ERROR, "", &format!("A newer version of {} is already installed; uninstall it first to go back.", p.name))?;
    b.both("BlockDowngrade", Some("NEWERVERSIONDETECTED AND NOT Installed"), 11)?;

    launch_conditions(&mut b, &p.name)?;

    // Standard actions.
    for (a, c, n) in [
        ("FindRelatedProducts", None, 10),
        ("AppSearch", None, 200),
        ("LaunchConditions", None, 250),
        ("ValidateProductID", None, 720),
        ("CostInitialize", None, 800),
        ("FileCost", None, 900),
        ("CostFinalize", None, 1000),
        ("MigrateFeatureStates", None, 1100),
    ] {
        b.both(a, c, n)?;
    }
    b.row(schema::install_ui_sequence(), vec!["ExecuteAction".into(), Value::Null, 1300.into()])?;
    for (a, c, n) in [
        ("InstallValidate", None, 1400),
        ("InstallInitialize", None, 1500),
        ("RemoveExistingProducts", None, 1510),
        ("ProcessComponents", None, 1600),
        ("UnpublishFeatures", None, 1800),
        ("StopServices", Some("VersionNT"), 1900),
        ("DeleteServices", Some("VersionNT"), 2000),
        ("RemoveRegistryValues", None, 2600),
        ("RemoveIniValues", None, 3100),
        ("RemoveFiles", None, 3500),
        ("RemoveFolders", None, 3600),
        ("CreateFolders", None, 3700),
        ("InstallFiles", None, 4000),
        ("WriteRegistryValues", None, 5000),
        ("WriteIniValues", None, 5100),
        ("InstallServices", Some("VersionNT"), 5800),
        ("MsiConfigureServices", Some("VersionMsi >= \"5.00\""), 5850),
        ("CheckSettings", Some("NOT REMOVE~=\"ALL\""), 5870),
        ("StartServices", Some("VersionNT"), 5900),
        ("RegisterUser", None, 6000),
        ("RegisterProduct", None, 6100),
        ("PublishFeatures", None, 6300),
        ("PublishProduct", None, 6400),
        ("InstallFinalize", None, 6600),
    ] {
        b.execute(a, c, n)?;
    }

    // The cabinet, files in sequence order.
    let last = b.files.len() as i32;
    b.row(schema::media(), vec![1.into(), last.into(), Value::Null, "#product.cab".into(), Value::Null, Value::Null])?;
    let cab_bytes = cab::cabinet(&b.files, ctx.source_date).map_err(err)?;
    b.db.streams.insert("product.cab".into(), cab_bytes);
    Ok(b.db)
}
