//! Reading a pkg's Bill of Materials (the writer, with the layout, is
//! `pkg/bom.rs`): the `Paths` tree's entries with type, mode, owners, size
//! and `cksum` CRC, as `lsbom` lists them.

use std::collections::BTreeMap;

use super::error::Malformed;

pub struct BomEntry {
    /// `.` or `./path`.
    pub path: String,
    /// 1 file, 2 directory, 3 symlink.
    pub kind: u8,
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    pub size: u32,
    pub checksum: u32,
}

struct Bom<'a> {
    part: &'a str,
    bytes: &'a [u8],
    blocks: Vec<(usize, usize)>,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

impl<'a> Bom<'a> {
    fn bad(&self, reason: impl Into<String>) -> Malformed {
        Malformed::new(self.part, reason.into())
    }

    fn block(&self, n: u32) -> Result<&'a [u8], Malformed> {
        let &(addr, len) = self
            .blocks
            .get(n as usize)
            .ok_or_else(|| self.bad(format!("block {n} is not in the block table")))?;
        self.bytes
            .get(addr..addr + len)
            .ok_or_else(|| self.bad(format!("block {n} runs past the end")))
    }

    fn u32_at(&self, b: &[u8], at: usize) -> Result<u32, Malformed> {
        be32(b, at).ok_or_else(|| self.bad("a block is shorter than its structure"))
    }

    fn variable(&self, name: &str) -> Result<u32, Malformed> {
        let vars_at = self.u32_at(self.bytes, 24)? as usize;
        let count = self.u32_at(self.bytes, vars_at)?;
        let mut at = vars_at + 4;
        for _ in 0..count {
            let block = self.u32_at(self.bytes, at)?;
            let len = *self.bytes.get(at + 4).ok_or_else(|| self.bad("variables run past the end"))? as usize;
            let n = self
                .bytes
                .get(at + 5..at + 5 + len)
                .ok_or_else(|| self.bad("variables run past the end"))?;
            if n == name.as_bytes() {
                return Ok(block);
            }
            at += 5 + len;
        }
        Err(self.bad(format!("no `{name}` variable")))
    }
}

pub fn entries(part: &str, bytes: &[u8]) -> Result<Vec<BomEntry>, Malformed> {
    if !bytes.starts_with(b"BOMStore") {
        return Err(Malformed::new(part, "does not start with BOMStore"));
    }
    let mut bom = Bom {
        part,
        bytes,
        blocks: Vec::new(),
    };
    let table_at = bom.u32_at(bytes, 16)? as usize;
    let count = bom.u32_at(bytes, table_at)?;
    for i in 0..count as usize {
        let addr = bom.u32_at(bytes, table_at + 4 + i * 8)? as usize;
        let len = bom.u32_at(bytes, table_at + 8 + i * 8)? as usize;
        bom.blocks.push((addr, len));
    }
    let tree = bom.block(bom.variable("Paths")?)?;
    if !tree.starts_with(b"tree") {
        return Err(bom.bad("the Paths variable is not a tree"));
    }
    let pairs = leaf_pairs(&bom, bom.u32_at(tree, 8)?)?;
    let mut names: BTreeMap<u32, (u32, String)> = BTreeMap::new();
    let mut out = Vec::new();
    for (info, file) in pairs {
        let info = bom.block(info)?;
        let file = bom.block(file)?;
        let (id, record) = (bom.u32_at(info, 0)?, bom.block(bom.u32_at(info, 4)?)?);
        let parent = bom.u32_at(file, 0)?;
        let name = String::from_utf8_lossy(file[4..].split(|b| *b == 0).next().unwrap_or_default()).into_owned();
        let path = match names.get(&parent) {
            Some((_, p)) => format!("{p}/{name}"),
            None => name,
        };
        names.insert(id, (parent, path.clone()));
        let short = || bom.bad(format!("`{path}`: path record too short"));
        out.push(BomEntry {
            kind: *record.first().ok_or_else(short)?,
            mode: be16(record, 4).ok_or_else(short)?,
            uid: be32(record, 6).ok_or_else(short)?,
            gid: be32(record, 10).ok_or_else(short)?,
            size: be32(record, 18).ok_or_else(short)?,
            checksum: be32(record, 23).ok_or_else(short)?,
            path,
        });
    }
    Ok(out)
}

/// The (info, file) pairs of every leaf, from the leftmost leaf along the
/// forward links.
fn leaf_pairs(bom: &Bom, root: u32) -> Result<Vec<(u32, u32)>, Malformed> {
    let mut node = root;
    // Down the first child of each branch; a BOM is shallow.
    for _ in 0..64 {
        let b = bom.block(node)?;
        if be16(b, 0) == Some(1) {
            break;
        }
        node = bom.u32_at(b, 12)?;
    }
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while node != 0 && seen.insert(node) {
        let b = bom.block(node)?;
        let count = be16(b, 2).ok_or_else(|| bom.bad("short tree node"))? as usize;
        for i in 0..count {
            out.push((bom.u32_at(b, 12 + i * 8)?, bom.u32_at(b, 16 + i * 8)?));
        }
        node = bom.u32_at(b, 4)?;
    }
    Ok(out)
}
