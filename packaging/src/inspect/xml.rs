//! Just enough XML reading for Distribution and PackageInfo, which omnipack
//! writes from templates (`crate::xml` escapes them): each element's name,
//! attributes and the text right after its start tag. Comments,
//! declarations and end tags are skipped; no namespaces, no DTD.

use std::collections::BTreeMap;

use super::error::Malformed;

#[derive(Debug, Clone)]
pub struct Element {
    pub name: String,
    pub attrs: BTreeMap<String, String>,
    /// The text up to the next tag, trimmed.
    pub text: String,
}

pub fn elements(part: &str, xml: &str) -> Result<Vec<Element>, Malformed> {
    let bad = |reason: String| Malformed::new(part, reason);
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix("!--") {
            rest = r
                .split_once("-->")
                .map(|(_, r)| r)
                .ok_or_else(|| bad("unterminated comment".into()))?;
            continue;
        }
        let end = tag_end(rest).ok_or_else(|| bad("unterminated tag".into()))?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with(['?', '!', '/']) {
            continue;
        }
        let tag = tag.trim_end_matches('/');
        let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
        let text = rest.split('<').next().unwrap_or_default().trim();
        out.push(Element {
            name: tag[..name_end].to_string(),
            attrs: attributes(&tag[name_end..]).ok_or_else(|| bad(format!("bad attributes in <{tag}>")))?,
            text: unescape(text),
        });
    }
    Ok(out)
}

/// The `>` that closes the tag, outside quoted values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn attributes(mut s: &str) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return Some(out);
        }
        let (name, rest) = s.split_once('=')?;
        let rest = rest.trim_start();
        let q = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let (value, rest) = rest[1..].split_once(q)?;
        out.insert(name.trim().to_string(), unescape(value));
        s = rest;
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}
