//! One cell of a table row. Binary cells carry their bytes: the database
//! stores them as a stream named `<Table>.<key>` (what msi.dll does), but a
//! row that owns its data is what the transform and patch builders need to
//! compare two databases.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    /// SQL NULL. Windows Installer has no empty strings: an empty string is
    /// NULL, and this layer treats `Str("")` the same way.
    Null,
    Int(i32),
    Str(String),
    /// The content of a binary (`v0`/`V0`) column.
    Binary(Vec<u8>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Str(s) => s.is_empty(),
            _ => false,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i32> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// `Str("")` becomes `Null`, everything else is unchanged.
    pub(crate) fn normalized(self) -> Value {
        if self.is_null() {
            Value::Null
        } else {
            self
        }
    }
}

/// How a value appears in error messages: strings quoted, binary by size.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Binary(b) => write!(f, "<{} bytes>", b.len()),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::Str(s.clone())
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Value {
        Value::Int(i)
    }
}

impl From<i16> for Value {
    fn from(i: i16) -> Value {
        Value::Int(i32::from(i))
    }
}

impl From<u16> for Value {
    fn from(i: u16) -> Value {
        Value::Int(i32::from(i))
    }
}

impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Value {
        Value::Binary(b)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}
