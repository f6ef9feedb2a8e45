//! One error type for the MSI layer. Every variant names where the problem
//! is (table, column and row key; stream; summary field; cabinet member; file
//! name), so a bad value coming from the manifest can be traced back to it.

#[derive(Debug, thiserror::Error)]
pub enum MsiError {
    /// A table definition is unusable (no key, too many columns, a bad name,
    /// or a second, different definition of the same table).
    #[error("table `{table}`: {reason}")]
    Schema { table: String, reason: String },
    /// A value does not fit its column. `row` is the row's primary key, e.g.
    /// `Property=ProductName`.
    #[error("table `{table}`, column `{column}`, row {row}: {reason}")]
    Value {
        table: String,
        column: String,
        row: String,
        reason: String,
    },
    /// A row has the wrong number of values or repeats another row's key.
    #[error("table `{table}`, row {row}: {reason}")]
    Row { table: String, row: String, reason: String },
    /// A stream or storage that cannot be written or read.
    #[error("stream `{stream}`: {reason}")]
    Stream { stream: String, reason: String },
    /// A summary information property that cannot be written or read.
    #[error("summary information `{field}`: {reason}")]
    Summary { field: &'static str, reason: String },
    /// A cabinet member that cannot be stored.
    #[error("cabinet member `{member}`: {reason}")]
    Cabinet { member: String, reason: String },
    /// A file or directory name that Windows Installer cannot use.
    #[error("file name `{name}`: {reason}")]
    Filename { name: String, reason: String },
    /// A string the code page cannot hold. `at` names its first character
    /// that does not survive the round trip (or the string, when only the
    /// whole fails); the caller wraps this in the table cell or summary
    /// field the string belongs to.
    #[error("{at} cannot be encoded in code page {codepage}")]
    Unencodable { at: String, codepage: i32 },
    /// The bytes are not a database this layer can read or write.
    #[error("{context}: {reason}")]
    Format { context: String, reason: String },
}

impl MsiError {
    pub(crate) fn format(context: impl Into<String>, reason: impl std::fmt::Display) -> MsiError {
        MsiError::Format {
            context: context.into(),
            reason: reason.to_string(),
        }
    }

    /// The summary's (and so the database's) code page is unusable.
    pub(crate) fn codepage(reason: impl Into<String>) -> MsiError {
        MsiError::Summary {
            field: "codepage",
            reason: reason.into(),
        }
    }

    pub(crate) fn stream(stream: impl Into<String>, reason: impl std::fmt::Display) -> MsiError {
        MsiError::Stream {
            stream: stream.into(),
            reason: reason.to_string(),
        }
    }
}
