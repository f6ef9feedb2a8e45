//! Raw manifest -> validated `Manifest`. Each check names the key it is about.

use std::collections::{BTreeMap, BTreeSet};

use crate::manifest::*;
use crate::raw::*;
use crate::{ManifestError, Platform, Setting, SettingType};

pub(crate) fn deserialize(text: &str, file: &str) -> Result<RawManifest, ManifestError> {
    let de = toml::Deserializer::parse(text).map_err(|e| toml_error(&e, text, file, String::new()))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        toml_error(e.inner(), text, file, if key == "." { String::new() } else { key })
    })
}

fn toml_error(e: &toml::de::Error, text: &str, file: &str, key: String) -> ManifestError {
    ManifestError {
        file: file.to_string(),
        line: e.span().map(|span| line_col(text, span.start)),
        key,
        reason: e.message().trim().to_string(),
    }
}

/// 1-based line and column of byte `offset`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

/// Where the key a validation error names is written: `settings[Name].max`
/// is the `max` key of the `[[settings]]` entry whose `name` is `Name`
/// (`legacy[id]` matches `id`; a number is an index). When the key itself is
/// absent (a missing `default`), the nearest enclosing entry.
pub(crate) fn locate(text: &str, key: &str) -> Option<(usize, usize)> {
    use toml::de::{DeTable, DeValue};
    let root = DeValue::Table(DeTable::parse(text).ok()?.into_inner());
    let mut segments = Vec::new();
    let mut rest = key;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            let (sel, after) = inner.split_once(']')?;
            segments.push((true, sel));
            rest = after;
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            segments.push((false, &rest[..end]));
            rest = &rest[end..];
        }
        rest = rest.strip_prefix('.').unwrap_or(rest);
    }
    let mut value = &root;
    let mut found = None;
    for (selector, name) in segments {
        let next = match (selector, value) {
            (false, DeValue::Table(t)) => t.get_key_value(name).map(|(k, v)| (k.span().start, v)),
            (true, DeValue::Array(items)) => {
                let by_name = |item: &&toml::Spanned<DeValue>| {
                    let DeValue::Table(t) = item.get_ref() else { return false };
                    ["name", "id"].iter().any(|k| {
                        t.get(*k)
                            .is_some_and(|v| matches!(v.get_ref(), DeValue::String(s) if s.as_ref() == name))
                    })
                };
                let item = match name.parse::<usize>() {
                    Ok(i) => items.get(i),
                    Err(_) => items.iter().find(by_name),
                };
                item.map(|v| (v.span().start, v))
            }
            _ => None,
        };
        let Some((start, v)) = next else { break };
        found = Some(start);
        value = v.get_ref();
    }
    found.map(|offset| line_col(text, offset))
}

/// Uppercase properties the Windows Installer or msiexec already own.
const RESERVED_MSI_PROPERTIES: &[&str] = &[
    "ACTION",
    "ADDDEFAULT",
    "ADDLOCAL",
    "ADDSOURCE",
    "ADVERTISE",
    "ALLUSERS",
    "ARPAUTHORIZEDCDFPREFIX",
    "ARPCOMMENTS",
    "ARPCONTACT",
    "ARPHELPLINK",
    "ARPHELPTELEPHONE",
    "ARPINSTALLLOCATION",
    "ARPNOMODIFY",
    "ARPNOREMOVE",
    "ARPNOREPAIR",
    "ARPPRODUCTICON",
    "ARPREADME",
    "ARPSIZE",
    "ARPSYSTEMCOMPONENT",
    "ARPURLINFOABOUT",
    "ARPURLUPDATEINFO",
    "COMPADDDEFAULT",
    "COMPADDLOCAL",
    "COMPADDSOURCE",
    "COMPANYNAME",
    "DISABLEADVTSHORTCUTS",
    "DISABLEMEDIA",
    "DISABLEROLLBACK",
    "EXECUTEACTION",
    "EXECUTEMODE",
    "FILEADDDEFAULT",
    "FILEADDLOCAL",
    "FILEADDSOURCE",
    "INSTALLLEVEL",
    "LIMITUI",
    "LOGACTION",
    "MEDIAPACKAGEPATH",
    "MSIDISABLERMRESTART",
    "MSIFASTINSTALL",
    "MSIINSTANCEGUID",
    "MSINEWINSTANCE",
    "MSINODISABLEMEDIA",
    "MSIPATCHREMOVE",
    "MSIRESTARTMANAGERCONTROL",
    "NOCOMPANYNAME",
    "NOUSERNAME",
    "PATCH",
    "PATCHNEWPACKAGECODE",
    "PATCHNEWSUMMARYCOMMENTS",
    "PATCHNEWSUMMARYSUBJECT",
    "PIDKEY",
    "PRIMARYFOLDER",
    "PROMPTROLLBACKCOST",
    "REBOOT",
    "REBOOTPROMPT",
    "REINSTALL",
    "REINSTALLMODE",
    "REMOVE",
    "ROOTDRIVE",
    "SEQUENCE",
    "SHORTFILENAMES",
    "SOURCELIST",
    "TARGETDIR",
    "TRANSFORMS",
    "TRANSFORMSATSOURCE",
    "TRANSFORMSSECURE",
    "USERNAME",
];

struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    fn err(&self, key: impl Into<String>, reason: impl Into<String>) -> ManifestError {
        ManifestError::new(self.file, key, reason)
    }
}

fn is_ident(s: &str, first: impl Fn(char) -> bool, rest: impl Fn(char) -> bool) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(first) && chars.all(rest)
}

fn check_guid(ctx: &Ctx, key: &str, s: &str) -> Result<String, ManifestError> {
    let inner = s.strip_prefix('{').and_then(|x| x.strip_suffix('}')).unwrap_or(s);
    let groups: Vec<&str> = inner.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if !ok {
        return Err(ctx.err(
            key,
            format!("`{s}` is not a GUID; allowed: {{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}}"),
        ));
    }
    Ok(format!("{{{}}}", inner.to_ascii_uppercase()))
}

fn check_reverse_dns(ctx: &Ctx, key: &str, s: &str) -> Result<(), ManifestError> {
    let parts: Vec<&str> = s.split('.').collect();
    let ok = parts.len() >= 2
        && parts
            .iter()
            .all(|p| is_ident(p, |c| c.is_ascii_alphanumeric(), |c| c.is_ascii_alphanumeric() || c == '-'));
    if ok {
        Ok(())
    } else {
        Err(ctx.err(
            key,
            format!("`{s}` is not a reverse-DNS identifier such as com.example.agent"),
        ))
    }
}

fn check_package_name(ctx: &Ctx, key: &str, s: &str) -> Result<(), ManifestError> {
    // The intersection of Debian's and RPM's rules, lower case only.
    if s.len() >= 2
        && is_ident(
            s,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '+' | '.'),
        )
    {
        Ok(())
    } else {
        Err(ctx.err(key, format!("`{s}` is not a package name; allowed: lower-case letters, digits, '-', '+', '.', starting with a letter or digit")))
    }
}

/// MSI ProductVersion: major.minor.build, with major and minor below 256 and
/// build below 65536; the same string is the deb upstream version and rpm Version.
fn check_version(ctx: &Ctx, key: &str, s: &str) -> Result<(), ManifestError> {
    let parts: Vec<&str> = s.split('.').collect();
    let limits = [255u32, 255, 65535];
    let ok = parts.len() == 3
        && parts
            .iter()
            .zip(limits)
            .all(|(p, max)| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) && p.parse::<u32>().is_ok_and(|n| n <= max));
    if ok {
        Ok(())
    } else {
        Err(ctx.err(
            key,
            format!(
                "`{s}` is not major.minor.build with major, minor <= 255 and build <= 65535 (what MSI ProductVersion allows)"
            ),
        ))
    }
}

pub(crate) fn validate(raw: RawManifest, file: &str) -> Result<Manifest, ManifestError> {
    let ctx = Ctx { file };
    let product = validate_product(&ctx, raw.product)?;
    let features = validate_features(&ctx, raw.features)?;
    let settings = validate_settings(&ctx, raw.settings, &features)?;
    check_enablement(&ctx, &features, &settings)?;
    let service = validate_service(&ctx, raw.service)?;
    let shipped: BTreeSet<Platform> = features.iter().flat_map(|f| f.platforms.iter().copied()).collect();
    let layouts = validate_layouts(&ctx, raw.layout, &shipped)?;
    let legacy = validate_legacy(&ctx, raw.legacy, &settings, &product)?;
    let files = crate::files::validate(raw.file, file, &layouts)?;
    Ok(Manifest {
        product,
        features,
        settings,
        service,
        layouts,
        removal: raw.removal,
        legacy,
        files,
    })
}

fn validate_product(ctx: &Ctx, mut p: Product) -> Result<Product, ManifestError> {
    check_package_name(ctx, "product.id", &p.id)?;
    check_version(ctx, "product.version", &p.version)?;
    if p.revision == 0 {
        return Err(ctx.err("product.revision", "must be 1 or more"));
    }
    p.upgrade_code = check_guid(ctx, "product.upgrade_code", &p.upgrade_code)?;
    check_reverse_dns(ctx, "product.bundle_id", &p.bundle_id)?;
    for (key, v) in [("product.homepage", &p.homepage), ("product.help_url", &p.help_url)] {
        if !v.starts_with("https://") {
            return Err(ctx.err(key, format!("`{v}` must be an https:// URL")));
        }
    }
    if !(p.maintainer.contains('<') && p.maintainer.ends_with('>')) {
        return Err(ctx.err("product.maintainer", "must be `Name <email>` (Debian's Maintainer field)"));
    }
    for (key, v) in [
        ("product.name", &p.name),
        ("product.vendor", &p.vendor),
        ("product.summary", &p.summary),
    ] {
        if v.trim().is_empty() || v.contains('\n') {
            return Err(ctx.err(key, "must be one non-empty line"));
        }
    }
    p.description = p.description.trim().to_string();
    Ok(p)
}

fn validate_features(ctx: &Ctx, raw: BTreeMap<String, RawFeature>) -> Result<Vec<Feature>, ManifestError> {
    let mut features = Vec::new();
    let mut msi_ids = BTreeSet::new();
    for (id, f) in raw {
        let platforms = feature_platforms(ctx, &id, &f)?;
        check_msi_feature(ctx, &id, &f.msi_feature, &mut msi_ids)?;
        if f.required && platforms.len() != Platform::ALL.len() {
            return Err(ctx.err(
                format!("features.{id}.platforms"),
                "a required feature must exist on every platform",
            ));
        }
        let windows_arch = feature_windows_arch(ctx, &id, &f, &platforms)?;
        features.push(Feature {
            id,
            title: f.title,
            description: f.description,
            platforms,
            required: f.required,
            msi_feature: f.msi_feature,
            enabled_by: f.enabled_by,
            windows_arch,
        });
    }
    let required: Vec<&str> = features.iter().filter(|f| f.required).map(|f| f.id.as_str()).collect();
    if required.len() != 1 {
        return Err(ctx.err(
            "features",
            format!(
                "exactly one feature must be `required = true` (the service itself); found {}",
                required.len()
            ),
        ));
    }
    features.sort_by_key(|f| (!f.required, f.id.clone()));
    Ok(features)
}

/// `features.<id>.platforms`, sorted: platforms the agent supports the
/// feature on.
fn feature_platforms(ctx: &Ctx, id: &str, f: &RawFeature) -> Result<Vec<Platform>, ManifestError> {
    let key = format!("features.{id}.platforms");
    let Some((_, supported)) = AGENT_FEATURES.iter().find(|(known, _)| *known == id) else {
        let known: Vec<&str> = AGENT_FEATURES.iter().map(|(k, _)| *k).collect();
        return Err(ctx.err(
            format!("features.{id}"),
            format!("the agent has no feature `{id}`; known: {}", known.join(", ")),
        ));
    };
    if f.platforms.is_empty() {
        return Err(ctx.err(key, "must name at least one platform"));
    }
    for p in &f.platforms {
        if !supported.contains(p) {
            let list: Vec<&str> = supported.iter().map(|p| p.as_str()).collect();
            return Err(ctx.err(
                key,
                format!("feature `{id}` is not supported on {p}; it exists on: {}", list.join(", ")),
            ));
        }
    }
    let mut platforms = f.platforms.clone();
    platforms.sort();
    platforms.dedup();
    Ok(platforms)
}

/// `features.<id>.msi_feature`: an MSI Feature identifier no other feature
/// uses (MSI compares them case-insensitively).
fn check_msi_feature(ctx: &Ctx, id: &str, msi_feature: &str, taken: &mut BTreeSet<String>) -> Result<(), ManifestError> {
    let key = format!("features.{id}.msi_feature");
    if !is_ident(
        msi_feature,
        |c| c.is_ascii_alphabetic() || c == '_',
        |c| c.is_ascii_alphanumeric() || c == '_' || c == '.',
    ) || msi_feature.len() > 38
    {
        return Err(ctx.err(
            key,
            format!("`{msi_feature}` is not an MSI Feature identifier (letters, digits, '_' and '.', at most 38 characters)"),
        ));
    }
    if !taken.insert(msi_feature.to_ascii_lowercase()) {
        return Err(ctx.err(key, format!("`{msi_feature}` is used by another feature")));
    }
    Ok(())
}

/// `features.<id>.windows_arch`, both architectures when absent.
fn feature_windows_arch(ctx: &Ctx, id: &str, f: &RawFeature, platforms: &[Platform]) -> Result<Vec<String>, ManifestError> {
    let key = |k: &str| format!("features.{id}.{k}");
    let Some(list) = &f.windows_arch else {
        return Ok(vec!["x64".to_string(), "x86".to_string()]);
    };
    if list.is_empty() || list.iter().any(|a| a != "x64" && a != "x86") {
        return Err(ctx.err(key("windows_arch"), "must list x64 and/or x86"));
    }
    if !platforms.contains(&Platform::Windows) {
        return Err(ctx.err(key("windows_arch"), format!("feature `{id}` does not exist on windows")));
    }
    if f.required && list.len() != 2 {
        return Err(ctx.err(key("windows_arch"), "a required feature must exist on x64 and x86"));
    }
    Ok(list.clone())
}

fn setting_type(ctx: &Ctx, s: &RawSetting, key: &dyn Fn(&str) -> String) -> Result<SettingType, ManifestError> {
    let mut allowed: &[&str] = &[];
    let kind = match s.kind.as_str() {
        "string" => {
            allowed = &["allow_empty", "max_length"];
            SettingType::String {
                allow_empty: s.allow_empty.unwrap_or(false),
                max_length: s.max_length.unwrap_or(1024),
            }
        }
        "bool" => SettingType::Bool,
        "integer" => {
            allowed = &["min", "max"];
            // Every validator compares at most 18 digits (see `rule.rs`).
            let limit = crate::INTEGER_LIMIT;
            let (min, max) = (s.min.unwrap_or(-limit), s.max.unwrap_or(limit));
            for (k, v) in [("min", min), ("max", max)] {
                if !(-limit..=limit).contains(&v) {
                    return Err(ctx.err(key(k), format!("{v} has more than 18 digits; allowed: -{limit}..={limit}")));
                }
            }
            if min > max {
                return Err(ctx.err(key("min"), format!("min {min} is greater than max {max}")));
            }
            SettingType::Integer { min, max }
        }
        "enum" => {
            allowed = &["values"];
            let values = s.values.clone().unwrap_or_default();
            if values.is_empty() {
                return Err(ctx.err(key("values"), "an enum needs a non-empty `values` list"));
            }
            SettingType::Enum { values }
        }
        "host_port" => SettingType::HostPort,
        "https_url" => SettingType::HttpsUrl,
        "absolute_path" => {
            allowed = &["allow_empty"];
            SettingType::AbsolutePath {
                allow_empty: s.allow_empty.unwrap_or(false),
            }
        }
        other => {
            return Err(ctx.err(
                key("type"),
                format!("unknown type `{other}`; allowed: string, bool, integer, enum, host_port, https_url, absolute_path"),
            ))
        }
    };
    let present = [
        ("min", s.min.is_some()),
        ("max", s.max.is_some()),
        ("values", s.values.is_some()),
        ("allow_empty", s.allow_empty.is_some()),
        ("max_length", s.max_length.is_some()),
    ];
    for (name, is_set) in present {
        if is_set && !allowed.contains(&name) {
            return Err(ctx.err(key(name), format!("not allowed for type `{}`", s.kind)));
        }
    }
    Ok(kind)
}

fn default_text(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn validate_settings(ctx: &Ctx, raw: Vec<RawSetting>, features: &[Feature]) -> Result<Vec<Setting>, ManifestError> {
    let mut settings = Vec::new();
    let mut names = BTreeSet::new();
    let mut props = BTreeSet::new();
    for s in raw {
        let name = s.name.clone();
        let key = |k: &str| format!("settings[{name}].{k}");
        check_setting_name(ctx, &name, &mut names)?;
        check_msi_property(ctx, &name, &s.msi_property, &mut props)?;
        let platforms: Vec<Platform> = match &s.feature {
            None => Platform::ALL.to_vec(),
            Some(fid) => match features.iter().find(|f| &f.id == fid) {
                Some(f) => f.platforms.clone(),
                None => return Err(ctx.err(key("feature"), format!("no feature `{fid}` is declared"))),
            },
        };
        let kind = setting_type(ctx, &s, &key)?;
        // Every installer check and message treats a secret as opaque text:
        // none of them shows a string's value, and nothing else is secret.
        if s.secret && !matches!(kind, SettingType::String { .. }) {
            return Err(ctx.err(
                key("secret"),
                format!("only a `string` setting can be secret, not `{}`", s.kind),
            ));
        }
        let Some(default) = &s.default else {
            return Err(ctx.err(key("default"), "missing; every setting needs a default"));
        };
        let mut defaults = setting_defaults(ctx, &key, default, &platforms)?;
        for (p, text) in defaults.iter_mut() {
            *text = kind
                .canonicalize(text, *p)
                .map_err(|reason| ctx.err(key("default"), format!("bad default for {p}: {reason}")))?;
        }
        if s.secret && defaults.values().any(|d| !d.is_empty()) {
            return Err(ctx.err(
                key("default"),
                "a secret setting must default to empty: secrets are never embedded in a package",
            ));
        }
        settings.push(Setting {
            name,
            kind,
            defaults,
            msi_property: s.msi_property,
            description: s.description,
            secret: s.secret,
            feature: s.feature,
        });
    }
    Ok(settings)
}

/// `settings[<name>].name`: dot-separated letters and digits, unique
/// regardless of case.
fn check_setting_name(ctx: &Ctx, name: &str, taken: &mut BTreeSet<String>) -> Result<(), ManifestError> {
    let key = format!("settings[{name}].name");
    if !is_ident(name, |c| c.is_ascii_alphabetic(), |c| c.is_ascii_alphanumeric() || c == '.')
        || name.ends_with('.')
        || name.contains("..")
    {
        return Err(ctx.err(
            key,
            format!("`{name}` is not a setting name (letters and digits, dot-separated, e.g. Module.Content.Enabled)"),
        ));
    }
    if !taken.insert(name.to_ascii_lowercase()) {
        return Err(ctx.err(key, "declared twice (names compare case-insensitively)"));
    }
    Ok(())
}

/// `settings[<name>].msi_property`: a public MSI property of our own that
/// no other setting uses.
fn check_msi_property(ctx: &Ctx, name: &str, prop: &str, taken: &mut BTreeSet<String>) -> Result<(), ManifestError> {
    let key = format!("settings[{name}].msi_property");
    if !is_ident(
        prop,
        |c| c.is_ascii_uppercase() || c == '_',
        |c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '.',
    ) || prop.len() > 72
    {
        return Err(ctx.err(key, format!("`{prop}` is not a public MSI property name; allowed: upper-case letters, digits, '_' and '.', starting with a letter or '_', at most 72 characters (no '-', no lower case)")));
    }
    if RESERVED_MSI_PROPERTIES.contains(&prop) {
        return Err(ctx.err(key, format!("`{prop}` is a property Windows Installer itself defines")));
    }
    if !taken.insert(prop.to_string()) {
        return Err(ctx.err(key, format!("`{prop}` is used by another setting")));
    }
    Ok(())
}

/// A setting's default text per platform.
type Defaults = BTreeMap<Platform, String>;

/// The default text per platform the setting exists on, as written: one
/// value for all, or a table per platform.
fn setting_defaults(
    ctx: &Ctx,
    key: &dyn Fn(&str) -> String,
    default: &toml::Value,
    platforms: &[Platform],
) -> Result<Defaults, ManifestError> {
    let mut defaults = BTreeMap::new();
    let toml::Value::Table(per_platform) = default else {
        let text = default_text(default)
            .ok_or_else(|| ctx.err(key("default"), "must be a string, integer, boolean or a table per platform"))?;
        for p in platforms {
            defaults.insert(*p, text.clone());
        }
        return Ok(defaults);
    };
    for (pname, v) in per_platform {
        let Some(p) = Platform::parse(pname) else {
            return Err(ctx.err(
                key(&format!("default.{pname}")),
                "not a platform; allowed: linux, macos, windows",
            ));
        };
        if !platforms.contains(&p) {
            return Err(ctx.err(
                key(&format!("default.{pname}")),
                format!("the setting does not exist on {p} (its feature is not available there)"),
            ));
        }
        let text =
            default_text(v).ok_or_else(|| ctx.err(key(&format!("default.{pname}")), "must be a string, integer or boolean"))?;
        defaults.insert(p, text);
    }
    if let Some(missing) = platforms.iter().find(|p| !defaults.contains_key(p)) {
        return Err(ctx.err(key("default"), format!("no default for {missing}, where the setting exists")));
    }
    Ok(defaults)
}

fn check_enablement(ctx: &Ctx, features: &[Feature], settings: &[Setting]) -> Result<(), ManifestError> {
    for f in features {
        let key = format!("features.{}.enabled_by", f.id);
        match (&f.enabled_by, f.required) {
            (Some(_), true) => return Err(ctx.err(key, "a required feature is always on; it takes no enablement setting")),
            (None, false) => return Err(ctx.err(key, "missing; every optional feature needs a bool setting that enables it")),
            (None, true) => {}
            (Some(name), false) => {
                let Some(s) = settings.iter().find(|s| &s.name == name) else {
                    return Err(ctx.err(key, format!("no setting `{name}` is declared")));
                };
                if s.kind != SettingType::Bool {
                    return Err(ctx.err(key, format!("setting `{name}` must have type bool, not {}", s.kind.name())));
                }
                if s.feature.as_deref() != Some(f.id.as_str()) {
                    return Err(ctx.err(key, format!("setting `{name}` must declare `feature = \"{}\"`", f.id)));
                }
            }
        }
    }
    Ok(())
}

fn validate_service(ctx: &Ctx, s: Service) -> Result<Service, ManifestError> {
    check_package_name(ctx, "service.name", &s.name)?;
    if !is_ident(
        &s.windows_name,
        |c| c.is_ascii_alphabetic(),
        |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
    ) {
        return Err(ctx.err(
            "service.windows_name",
            format!(
                "`{}` is not a Windows service name (letters, digits, '_' and '-', no spaces)",
                s.windows_name
            ),
        ));
    }
    check_reverse_dns(ctx, "service.launchd_label", &s.launchd_label)?;
    Ok(s)
}

fn validate_layouts(
    ctx: &Ctx,
    raw: BTreeMap<Platform, Layout>,
    shipped: &BTreeSet<Platform>,
) -> Result<BTreeMap<Platform, Layout>, ManifestError> {
    if let Some(p) = shipped.iter().find(|p| !raw.contains_key(p)) {
        return Err(ctx.err(format!("layout.{p}"), "missing; the product ships on this platform"));
    }
    let mut layouts = BTreeMap::new();
    for (p, l) in raw {
        let paths = [
            ("binary", &l.binary),
            ("defaults_file", &l.defaults_file),
            ("config_file", &l.config_file),
            ("answers_file", &l.answers_file),
            ("staged_answers", &l.staged_answers),
            ("state_dir", &l.state_dir),
            ("log_dir", &l.log_dir),
        ];
        for (k, v) in paths {
            if !p.is_absolute_path(v) {
                return Err(ctx.err(format!("layout.{p}.{k}"), format!("`{v}` is not an absolute {p} path")));
            }
        }
        let files = [&l.defaults_file, &l.config_file, &l.answers_file, &l.staged_answers];
        let distinct: BTreeSet<&String> = files.iter().copied().collect();
        if distinct.len() != files.len() {
            return Err(ctx.err(
                format!("layout.{p}"),
                "defaults_file, config_file, answers_file and staged_answers must be four different files",
            ));
        }
        layouts.insert(p, l);
    }
    Ok(layouts)
}

fn validate_legacy(
    ctx: &Ctx,
    raw: Vec<RawLegacy>,
    settings: &[Setting],
    product: &Product,
) -> Result<Vec<LegacyProduct>, ManifestError> {
    let mut out = Vec::new();
    let mut ids = BTreeSet::new();
    for l in raw {
        let id = l.id.clone();
        let key = |k: &str| format!("legacy[{id}].{k}");
        if !ids.insert(id.clone()) {
            return Err(ctx.err(key("id"), "declared twice"));
        }
        for (from, to) in &l.carry {
            if !settings.iter().any(|s| &s.name == to) {
                return Err(ctx.err(key(&format!("carry.{from}")), format!("no setting `{to}` is declared")));
            }
        }
        let linux = l.linux.map(|x| legacy_linux(ctx, &key, x, product)).transpose()?;
        let macos = l.macos.map(|x| legacy_macos(ctx, &key, x)).transpose()?;
        let windows = l.windows.map(|x| legacy_windows(ctx, &key, x, product)).transpose()?;
        out.push(LegacyProduct {
            id: l.id,
            name: l.name,
            carry: l.carry,
            linux,
            macos,
            windows,
        });
    }
    Ok(out)
}

/// `legacy[<id>].linux`: another package, below a version, with an
/// absolute config file.
fn legacy_linux(
    ctx: &Ctx,
    key: &dyn Fn(&str) -> String,
    x: RawLegacyLinux,
    product: &Product,
) -> Result<LegacyLinux, ManifestError> {
    check_package_name(ctx, &key("linux.package"), &x.package)?;
    if x.package == product.id {
        return Err(ctx.err(key("linux.package"), "is this product's own package name"));
    }
    if !x.below_version.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return Err(ctx.err(key("linux.below_version"), "must be a version starting with a digit"));
    }
    if let Some(c) = &x.config_file {
        if !c.starts_with('/') {
            return Err(ctx.err(key("linux.config_file"), "must be an absolute path"));
        }
    }
    Ok(LegacyLinux {
        package: x.package,
        below_version: x.below_version,
        config_file: x.config_file,
        service: x.service,
    })
}

/// `legacy[<id>].macos`: reverse-DNS package ids and launchd labels.
fn legacy_macos(ctx: &Ctx, key: &dyn Fn(&str) -> String, x: RawLegacyMacos) -> Result<LegacyMacos, ManifestError> {
    for (i, pid) in x.pkg_ids.iter().chain(&x.launchd_labels).enumerate() {
        check_reverse_dns(ctx, &key(&format!("macos[{i}]")), pid)?;
    }
    Ok(LegacyMacos {
        pkg_ids: x.pkg_ids,
        launchd_labels: x.launchd_labels,
        config_file: x.config_file,
    })
}

/// `legacy[<id>].windows`: other products' UpgradeCodes (as canonical
/// GUIDs) and a registry key under HKLM.
fn legacy_windows(
    ctx: &Ctx,
    key: &dyn Fn(&str) -> String,
    x: RawLegacyWindows,
    product: &Product,
) -> Result<LegacyWindows, ManifestError> {
    let mut codes = Vec::new();
    for (i, c) in x.upgrade_codes.iter().enumerate() {
        let g = check_guid(ctx, &key(&format!("windows.upgrade_codes[{i}]")), c)?;
        if g == product.upgrade_code {
            return Err(ctx.err(
                key(&format!("windows.upgrade_codes[{i}]")),
                "is this product's own UpgradeCode",
            ));
        }
        codes.push(g);
    }
    let registry_key = match x.registry_key {
        Some(k) => match k.strip_prefix("HKLM\\") {
            Some(rest) if !rest.is_empty() && !rest.ends_with('\\') => Some(rest.to_string()),
            _ => {
                return Err(ctx.err(
                    key("windows.registry_key"),
                    format!("`{k}` must be a key under HKLM, e.g. HKLM\\SOFTWARE\\Vendor\\Product"),
                ))
            }
        },
        None => None,
    };
    Ok(LegacyWindows {
        upgrade_codes: codes,
        registry_key,
    })
}
