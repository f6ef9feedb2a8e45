//! The messages of `agent/PROTOCOL.md`, version 1: what the agent sends,
//! and a parser for what a Switch sends that names every way a message can
//! be wrong instead of failing on it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use outpost_manifest::clip;

pub const PROTOCOL: u64 = 1;
pub const SUBPROTOCOL: &str = "outpost.v1";
pub const PATH: &str = "/outpost/v1";
/// The largest frame or message either side accepts.
pub const MAX_MESSAGE: usize = 65_536;
/// The version of every instruction this agent knows.
pub const INSTRUCTION_VERSION: u64 = 1;
pub const MAX_ID: usize = 128;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OsInfo {
    pub family: String,
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Features {
    pub installed: Vec<String>,
    pub enabled: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeviceInfo {
    pub id: String,
    pub hostname: String,
    pub os: OsInfo,
    pub arch: String,
    pub agent_version: String,
    pub features: Features,
}

pub fn hello(device: &DeviceInfo) -> String {
    serde_json::json!({"type": "hello", "protocol": PROTOCOL, "device": device}).to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    Malformed,
    UnknownType,
    Unexpected,
    UnknownKind,
    UnsupportedVersion,
    BadArgs,
    /// The instruction was accepted and ran, but did not succeed (a download,
    /// a hash, a script that could not start); the message says which.
    Failed,
}

/// Why a message is not answered with data. When the message had a usable
/// id, the refusal is a failed `result`; otherwise an `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub id: Option<String>,
    pub kind: Option<String>,
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            id: None,
            kind: None,
            code,
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> String {
        let error = serde_json::json!({"code": self.code, "message": self.message});
        match &self.id {
            Some(id) => serde_json::json!({"type": "result", "id": id, "kind": self.kind, "ok": false, "error": error}),
            None => serde_json::json!({"type": "error", "code": self.code, "message": self.message}),
        }
        .to_string()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Instruction {
    pub id: String,
    pub kind: String,
    pub version: u64,
    pub args: Map<String, Value>,
}

impl Instruction {
    pub fn refuse(&self, code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            id: Some(self.id.clone()),
            kind: Some(self.kind.clone()),
            code,
            message: message.into(),
        }
    }

    pub fn answer(&self, data: Value) -> String {
        serde_json::json!({"type": "result", "id": self.id, "kind": self.kind, "ok": true, "data": data}).to_string()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Welcome { protocol: u64, session: String },
    Instruction(Instruction),
}

fn field<'a>(o: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    o.get(name).filter(|v| !v.is_null())
}

/// Reads one text frame from the Switch.
pub fn parse(text: &str) -> Result<Incoming, Refusal> {
    let malformed = |m: String| Refusal::new(ErrorCode::Malformed, m);
    let value: Value = serde_json::from_str(text).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let Value::Object(o) = value else {
        return Err(malformed("not a JSON object".into()));
    };
    let kind_of = match field(&o, "type") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(malformed("`type` must be a string".into())),
        None => return Err(malformed("no `type`".into())),
    };
    match kind_of {
        "welcome" => {
            let protocol = field(&o, "protocol")
                .and_then(Value::as_u64)
                .ok_or_else(|| malformed("welcome: `protocol` must be a positive integer".into()))?;
            let session = match field(&o, "session") {
                Some(Value::String(s)) => clip(s),
                None => String::new(),
                Some(_) => return Err(malformed("welcome: `session` must be a string".into())),
            };
            Ok(Incoming::Welcome { protocol, session })
        }
        "instruction" => parse_instruction(&o).map(Incoming::Instruction),
        other => Err(Refusal::new(
            ErrorCode::UnknownType,
            format!(
                "message type `{}` is not one this agent knows (welcome, instruction)",
                clip(other)
            ),
        )),
    }
}

fn parse_instruction(o: &Map<String, Value>) -> Result<Instruction, Refusal> {
    let malformed = |m: &str| Refusal::new(ErrorCode::Malformed, format!("instruction: {m}"));
    let id = match field(o, "id") {
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= MAX_ID && !s.chars().any(char::is_control) => s.clone(),
        Some(_) => {
            return Err(malformed(
                "`id` must be a string of 1 to 128 characters without control characters",
            ))
        }
        None => return Err(malformed("no `id`")),
    };
    // From here on the refusal can carry the id.
    let with_id = |code, m: String| Refusal {
        id: Some(id.clone()),
        kind: None,
        code,
        message: m,
    };
    let kind = match field(o, "kind") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(with_id(ErrorCode::Malformed, "instruction: `kind` must be a string".into())),
    };
    let kind_clipped = clip(&kind);
    let refusal = |code, m: String| Refusal {
        kind: Some(kind_clipped.clone()),
        ..with_id(code, m)
    };
    let version = match field(o, "version") {
        None => INSTRUCTION_VERSION,
        Some(v) => v.as_u64().filter(|v| *v >= 1).ok_or_else(|| {
            refusal(
                ErrorCode::Malformed,
                "instruction: `version` must be a positive integer".into(),
            )
        })?,
    };
    let args = match field(o, "args") {
        None => Map::new(),
        Some(Value::Object(a)) => a.clone(),
        Some(_) => return Err(refusal(ErrorCode::Malformed, "instruction: `args` must be an object".into())),
    };
    Ok(Instruction {
        id,
        kind: kind_clipped,
        version,
        args,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_and_welcomes_parse() {
        let i = parse(r#"{"type":"instruction","id":"7","kind":"ping","version":1,"args":{},"extra":true}"#).unwrap();
        let Incoming::Instruction(i) = i else { panic!() };
        assert_eq!((i.id.as_str(), i.kind.as_str(), i.version), ("7", "ping", 1));
        assert_eq!(
            parse(r#"{"type":"welcome","protocol":1,"session":"s1"}"#).unwrap(),
            Incoming::Welcome {
                protocol: 1,
                session: "s1".into()
            }
        );
    }

    #[test]
    fn every_bad_shape_is_named() {
        let cases = [
            ("", ErrorCode::Malformed, None),
            ("[1,2]", ErrorCode::Malformed, None),
            (r#"{"type":5}"#, ErrorCode::Malformed, None),
            (r#"{"type":"reboot"}"#, ErrorCode::UnknownType, None),
            (r#"{"type":"instruction","kind":"ping"}"#, ErrorCode::Malformed, None),
            (r#"{"type":"instruction","id":"","kind":"ping"}"#, ErrorCode::Malformed, None),
            (
                r#"{"type":"instruction","id":"a\u0000","kind":"ping"}"#,
                ErrorCode::Malformed,
                None,
            ),
            (r#"{"type":"instruction","id":"9","kind":3}"#, ErrorCode::Malformed, Some("9")),
            (
                r#"{"type":"instruction","id":"9","kind":"ping","version":-1}"#,
                ErrorCode::Malformed,
                Some("9"),
            ),
            (
                r#"{"type":"instruction","id":"9","kind":"ping","args":[1]}"#,
                ErrorCode::Malformed,
                Some("9"),
            ),
            (r#"{"type":"welcome","protocol":"1"}"#, ErrorCode::Malformed, None),
        ];
        for (text, code, id) in cases {
            let r = parse(text).unwrap_err();
            assert_eq!((r.code, r.id.as_deref()), (code, id), "{text}");
            let sent: Value = serde_json::from_str(&r.to_json()).unwrap();
            assert_eq!(sent["type"], if id.is_some() { "result" } else { "error" });
        }
        let long = format!(r#"{{"type":"instruction","id":"{}","kind":"ping"}}"#, "x".repeat(129));
        assert_eq!(parse(&long).unwrap_err().code, ErrorCode::Malformed);
    }

    #[test]
    fn echoed_text_is_clipped() {
        let t = format!(r#"{{"type":"{}"}}"#, "z".repeat(10_000));
        assert!(parse(&t).unwrap_err().message.len() < 300);
    }
}
