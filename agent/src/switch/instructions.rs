//! The instructions this agent runs, and nothing else: a kind that is not in
//! this table is refused, never interpreted.

use serde_json::Value;

use super::protocol::{ErrorCode, Instruction, Refusal, INSTRUCTION_VERSION};

/// What the instructions report about the machine; the service answers with
/// the real machine, a benchmark with a simulated one.
pub trait Facts: Send + Sync {
    fn inventory(&self) -> Value;
    fn settings(&self) -> Value;
}

pub const KINDS: &[&str] = &["inventory", "settings", "ping"];

/// The `data` of a successful result, or why there is none.
pub fn run(ins: &Instruction, facts: &dyn Facts) -> Result<Value, Refusal> {
    if !KINDS.contains(&ins.kind.as_str()) {
        return Err(ins.refuse(
            ErrorCode::UnknownKind,
            format!(
                "instruction kind `{}` is not one this agent runs ({})",
                ins.kind,
                KINDS.join(", ")
            ),
        ));
    }
    if ins.version > INSTRUCTION_VERSION {
        return Err(ins.refuse(
            ErrorCode::UnsupportedVersion,
            format!(
                "{} version {} is newer than this agent knows (up to {INSTRUCTION_VERSION})",
                ins.kind, ins.version
            ),
        ));
    }
    if let Some(arg) = ins.args.keys().next() {
        return Err(ins.refuse(
            ErrorCode::BadArgs,
            format!("{} takes no arguments (got `{}`)", ins.kind, outpost_manifest::clip(arg)),
        ));
    }
    Ok(match ins.kind.as_str() {
        "ping" => serde_json::json!({"pong": true, "time_unix_ms": crate::clock::unix_now_ms()}),
        "inventory" => facts.inventory(),
        "settings" => facts.settings(),
        _ => unreachable!("KINDS is checked above"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::switch::protocol::{parse, Incoming};

    struct Fake;
    impl Facts for Fake {
        fn inventory(&self) -> Value {
            serde_json::json!({"hostname": "h"})
        }
        fn settings(&self) -> Value {
            serde_json::json!({"settings": []})
        }
    }

    fn ins(text: &str) -> Instruction {
        match parse(text).unwrap() {
            Incoming::Instruction(i) => i,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn known_kinds_answer_and_others_are_refused() {
        assert_eq!(
            run(&ins(r#"{"type":"instruction","id":"1","kind":"inventory"}"#), &Fake).unwrap()["hostname"],
            "h"
        );
        assert_eq!(
            run(&ins(r#"{"type":"instruction","id":"1","kind":"ping"}"#), &Fake).unwrap()["pong"],
            true
        );
        for (text, code) in [
            (
                r#"{"type":"instruction","id":"1","kind":"run-shell","args":{}}"#,
                ErrorCode::UnknownKind,
            ),
            (
                r#"{"type":"instruction","id":"1","kind":"ping","version":2}"#,
                ErrorCode::UnsupportedVersion,
            ),
            (
                r#"{"type":"instruction","id":"1","kind":"settings","args":{"x":1}}"#,
                ErrorCode::BadArgs,
            ),
        ] {
            let r = run(&ins(text), &Fake).unwrap_err();
            assert_eq!((r.code, r.id.as_deref()), (code, Some("1")), "{text}");
        }
    }
}
