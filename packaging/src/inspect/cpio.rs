//! Reading odc ("070707") cpio, the Payload and Scripts of a pkg (the
//! writer is `pkg/cpio.rs`).

use super::error::Malformed;

const HEADER_LEN: usize = 76;
const TRAILER: &str = "TRAILER!!!";

pub struct CpioEntry {
    /// As archived: `.` or `./path`.
    pub name: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub data: Vec<u8>,
}

fn field(h: &[u8], at: usize, len: usize, what: &str, part: &str) -> Result<u64, Malformed> {
    let s = std::str::from_utf8(&h[at..at + len]).unwrap_or("?");
    u64::from_str_radix(s, 8).map_err(|_| Malformed::new(part, format!("{what} `{s}` is not octal")))
}

pub fn entries(part: &str, bytes: &[u8]) -> Result<Vec<CpioEntry>, Malformed> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let h = bytes
            .get(at..at + HEADER_LEN)
            .ok_or_else(|| Malformed::new(part, format!("truncated at byte {at}, before the trailer")))?;
        if &h[..6] != b"070707" {
            return Err(Malformed::new(part, format!("no odc magic 070707 at byte {at}")));
        }
        let mode = field(h, 18, 6, "mode", part)? as u32;
        let uid = field(h, 24, 6, "uid", part)? as u32;
        let gid = field(h, 30, 6, "gid", part)? as u32;
        let name_len = field(h, 59, 6, "namesize", part)? as usize;
        let size = field(h, 65, 11, "filesize", part)? as usize;
        let name_at = at + HEADER_LEN;
        let name = bytes
            .get(name_at..name_at + name_len)
            .ok_or_else(|| Malformed::new(part, format!("name at byte {name_at} runs past the end")))?;
        let name = String::from_utf8_lossy(name.strip_suffix(&[0]).unwrap_or(name)).into_owned();
        let data_at = name_at + name_len;
        let data = bytes
            .get(data_at..data_at + size)
            .ok_or_else(|| Malformed::new(part, format!("`{name}`: {size} bytes announced, the archive ends first")))?;
        at = data_at + size;
        if name == TRAILER {
            return Ok(out);
        }
        out.push(CpioEntry {
            name,
            mode,
            uid,
            gid,
            data: data.to_vec(),
        });
    }
}
