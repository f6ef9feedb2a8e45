//! Code pages. Windows Installer refuses a database whose code page is
//! UTF-8 (65001), which is the `msi` crate's default; our packages use
//! Windows-1252. A string that the code page cannot hold must be refused by
//! name: the `msi` crate would silently write `?` instead.

use ::msi::CodePage;

use super::MsiError;

pub const WINDOWS_1252: u16 = 1252;
const UTF8: u16 = 65001;

/// The `msi` crate's code page for `id`, refusing UTF-8 and unknown ids.
pub(crate) fn for_writing(id: u16) -> Result<CodePage, MsiError> {
    if id == UTF8 {
        return Err(MsiError::codepage(
            "code page 65001 (UTF-8) is refused by Windows Installer; use 1252",
        ));
    }
    CodePage::from_id(i32::from(id))
        .ok_or_else(|| MsiError::codepage(format!("code page {id} is not supported by the msi crate")))
}

/// Decoding is lenient: 0 (neutral) reads as the crate's default.
pub(crate) fn for_reading(id: u16) -> Result<CodePage, MsiError> {
    CodePage::from_id(i32::from(id)).ok_or_else(|| MsiError::codepage(format!("unknown code page {id}")))
}

/// Ok if every character of `s` survives an encode/decode round trip
/// through `cp` (the crate's own encoder, so no table of ours to drift);
/// otherwise names the first character that does not.
pub(crate) fn check(cp: CodePage, s: &str) -> Result<(), MsiError> {
    if s.is_ascii() || cp.decode(&cp.encode(s)) == s {
        return Ok(());
    }
    let mut buf = [0u8; 4];
    for (i, ch) in s.chars().enumerate() {
        let one = ch.encode_utf8(&mut buf);
        if cp.decode(&cp.encode(one)) != *one {
            return Err(MsiError::Unencodable {
                at: format!("character {ch:?} (U+{:04X}) at position {}", ch as u32, i + 1),
                codepage: cp.id(),
            });
        }
    }
    Err(MsiError::Unencodable {
        at: format!("{s:?}"),
        codepage: cp.id(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_passes_and_others_are_named() {
        let cp = for_writing(WINDOWS_1252).unwrap();
        check(cp, "Outpost Systems — café €5").unwrap();
        let e = check(cp, "Outpost 日本").unwrap_err().to_string();
        assert!(e.contains("'日'") && e.contains("U+65E5") && e.contains("position 9"), "{e}");
        assert!(for_writing(65001).is_err());
    }
}
