//! Why the custom action fails the install (fail closed): it cannot read its
//! rules, or msi.dll refused a call. Each text follows `CheckAnswers: ` in
//! the install log.

use std::fmt;

use crate::check::RULES_PROPERTY;

#[derive(Debug)]
pub enum ActionError {
    /// The rules property is empty: the package carries nothing to check.
    NoRules,
    /// The rules property is not the JSON omnipack writes.
    BadRules(serde_json::Error),
    /// `MsiGetPropertyW` failed with the Windows error `code`.
    Property { name: String, code: u32 },
    /// The property's value grew between every pair of reads.
    LengthKeptChanging { name: String },
    /// `MsiSetPropertyW` failed with the Windows error `code`.
    SetProperty { name: String, code: u32 },
    /// The check panicked; the panic did not cross into msi.dll.
    Panicked,
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionError::NoRules => write!(f, "the property {RULES_PROPERTY} is empty: the package carries no rules to check"),
            ActionError::BadRules(e) => write!(f, "the property {RULES_PROPERTY} cannot be read: {e}"),
            ActionError::Property { name, code } => write!(f, "cannot read the property {name} (error {code})"),
            ActionError::LengthKeptChanging { name } => write!(f, "cannot read the property {name}: its length kept changing"),
            ActionError::SetProperty { name, code } => write!(f, "cannot set the property {name} (error {code})"),
            ActionError::Panicked => f.write_str("internal error (a panic); failing the install"),
        }
    }
}

/// No `source`: the one cause there is, `BadRules`' JSON error, is already
/// part of the text, which the log prints as one line.
impl std::error::Error for ActionError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_texts_are_the_logs() {
        let name = || "SWITCH".to_string();
        for (e, text) in [
            (ActionError::NoRules, "the property OmnipackAnswerRules is empty: the package carries no rules to check"),
            (ActionError::Property { name: name(), code: 1627 }, "cannot read the property SWITCH (error 1627)"),
            (ActionError::LengthKeptChanging { name: name() }, "cannot read the property SWITCH: its length kept changing"),
            (ActionError::SetProperty { name: name(), code: 87 }, "cannot set the property SWITCH (error 87)"),
            (ActionError::Panicked, "internal error (a panic); failing the install"),
        ] {
            assert_eq!(e.to_string(), text);
        }
        let json = serde_json::from_str::<u8>("x").unwrap_err();
        let why = json.to_string();
        assert_eq!(ActionError::BadRules(json).to_string(), format!("the property OmnipackAnswerRules cannot be read: {why}"));
    }
}
