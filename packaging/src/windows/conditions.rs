//! What may appear in a condition literal or a formatted property value.
//!
//! Installer properties are not validated with condition expressions: the
//! Windows Installer condition language cannot express the settings rule
//! (byte lengths, control characters, port ranges, IPv6 literals, integers
//! beyond 32 bits), so an expression would accept values the agent refuses.
//! Instead the package carries a DLL custom action (`packaging/msi-ca`,
//! `CheckAnswers`) that runs the very same Rust rule
//! (`SettingType::canonicalize`) as the agent and the generator of the Unix
//! installers' shell pre-check, before `InstallInitialize`, so a refused
//! value stops the install before anything changes. The deferred
//! `CheckSettings` action (`outpost-agent config check` inside the
//! transaction) stays as a second line.

/// Whether `value` can be written as a condition literal or a formatted
/// property value without changing meaning.
pub fn literal_ok(value: &str) -> bool {
    !value.contains(['"', '[', ']', '{', '}'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_braces_and_quotes_are_not_literal() {
        assert!(literal_ok(r"C:\ProgramData\Outpost\Temp"));
        for bad in ["[SWITCH]", "{GUID}", "a\"b", "x]"] {
            assert!(!literal_ok(bad), "{bad}");
        }
    }
}
