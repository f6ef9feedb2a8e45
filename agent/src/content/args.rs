//! The arguments of `fetch-resource` and `run-script`, checked before
//! anything is downloaded: an unknown argument, a bad hash, a URL that is not
//! https, an interpreter not in the platform's list are refused (`bad-args`).

use std::time::Duration;

use serde_json::{Map, Value};

use super::cache::check_segment;
use super::script::{default_interpreter, INTERPRETERS};
use super::url::Sha256;
use crate::switch::protocol::{ErrorCode, Instruction, Refusal, INSTRUCTION_VERSION};

pub const KINDS: &[&str] = &["fetch-resource", "run-script"];
pub const MAX_SCRIPT_ARGS: usize = 64;
pub const MAX_TIMEOUT_SECONDS: u64 = 86_400;
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceArgs {
    pub name: String,
    pub version: String,
    pub url: String,
    pub sha256: Sha256,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptArgs {
    pub url: String,
    pub sha256: Sha256,
    pub interpreter: String,
    pub args: Vec<String>,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    Resource(ResourceArgs),
    Script(ScriptArgs),
}

pub fn is_content(kind: &str) -> bool {
    KINDS.contains(&kind)
}

/// The job an instruction asks for, or its refusal.
pub fn parse(ins: &Instruction) -> Result<Job, Refusal> {
    if ins.version > INSTRUCTION_VERSION {
        return Err(ins.refuse(
            ErrorCode::UnsupportedVersion,
            format!("{} version {} is newer than this agent knows (up to {INSTRUCTION_VERSION})", ins.kind, ins.version),
        ));
    }
    let bad = |m: String| ins.refuse(ErrorCode::BadArgs, format!("{}: {m}", ins.kind));
    let a = &ins.args;
    match ins.kind.as_str() {
        "fetch-resource" => {
            only(a, &["name", "version", "url", "sha256"]).map_err(bad)?;
            let name = string(a, "name").map_err(bad)?;
            let version = string(a, "version").map_err(bad)?;
            check_segment("name", &name).map_err(bad)?;
            check_segment("version", &version).map_err(bad)?;
            Ok(Job::Resource(ResourceArgs {
                name,
                version,
                url: url(a).map_err(bad)?,
                sha256: sha(a).map_err(bad)?,
            }))
        }
        "run-script" => {
            only(a, &["url", "sha256", "interpreter", "args", "timeout_seconds"]).map_err(bad)?;
            let interpreter = match a.get("interpreter") {
                None => default_interpreter().to_string(),
                Some(_) => string(a, "interpreter").map_err(bad)?,
            };
            if !INTERPRETERS.contains(&interpreter.as_str()) {
                return Err(bad(format!(
                    "interpreter `{}` is not one this platform runs ({})",
                    outpost_manifest::clip(&interpreter),
                    INTERPRETERS.join(", ")
                )));
            }
            Ok(Job::Script(ScriptArgs {
                url: url(a).map_err(bad)?,
                sha256: sha(a).map_err(bad)?,
                interpreter,
                args: list(a).map_err(bad)?,
                timeout: timeout(a).map_err(bad)?,
            }))
        }
        other => Err(ins.refuse(ErrorCode::UnknownKind, format!("`{other}` is not a content instruction"))),
    }
}

fn only(a: &Map<String, Value>, known: &[&str]) -> Result<(), String> {
    match a.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!("unknown argument `{}` (takes {})", outpost_manifest::clip(k), known.join(", "))),
        None => Ok(()),
    }
}

fn string(a: &Map<String, Value>, name: &str) -> Result<String, String> {
    match a.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(_) => Err(format!("`{name}` must be a non-empty string")),
        None => Err(format!("`{name}` is required")),
    }
}

fn url(a: &Map<String, Value>) -> Result<String, String> {
    let u = string(a, "url")?;
    // Resolved against BackgroundChannelUrl when run; here only what can never work.
    let lower = u.to_ascii_lowercase();
    if lower.contains("://") && !lower.starts_with("https://") || lower.starts_with("http:") {
        return Err(format!("`url` must be https or a path under BackgroundChannelUrl (got `{}`)", outpost_manifest::clip(&u)));
    }
    let base = super::HttpsUrl::parse("https://base.invalid/").expect("a valid URL");
    super::HttpsUrl::resolve(&base, &u).map_err(|e| format!("`url`: {e}"))?;
    Ok(u)
}

fn sha(a: &Map<String, Value>) -> Result<Sha256, String> {
    Sha256::parse(&string(a, "sha256")?).map_err(|e| e.to_string())
}

fn list(a: &Map<String, Value>) -> Result<Vec<String>, String> {
    let Some(v) = a.get("args") else { return Ok(Vec::new()) };
    let items = v.as_array().ok_or("`args` must be a list of strings")?;
    if items.len() > MAX_SCRIPT_ARGS {
        return Err(format!("at most {MAX_SCRIPT_ARGS} `args`"));
    }
    items
        .iter()
        .map(|i| match i.as_str() {
            // A NUL cannot cross exec; refused here rather than failing later.
            Some(s) if !s.contains('\0') => Ok(s.to_string()),
            _ => Err("`args` must be a list of strings without NUL".to_string()),
        })
        .collect()
}

fn timeout(a: &Map<String, Value>) -> Result<Duration, String> {
    let secs = match a.get("timeout_seconds") {
        None => DEFAULT_TIMEOUT_SECONDS,
        Some(v) => v
            .as_u64()
            .filter(|s| (1..=MAX_TIMEOUT_SECONDS).contains(s))
            .ok_or(format!("`timeout_seconds` must be an integer from 1 to {MAX_TIMEOUT_SECONDS}"))?,
    };
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::switch::protocol::{parse as parse_msg, Incoming};

    const H: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn job(kind: &str, args: Value) -> Result<Job, Refusal> {
        let text = serde_json::json!({"type": "instruction", "id": "7", "kind": kind, "args": args}).to_string();
        match parse_msg(&text).unwrap() {
            Incoming::Instruction(i) => parse(&i),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn good_arguments_make_jobs() {
        let Job::Script(s) = job("run-script", serde_json::json!({"url": "s/a.sh", "sha256": H, "args": ["a b", "$(x);|"]})).unwrap() else {
            panic!()
        };
        assert_eq!((s.interpreter.as_str(), s.args.len(), s.timeout.as_secs()), (default_interpreter(), 2, 300));
        assert!(matches!(
            job("fetch-resource", serde_json::json!({"name": "m", "version": "1.0", "url": "https://h/x", "sha256": H})),
            Ok(Job::Resource(_))
        ));
    }

    #[test]
    fn refusals_name_the_argument() {
        for (kind, args, says) in [
            ("fetch-resource", serde_json::json!({"name": "m", "version": "1", "url": "a", "sha256": H, "x": 1}), "unknown argument `x`"),
            ("fetch-resource", serde_json::json!({"name": "m", "version": "1", "url": "a", "sha256": "abc"}), "not a SHA-256"),
            ("fetch-resource", serde_json::json!({"name": "../m", "version": "1", "url": "a", "sha256": H}), "`name`"),
            ("fetch-resource", serde_json::json!({"name": "m", "version": "1", "url": "http://h/a", "sha256": H}), "https"),
            ("run-script", serde_json::json!({"url": "ftp://h/a", "sha256": H}), "https"),
            ("run-script", serde_json::json!({"url": "a", "sha256": H, "interpreter": "bash"}), "interpreter `bash`"),
            ("run-script", serde_json::json!({"url": "a", "sha256": H, "args": "a b"}), "list of strings"),
            ("run-script", serde_json::json!({"url": "a", "sha256": H, "timeout_seconds": 0}), "timeout_seconds"),
            ("run-script", serde_json::json!({"sha256": H}), "`url` is required"),
        ] {
            let r = job(kind, args).unwrap_err();
            assert_eq!((r.code, r.id.as_deref()), (ErrorCode::BadArgs, Some("7")));
            assert!(r.message.contains(says), "{}", r.message);
        }
    }
}
