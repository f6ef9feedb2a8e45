//! Reading the `ar` container of a .deb (the writer is `deb/ar.rs`): the
//! common format dpkg-deb writes, GNU `name/` endings accepted.

use super::error::Malformed;

const MAGIC: &[u8] = b"!<arch>\n";
const HEADER_LEN: usize = 60;

pub fn is_ar(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Every member (name, data) in order.
pub fn members(bytes: &[u8]) -> Result<Vec<(String, &[u8])>, Malformed> {
    if !is_ar(bytes) {
        return Err(Malformed::new("ar archive", "does not start with `!<arch>`"));
    }
    let mut out = Vec::new();
    let mut at = MAGIC.len();
    while at < bytes.len() {
        let header = bytes
            .get(at..at + HEADER_LEN)
            .ok_or_else(|| Malformed::new("ar archive", format!("truncated member header at byte {at}")))?;
        let text = String::from_utf8_lossy(header);
        if &header[58..60] != b"`\n" {
            return Err(Malformed::new("ar archive", format!("bad member header at byte {at}")));
        }
        let name = text[..16].trim_end().trim_end_matches('/').to_string();
        let size: usize = text[48..58]
            .trim()
            .parse()
            .map_err(|_| Malformed::new(format!("ar member `{name}`"), "size is not a number"))?;
        let start = at + HEADER_LEN;
        let data = bytes.get(start..start + size).ok_or_else(|| {
            Malformed::new(
                format!("ar member `{name}`"),
                format!("{size} bytes announced, the file ends first"),
            )
        })?;
        out.push((name, data));
        at = start + size + size % 2;
    }
    Ok(out)
}
