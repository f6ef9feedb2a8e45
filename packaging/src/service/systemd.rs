use serde::Serialize;
use tera::Context;

use super::ServiceSpec;
use crate::templates::{render, RenderError};

pub const UNIT_DIR: &str = "/usr/lib/systemd/system";

pub fn unit_name(spec: &ServiceSpec) -> String {
    format!("{}.service", spec.name)
}

pub fn unit_path(spec: &ServiceSpec) -> String {
    format!("{UNIT_DIR}/{}", unit_name(spec))
}

#[derive(Serialize)]
struct UnitView<'a> {
    display_name: &'a str,
    description: &'a str,
    documentation: &'a str,
    exec_start: String,
    restart_delay_seconds: u32,
}

/// systemd needs ExecStart words with spaces quoted.
fn exec_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if w.contains([' ', '"', '\\']) {
                format!("\"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""))
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn render_unit(spec: &ServiceSpec) -> Result<String, RenderError> {
    let mut ctx = Context::new();
    ctx.insert(
        "svc",
        &UnitView {
            display_name: &spec.display_name,
            description: &spec.description,
            documentation: &spec.documentation,
            exec_start: exec_line(&spec.exec),
            restart_delay_seconds: spec.restart_delay_seconds,
        },
    );
    render("systemd/unit.service", &ctx)
}
