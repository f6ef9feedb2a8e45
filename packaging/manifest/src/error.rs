use std::fmt;

/// A problem with the manifest: which file, which key, and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ManifestError {
    pub file: String,
    /// `file:line:column` position when the parser knows it.
    pub line: Option<(usize, usize)>,
    /// Dotted path of the offending key, e.g. `settings[Switch].default`.
    pub key: String,
    pub reason: String,
}

impl ManifestError {
    pub fn new(file: &str, key: impl Into<String>, reason: impl Into<String>) -> Self {
        ManifestError {
            file: file.to_string(),
            line: None,
            key: key.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((l, c)) = self.line {
            write!(f, ":{l}:{c}")?;
        }
        if self.key.is_empty() {
            write!(f, ": {}", self.reason)
        } else {
            write!(f, ": key `{}`: {}", self.key, self.reason)
        }
    }
}
