//! Code pages. Windows Installer refuses a database whose code page is
//! UTF-8 (65001), which is the `msi` crate's default; our packages use
//! Windows-1252. A string that the code page cannot hold must be refused by
//! name: the `msi` crate would silently write `?` instead.

use ::msi::CodePage;

pub const WINDOWS_1252: u16 = 1252;
const UTF8: u16 = 65001;

/// The `msi` crate's code page for `id`, refusing UTF-8 and unknown ids.
pub(crate) fn for_writing(id: u16) -> Result<CodePage, String> {
    if id == UTF8 {
        return Err("code page 65001 (UTF-8) is refused by Windows Installer; use 1252".into());
    }
    CodePage::from_id(i32::from(id)).ok_or_else(|| format!("code page {id} is not supported by the msi crate"))
}

/// Decoding is lenient: 0 (neutral) reads as the crate's default.
pub(crate) fn for_reading(id: u16) -> Result<CodePage, String> {
    CodePage::from_id(i32::from(id)).ok_or_else(|| format!("unknown code page {id}"))
}

/// Ok if every character of `s` survives an encode/decode round trip
/// through `cp` (the crate's own encoder, so no table of ours to drift);
/// otherwise names the first character that does not.
pub(crate) fn check(cp: CodePage, s: &str) -> Result<(), String> {
    if s.is_ascii() || cp.decode(&cp.encode(s)) == s {
        return Ok(());
    }
    let mut buf = [0u8; 4];
    for (i, ch) in s.chars().enumerate() {
        let one = ch.encode_utf8(&mut buf);
        if cp.decode(&cp.encode(one)) != *one {
            return Err(format!(
                "character {ch:?} (U+{:04X}) at position {} cannot be encoded in code page {}",
                ch as u32,
                i + 1,
                cp.id()
            ));
        }
    }
    Err(format!("{s:?} cannot be encoded in code page {}", cp.id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_passes_and_others_are_named() {
        let cp = for_writing(WINDOWS_1252).unwrap();
        check(cp, "Outpost Systems — café €5").unwrap();
        let e = check(cp, "Outpost 日本").unwrap_err();
        assert!(e.contains("'日'") && e.contains("U+65E5") && e.contains("position 9"), "{e}");
        assert!(for_writing(65001).is_err());
    }
}
