//! One error type for the flat-package layer. Every variant names what it is
//! about (a payload path, an XML document and field, a component or choice),
//! so a bad value coming from the manifest can be traced back to it.

/// An identifier that is not reverse-DNS.
#[derive(Debug, thiserror::Error)]
#[error("identifier `{0}` is not reverse-DNS (letters, digits, `.`, `-`, `_`; no empty label)")]
pub struct IdentifierError(pub String);

#[derive(Debug, thiserror::Error)]
pub enum PkgError {
    /// A payload or archive path that cannot be stored: empty, `..`, a
    /// duplicate, or beneath something that is not a directory.
    #[error("path `{path}`: {reason}")]
    Path { path: String, reason: String },
    /// A value outside what the on-disk format can hold (a BOM size field is
    /// 32 bits, an odc cpio size 33 bits, ...).
    #[error("{format}: `{what}` {reason}")]
    Limit {
        format: &'static str,
        what: String,
        reason: String,
    },
    /// Text that XML 1.0 cannot carry (control characters).
    #[error("{document}, {field}: {source}")]
    Xml {
        document: &'static str,
        field: String,
        #[source]
        source: crate::xml::XmlCharError,
    },
    /// A component package that cannot be built as described.
    #[error("component `{identifier}`: {reason}")]
    Component { identifier: String, reason: String },
    /// A component whose identifier cannot name a XAR directory and a URL
    /// fragment.
    #[error("component `{identifier}`: {source}")]
    ComponentIdentifier {
        identifier: String,
        #[source]
        source: IdentifierError,
    },
    /// A choice of the Distribution whose id is not reverse-DNS.
    #[error("product archive: choice: {0}")]
    ChoiceIdentifier(#[source] IdentifierError),
    /// A product archive whose Distribution does not match its components.
    #[error("product archive: {0}")]
    Product(String),
    /// Compression of a member failed (only possible through an allocation
    /// or codec error, since everything is written to memory).
    #[error("compressing {what}: {source}")]
    Compress {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl PkgError {
    pub(crate) fn path(path: impl Into<String>, reason: impl Into<String>) -> PkgError {
        PkgError::Path {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn limit(format: &'static str, what: impl Into<String>, reason: impl Into<String>) -> PkgError {
        PkgError::Limit {
            format,
            what: what.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn compress(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> PkgError {
        let what = what.into();
        move |source| PkgError::Compress { what, source }
    }
}
