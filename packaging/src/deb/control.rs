//! The control file, as deb-control(5) describes it.

use std::fmt::Write as _;

pub struct Control {
    pub fields: Vec<(&'static str, String)>,
}

impl Control {
    pub fn new() -> Control {
        Control { fields: Vec::new() }
    }

    pub fn set(&mut self, name: &'static str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        if !value.is_empty() {
            self.fields.push((name, value));
        }
        self
    }

    /// Synopsis on the first line, the long description folded under it:
    /// each line indented by one space, blank lines as ` .`.
    pub fn description(&mut self, synopsis: &str, long: &str) -> &mut Self {
        let mut v = synopsis.to_string();
        for line in long.lines() {
            if line.trim().is_empty() {
                v.push_str("\n .");
            } else {
                let _ = write!(v, "\n {}", line.trim_end());
            }
        }
        self.fields.push(("Description", v));
        self
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.fields {
            let _ = writeln!(out, "{k}: {v}");
        }
        out
    }
}

/// A long text as a deb control continuation: reflowed to 79 columns.
pub fn fold(text: &str) -> String {
    let mut out = String::new();
    for para in text.split("\n\n") {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > 78 {
                out.push_str(&line);
                out.push('\n');
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push_str(&line);
    }
    out
}
