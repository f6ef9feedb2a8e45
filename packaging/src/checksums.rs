//! `SHA256SUMS`: the `sha256sum` format (`<hex>  <name>`, sorted by name)
//! over every file of a release folder, and its detached OpenPGP signature
//! `SHA256SUMS.asc`, so `sha256sum -c` and `gpgv` check a download with
//! nothing of ours.

use sha2::{Digest, Sha256};

pub const FILE_NAME: &str = "SHA256SUMS";
pub const SIGNATURE_FILE_NAME: &str = "SHA256SUMS.asc";

/// The file's text over `files` (name, bytes), sorted by name.
pub fn render<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut lines: Vec<(String, &str)> = files.into_iter().map(|(n, b)| (hex::encode(Sha256::digest(b)), n)).collect();
    lines.sort_by(|a, b| a.1.cmp(b.1));
    lines.iter().map(|(h, n)| format!("{h}  {n}\n")).collect()
}

/// A line of SHA256SUMS that is not `<64 hex digits>  <name>`.
#[derive(Debug, thiserror::Error)]
#[error("{FILE_NAME}:{line}: expected `<64 hex digits>  <file name>`, found `{text}`")]
pub struct SumsError {
    pub line: usize,
    pub text: String,
}

/// (name, lowercase hex digest) per line, in the file's order.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, SumsError> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let bad = || SumsError { line: i + 1, text: l.to_string() };
        // sha256sum writes "  " (text mode) or " *" (binary mode).
        let (hash, name) = l.split_once("  ").or_else(|| l.split_once(" *")).ok_or_else(bad)?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) || name.is_empty() {
            return Err(bad());
        }
        out.push((name.to_string(), hash.to_ascii_lowercase()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_two_spaces_and_reads_back() {
        let text = render([("b.rpm", &b"b"[..]), ("a.deb", &b""[..])]);
        assert_eq!(
            text,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a.deb\n\
             3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d  b.rpm\n"
        );
        let back = parse(&text).unwrap();
        assert_eq!(back[1].0, "b.rpm");
        let e = parse("abc  x\n").unwrap_err();
        assert_eq!(e.line, 1);
    }
}
