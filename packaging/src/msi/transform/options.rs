//! What a transform says about itself: the checks Windows Installer makes
//! before applying it, the error conditions it ignores while applying it
//! (both in summary PID 16), and the rest of its summary information.

use super::diff::{ProductIdentity, TransformSet};
use crate::msi::summary::{self, FileTime, SummaryInfo};
use crate::msi::{Database, MsiError, PackageKind};

// MSITRANSFORM_VALIDATE_* (the high word of PID 16).
const VALIDATE_LANGUAGE: u16 = 0x1;
const VALIDATE_PRODUCT: u16 = 0x2;
const VALIDATE_PLATFORM: u16 = 0x4;
const VALIDATE_MAJORVERSION: u16 = 0x8;
const VALIDATE_MINORVERSION: u16 = 0x10;
const VALIDATE_UPDATEVERSION: u16 = 0x20;
const VALIDATE_NEWLESSBASEVERSION: u16 = 0x40;
const VALIDATE_NEWLESSEQUALBASEVERSION: u16 = 0x80;
const VALIDATE_NEWEQUALBASEVERSION: u16 = 0x100;
const VALIDATE_NEWGREATEREQUALBASEVERSION: u16 = 0x200;
const VALIDATE_NEWGREATERBASEVERSION: u16 = 0x400;
const VALIDATE_UPGRADECODE: u16 = 0x800;

// MSITRANSFORM_ERROR_* (the low word of PID 16).
const ERROR_ADDEXISTINGROW: u16 = 0x1;
const ERROR_DELMISSINGROW: u16 = 0x2;
const ERROR_ADDEXISTINGTABLE: u16 = 0x4;
const ERROR_DELMISSINGTABLE: u16 = 0x8;
const ERROR_UPDATEMISSINGROW: u16 = 0x10;
const ERROR_CHANGECODEPAGE: u16 = 0x20;

/// Which part of ProductVersion a version validation compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionFields {
    /// MSITRANSFORM_VALIDATE_MAJORVERSION.
    Major,
    /// MSITRANSFORM_VALIDATE_MINORVERSION.
    MajorMinor,
    /// MSITRANSFORM_VALIDATE_UPDATEVERSION.
    MajorMinorUpdate,
}

/// How the version of the package being transformed must relate to the
/// base's version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionRelation {
    /// MSITRANSFORM_VALIDATE_NEWLESSBASEVERSION: installed < base.
    Less,
    /// MSITRANSFORM_VALIDATE_NEWLESSEQUALBASEVERSION: installed <= base.
    LessOrEqual,
    /// MSITRANSFORM_VALIDATE_NEWEQUALBASEVERSION: installed == base.
    Equal,
    /// MSITRANSFORM_VALIDATE_NEWGREATEREQUALBASEVERSION: installed >= base.
    GreaterOrEqual,
    /// MSITRANSFORM_VALIDATE_NEWGREATERBASEVERSION: installed > base.
    Greater,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionCheck {
    pub fields: VersionFields,
    pub relation: VersionRelation,
}

/// What Windows Installer checks before it applies the transform (the high
/// word of summary PID 16). Wine 8 does not enforce these; Windows does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Validation {
    /// MSITRANSFORM_VALIDATE_LANGUAGE: ProductLanguage must be the Template's.
    pub language: bool,
    /// MSITRANSFORM_VALIDATE_PRODUCT: ProductCode must be the base's.
    pub product_code: bool,
    /// MSITRANSFORM_VALIDATE_PLATFORM: the platform must be the Template's.
    pub platform: bool,
    /// MSITRANSFORM_VALIDATE_UPGRADECODE: UpgradeCode must be the base's.
    pub upgrade_code: bool,
    /// ProductVersion against the base's.
    pub version: Option<VersionCheck>,
}

impl Validation {
    /// The MSITRANSFORM_VALIDATE_* bits.
    pub fn bits(&self) -> u16 {
        let mut b = 0;
        for (on, bit) in [
            (self.language, VALIDATE_LANGUAGE),
            (self.product_code, VALIDATE_PRODUCT),
            (self.platform, VALIDATE_PLATFORM),
            (self.upgrade_code, VALIDATE_UPGRADECODE),
        ] {
            if on {
                b |= bit;
            }
        }
        if let Some(v) = self.version {
            b |= match v.fields {
                VersionFields::Major => VALIDATE_MAJORVERSION,
                VersionFields::MajorMinor => VALIDATE_MINORVERSION,
                VersionFields::MajorMinorUpdate => VALIDATE_UPDATEVERSION,
            };
            b |= match v.relation {
                VersionRelation::Less => VALIDATE_NEWLESSBASEVERSION,
                VersionRelation::LessOrEqual => VALIDATE_NEWLESSEQUALBASEVERSION,
                VersionRelation::Equal => VALIDATE_NEWEQUALBASEVERSION,
                VersionRelation::GreaterOrEqual => VALIDATE_NEWGREATEREQUALBASEVERSION,
                VersionRelation::Greater => VALIDATE_NEWGREATERBASEVERSION,
            };
        }
        b
    }
}

/// Error conditions Windows Installer ignores while applying the transform
/// (the low word of summary PID 16; the same MSITRANSFORM_ERROR_* values
/// `MsiDatabaseApplyTransform` takes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IgnoredErrors {
    /// MSITRANSFORM_ERROR_ADDEXISTINGROW (0x1).
    pub add_existing_row: bool,
    /// MSITRANSFORM_ERROR_DELMISSINGROW (0x2).
    pub delete_missing_row: bool,
    /// MSITRANSFORM_ERROR_ADDEXISTINGTABLE (0x4).
    pub add_existing_table: bool,
    /// MSITRANSFORM_ERROR_DELMISSINGTABLE (0x8).
    pub delete_missing_table: bool,
    /// MSITRANSFORM_ERROR_UPDATEMISSINGROW (0x10).
    pub update_missing_row: bool,
    /// MSITRANSFORM_ERROR_CHANGECODEPAGE (0x20).
    pub change_codepage: bool,
}

impl IgnoredErrors {
    /// Every row and table condition, not the code page one.
    pub fn rows_and_tables() -> IgnoredErrors {
        IgnoredErrors {
            add_existing_row: true,
            delete_missing_row: true,
            add_existing_table: true,
            delete_missing_table: true,
            update_missing_row: true,
            change_codepage: false,
        }
    }

    /// The MSITRANSFORM_ERROR_* bits.
    pub fn bits(&self) -> u16 {
        [
            (self.add_existing_row, ERROR_ADDEXISTINGROW),
            (self.delete_missing_row, ERROR_DELMISSINGROW),
            (self.add_existing_table, ERROR_ADDEXISTINGTABLE),
            (self.delete_missing_table, ERROR_DELMISSINGTABLE),
            (self.update_missing_row, ERROR_UPDATEMISSINGROW),
            (self.change_codepage, ERROR_CHANGECODEPAGE),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |b, (_, bit)| b | bit)
    }
}

/// Summary information of the transform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformOptions {
    pub validation: Validation,
    pub ignored_errors: IgnoredErrors,
    /// PID 2; Windows' tools write "Transform".
    pub title: String,
    /// PID 3; None = the base's Subject (product name).
    pub subject: Option<String>,
    /// PID 4; None = the base's Author.
    pub author: Option<String>,
    /// PID 6.
    pub comments: Option<String>,
    /// PID 18.
    pub creating_application: Option<String>,
    /// PID 12 and 13. None leaves them out (the output then depends on
    /// nothing but the inputs).
    pub time: Option<FileTime>,
}

impl TransformOptions {
    /// An administrator's settings transform: applies only to the base's
    /// product (ProductCode, UpgradeCode) in the base's language, and does
    /// not fail on rows or tables that already exist or are already gone.
    pub fn settings() -> TransformOptions {
        TransformOptions {
            validation: Validation {
                language: true,
                product_code: true,
                upgrade_code: true,
                ..Validation::default()
            },
            ignored_errors: IgnoredErrors::rows_and_tables(),
            title: PackageKind::Transform.default_title().to_string(),
            subject: None,
            author: None,
            comments: None,
            creating_application: Some("omnipack".into()),
            time: None,
        }
    }

    /// A patch's transforms (WiX's PatchTransformDefault): product code,
    /// upgrade code and an equal major.minor.update version; row and table
    /// errors ignored.
    pub fn patch() -> TransformOptions {
        TransformOptions {
            validation: Validation {
                product_code: true,
                upgrade_code: true,
                version: Some(VersionCheck {
                    fields: VersionFields::MajorMinorUpdate,
                    relation: VersionRelation::Equal,
                }),
                ..Validation::default()
            },
            ..TransformOptions::settings()
        }
    }

    /// Summary PID 16: validation flags in the high word, ignored error
    /// conditions in the low word.
    pub fn character_count(&self) -> i32 {
        ((u32::from(self.validation.bits()) << 16) | u32::from(self.ignored_errors.bits())) as i32
    }
}

impl Default for TransformOptions {
    fn default() -> TransformOptions {
        TransformOptions::settings()
    }
}

/// PID 9: `{OrigProductCode}OrigVersion;{NewProductCode}NewVersion;{UpgradeCode}`.
pub fn revision_number(base: &ProductIdentity, target: &ProductIdentity) -> String {
    let part = |id: &ProductIdentity| {
        format!(
            "{}{}",
            id.product_code.as_deref().unwrap_or(""),
            id.product_version.as_deref().unwrap_or("")
        )
    };
    format!(
        "{};{};{}",
        part(base),
        part(target),
        base.upgrade_code.as_deref().unwrap_or("")
    )
}

/// The transform's summary information: the base's identity in the
/// Template, the target's in Last Saved By, both in the Revision Number,
/// the flags in PID 16. A validation the base cannot back is refused.
pub(super) fn transform_summary(
    base: &Database,
    set: &TransformSet,
    options: &TransformOptions,
) -> Result<SummaryInfo, MsiError> {
    let v = options.validation;
    let missing = |field: &'static str, what: &str| MsiError::Summary {
        field,
        reason: format!("the transform validates the {what}, but the base has none"),
    };
    if v.product_code && set.base.product_code.is_none() {
        return Err(missing("revision_number", "product code (Property ProductCode)"));
    }
    if v.upgrade_code && set.base.upgrade_code.is_none() {
        return Err(missing("revision_number", "upgrade code (Property UpgradeCode)"));
    }
    if v.version.is_some() && set.base.product_version.is_none() {
        return Err(missing("revision_number", "product version (Property ProductVersion)"));
    }
    if v.language && set.base.language.is_none() {
        return Err(missing("template", "language (Property ProductLanguage or the Template)"));
    }
    if v.platform && set.base.platform.is_none() {
        return Err(missing("template", "platform (the summary Template)"));
    }
    let page_count = match (set.base.page_count, set.target.page_count) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    Ok(SummaryInfo {
        codepage: base.summary.codepage,
        title: Some(options.title.clone()),
        subject: options.subject.clone().or_else(|| base.summary.subject.clone()),
        author: options.author.clone().or_else(|| base.summary.author.clone()),
        keywords: None,
        comments: options.comments.clone(),
        template: Some(set.base.platform_language()),
        last_saved_by: Some(set.target.platform_language()),
        revision_number: Some(revision_number(&set.base, &set.target)),
        last_printed: None,
        create_time: options.time,
        last_save_time: options.time,
        page_count,
        word_count: None,
        character_count: Some(options.character_count()),
        creating_application: options.creating_application.clone(),
        security: Some(summary::SECURITY_ENFORCED),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_have_the_documented_values() {
        let o = TransformOptions::settings();
        assert_eq!(o.validation.bits(), 0x1 | 0x2 | 0x800);
        assert_eq!(o.ignored_errors.bits(), 0x1f);
        assert_eq!(o.character_count(), 0x0803_001f);
        // WiX's PatchTransformDefault.
        assert_eq!(TransformOptions::patch().character_count(), 0x0922_001f);
        let all = Validation {
            language: true,
            product_code: true,
            platform: true,
            upgrade_code: true,
            version: Some(VersionCheck {
                fields: VersionFields::Major,
                relation: VersionRelation::Greater,
            }),
        };
        assert_eq!(all.bits(), 0x1 | 0x2 | 0x4 | 0x800 | 0x8 | 0x400);
    }
}
