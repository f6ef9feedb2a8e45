//! The one XML writer behind the XAR table of contents, PackageInfo and
//! Distribution: indented elements, escaped values, and a clear error for
//! text XML 1.0 cannot carry. Element and attribute names are `&'static str`
//! because they always come from this layer, never from input.

use std::fmt::Write as _;

use super::error::PkgError;
use crate::xml::XmlCharError;

pub(crate) struct Xml {
    document: &'static str,
    out: String,
    open: Vec<&'static str>,
    indent: &'static str,
}

impl Xml {
    /// Starts `document` (named in errors) with the XML declaration Apple's
    /// tools write; `indent` is repeated once per nesting level.
    pub fn new(document: &'static str, indent: &'static str) -> Xml {
        Xml {
            document,
            out: String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"),
            open: Vec::new(),
            indent,
        }
    }

    fn start(&mut self, name: &'static str, attrs: &[(&str, &str)]) -> Result<(), PkgError> {
        for _ in 0..self.open.len() {
            self.out.push_str(self.indent);
        }
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            let escaped = attr(value).map_err(|source| self.error(format!("<{name} {key}>"), source))?;
            let _ = write!(self.out, " {key}=\"{escaped}\"");
        }
        Ok(())
    }

    /// `<name attrs>` followed by children, up to the matching [`Xml::close`].
    pub fn open(&mut self, name: &'static str, attrs: &[(&str, &str)]) -> Result<(), PkgError> {
        self.start(name, attrs)?;
        self.out.push_str(">\n");
        self.open.push(name);
        Ok(())
    }

    /// `<name attrs/>`
    pub fn empty(&mut self, name: &'static str, attrs: &[(&str, &str)]) -> Result<(), PkgError> {
        self.start(name, attrs)?;
        self.out.push_str("/>\n");
        Ok(())
    }

    /// `<name attrs>text</name>` on one line.
    pub fn leaf(&mut self, name: &'static str, attrs: &[(&str, &str)], value: &str) -> Result<(), PkgError> {
        self.start(name, attrs)?;
        let escaped = text(value).map_err(|source| self.error(format!("<{name}> text"), source))?;
        let _ = writeln!(self.out, ">{escaped}</{name}>");
        Ok(())
    }

    pub fn close(&mut self) {
        let name = self.open.pop().expect("Xml::close without an open element");
        for _ in 0..self.open.len() {
            self.out.push_str(self.indent);
        }
        let _ = writeln!(self.out, "</{name}>");
    }

    pub fn finish(self) -> String {
        assert!(self.open.is_empty(), "{}: unclosed elements {:?}", self.document, self.open);
        self.out
    }

    fn error(&self, field: String, source: XmlCharError) -> PkgError {
        PkgError::Xml {
            document: self.document,
            field,
            source,
        }
    }
}

/// Element text, after refusing what XML cannot carry.
pub(crate) fn text(s: &str) -> Result<String, XmlCharError> {
    crate::xml::check(s)?;
    Ok(crate::xml::text(s))
}

/// An attribute value in double quotes, after refusing what XML cannot carry.
pub(crate) fn attr(s: &str) -> Result<String, XmlCharError> {
    crate::xml::check(s)?;
    Ok(crate::xml::attr(s, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_nests() {
        let mut x = Xml::new("test", "  ");
        x.open("a", &[("t", "x\"<&>\ty")]).unwrap();
        x.leaf("b", &[], "1 < 2 & 3 > 2\r").unwrap();
        x.empty("c", &[("k", "v")]).unwrap();
        x.close();
        assert_eq!(
            x.finish(),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<a t=\"x&quot;&lt;&amp;&gt;&#9;y\">\n  <b>1 &lt; 2 &amp; 3 &gt; 2&#13;</b>\n  <c k=\"v\"/>\n</a>\n"
        );
    }

    #[test]
    fn refuses_control_characters() {
        let mut x = Xml::new("PackageInfo", " ");
        let e = x.empty("pkg-info", &[("version", "1\u{1}")]).unwrap_err().to_string();
        assert!(e.contains("PackageInfo, <pkg-info version>") && e.contains("U+0001"), "{e}");
    }
}
