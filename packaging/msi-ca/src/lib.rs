//! A Windows Installer custom action DLL that checks installer properties
//! against settings rules before anything is installed.
//!
//! omnipack writes the rules into the MSI's `OmnipackAnswerRules` property
//! as JSON, a list of `{"property": "SWITCH", "name": "Switch", "secret":
//! false, "kind": {"type": "host_port"}}` (`kind` is the manifest crate's
//! [`SettingType`](outpost_manifest::SettingType)). The exported
//! `CheckAnswers` reads every listed property, runs
//! `SettingType::canonicalize(value, Platform::Windows)` — the code the agent
//! and omnipack run — and appends each refusal to `INVALIDSETTINGS` as
//! `PROP=value (reason); ` (`PROP (reason); ` for a secret: never its value),
//! logging one line per refusal. A type 19 action conditioned on
//! `INVALIDSETTINGS` then stops the install; this DLL only reports.
//!
//! Nothing here knows about a particular product: what to check comes from
//! the package.

mod check;
mod error;
#[cfg(windows)]
mod ffi;

pub use check::{formatted_literal, parse_rules, refusal, AnswerRule, INVALID_PROPERTY, RULES_PROPERTY};
pub use error::ActionError;
