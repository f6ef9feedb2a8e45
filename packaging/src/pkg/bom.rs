//! The Bill of Materials ("BOMStore") of a payload: what Installer records in
//! its receipts and what `lsbom` lists. Apple never documented it; the layout
//! follows what Apple's mkbom writes (seen in BOMs it made), which bomutils
//! and fleet's Go writer also produce:
//!
//! * a 512-byte header: magic, version 1, the number of non-null blocks, and
//!   where the block table and the variables are;
//! * numbered blocks (block 0 is null), found through the block table;
//! * the variables `BomInfo`, `Paths`, `HLIndex`, `VIndex` and `Size64`,
//!   each naming its first block. The last three are empty trees: the
//!   payload has no hard links and no file of 4 GiB or more.
//!
//! `Paths` is a B+ tree keyed by (parent id, name). Ids are breadth-first
//! with the root `.` as 1, so key order is id order and every parent comes
//! before its children. A leaf holds at most 256 entries, as mkbom writes;
//! leaves are chained forward and backward, and with more than one leaf a
//! branch node lists each leaf with its last key.
//!
//! Everything is big-endian. Owners are 0:0 (root:wheel); the per-file
//! checksum is the POSIX `cksum` CRC, as mkbom records it.

use super::error::PkgError;
use super::tree::{Entry, Kind, Tree};

const HEADER_LEN: usize = 512;
const PATHS_BLOCK_SIZE: u32 = 4096;
const VINDEX_BLOCK_SIZE: u32 = 128;
const LEAF_ENTRIES: usize = 256;
/// Unknown meaning; mkbom writes 3 (bomutils too) or 0xf. Installer ignores it.
const ARCHITECTURE: u16 = 3;

// Block numbers of the fixed structures, as Apple's mkbom numbers them.
const BOM_INFO: u32 = 1;
const PATHS_TREE: u32 = 2;
const PATHS_ROOT: u32 = 3;
const HL_INDEX_TREE: u32 = 4;
const HL_INDEX_LEAF: u32 = 5;
const V_INDEX: u32 = 6;
const V_INDEX_TREE: u32 = 7;
const V_INDEX_LEAF: u32 = 8;
const SIZE64_TREE: u32 = 9;
const SIZE64_LEAF: u32 = 10;
const FIXED_BLOCKS: usize = 11;

/// POSIX `cksum`: CRC-32 with polynomial 0x04C11DB7, MSB first, over the
/// data and then its length (least significant byte first, no trailing
/// zero bytes), inverted.
pub fn cksum(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = (i as u32) << 24;
            let mut k = 0;
            while k < 8 {
                c = if c & 0x8000_0000 != 0 {
                    (c << 1) ^ 0x04C1_1DB7
                } else {
                    c << 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let step = |crc: u32, b: u8| (crc << 8) ^ TABLE[((crc >> 24) as u8 ^ b) as usize];
    let mut crc = data.iter().fold(0u32, |crc, &b| step(crc, b));
    let mut n = data.len();
    while n != 0 {
        crc = step(crc, n as u8);
        n >>= 8;
    }
    !crc
}

fn u32_be(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn to_u32(n: usize, what: &str, reason: &str) -> Result<u32, PkgError> {
    u32::try_from(n).map_err(|_| PkgError::limit("BOM", what, format!("{n} {reason}")))
}

struct Blocks(Vec<Vec<u8>>);

impl Blocks {
    fn add(&mut self, data: Vec<u8>) -> u32 {
        self.0.push(data);
        (self.0.len() - 1) as u32
    }
}

fn tree_block(child: u32, block_size: u32, path_count: u32) -> Vec<u8> {
    let mut b = b"tree".to_vec();
    u32_be(&mut b, 1);
    u32_be(&mut b, child);
    u32_be(&mut b, block_size);
    u32_be(&mut b, path_count);
    b.push(0);
    b
}

/// A tree node: `is_leaf`, count, forward and backward links, then (index0,
/// index1) pairs. Padded to the tree's block size, as mkbom allocates it.
fn node_block(is_leaf: bool, forward: u32, backward: u32, pairs: &[(u32, u32)], block_size: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(block_size as usize);
    b.extend_from_slice(&u16::from(is_leaf).to_be_bytes());
    b.extend_from_slice(&(pairs.len() as u16).to_be_bytes());
    u32_be(&mut b, forward);
    u32_be(&mut b, backward);
    for &(i0, i1) in pairs {
        u32_be(&mut b, i0);
        u32_be(&mut b, i1);
    }
    debug_assert!(b.len() <= block_size as usize);
    b.resize(block_size as usize, 0);
    b
}

/// The path record ("PathInfo2"): type, mode, owners, mtime, size, checksum
/// and, for a symlink, the NUL-terminated target. mkbom follows a file's
/// record with a zero word and a link's with two; kept for fidelity.
fn path_record(e: &Entry<'_>, mtime: u32, display: &str) -> Result<Vec<u8>, PkgError> {
    let (kind, checksum, size) = match e.kind {
        Kind::Dir => (2u8, 0, 0),
        Kind::File(data) => (1, cksum(data), data.len()),
        Kind::Symlink(target) => (3, cksum(target.as_bytes()), target.len()),
    };
    let size = to_u32(
        size,
        display,
        "bytes: files of 4 GiB or more need the BOM's Size64 tree, which this writer does not write",
    )?;
    let mut b = Vec::with_capacity(48);
    b.push(kind);
    b.push(1);
    b.extend_from_slice(&ARCHITECTURE.to_be_bytes());
    b.extend_from_slice(&(e.st_mode() as u16).to_be_bytes());
    u32_be(&mut b, 0); // uid: root
    u32_be(&mut b, 0); // gid: wheel
    u32_be(&mut b, mtime);
    u32_be(&mut b, size);
    b.push(1);
    u32_be(&mut b, checksum);
    match e.kind {
        Kind::Dir => u32_be(&mut b, 0),
        Kind::File(_) => {
            u32_be(&mut b, 0);
            u32_be(&mut b, 0);
        }
        Kind::Symlink(target) => {
            u32_be(&mut b, target.len() as u32 + 1);
            b.extend_from_slice(target.as_bytes());
            b.push(0);
            b.extend_from_slice(&[0; 8]);
        }
    }
    Ok(b)
}

/// The BOM of `tree`, every entry stamped with `mtime`.
pub fn bom(tree: &Tree, mtime: u64) -> Result<Vec<u8>, PkgError> {
    let mtime = u32::try_from(mtime)
        .map_err(|_| PkgError::limit("BOM", "mtime", format!("{mtime} is past 2106, beyond the BOM's 32-bit times")))?;
    let entries = tree.entries();
    let order = breadth_first(&entries);
    let count = to_u32(order.len(), "Paths", "entries are more than a BOM can count")?;

    let mut blocks = Blocks(vec![Vec::new(); FIXED_BLOCKS]);
    let keys = path_keys(&mut blocks, &entries, &order, mtime)?;
    paths_root(&mut blocks, &keys, count)?;
    fixed_blocks(&mut blocks, count);
    store(&blocks)
}

/// (entry index, parent id) per path in breadth-first order, children in
/// name order; the position in the result is the id minus 1.
fn breadth_first(entries: &[Entry<'_>]) -> Vec<(usize, u32)> {
    // `entries` is in byte order of full paths, which keeps siblings in
    // name order.
    let mut children: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (i, e) in entries.iter().enumerate().skip(1) {
        let parent = e.path.rsplit_once('/').map_or("", |(p, _)| p);
        children.entry(parent).or_default().push(i);
    }
    let mut order: Vec<(usize, u32)> = vec![(0, 0)];
    let mut next = 0;
    while next < order.len() {
        let (i, _) = order[next];
        let id = next as u32 + 1;
        if let Some(kids) = children.get(entries[i].path.as_str()) {
            order.extend(kids.iter().map(|&k| (k, id)));
        }
        next += 1;
    }
    debug_assert_eq!(order.len(), entries.len());
    order
}

/// Adds each path's record, name and info blocks; returns one
/// (PathInfo1, File) key per path, in key order.
fn path_keys(blocks: &mut Blocks, entries: &[Entry<'_>], order: &[(usize, u32)], mtime: u32) -> Result<Vec<(u32, u32)>, PkgError> {
    let mut keys = Vec::with_capacity(order.len());
    for (pos, &(i, parent)) in order.iter().enumerate() {
        let e = &entries[i];
        let display = e.archive_name();
        let record = blocks.add(path_record(e, mtime, &display)?);
        let mut file = Vec::with_capacity(5 + e.path.len());
        u32_be(&mut file, parent);
        let name = if pos == 0 {
            "."
        } else {
            e.path.rsplit('/').next().unwrap_or(&e.path)
        };
        file.extend_from_slice(name.as_bytes());
        file.push(0);
        let file = blocks.add(file);
        let mut info = Vec::with_capacity(8);
        u32_be(&mut info, pos as u32 + 1);
        u32_be(&mut info, record);
        let info = blocks.add(info);
        keys.push((info, file));
    }
    Ok(keys)
}

/// The `Paths` tree's root: one leaf, or one branch over chained leaves.
fn paths_root(blocks: &mut Blocks, keys: &[(u32, u32)], count: u32) -> Result<(), PkgError> {
    let chunks: Vec<&[(u32, u32)]> = keys.chunks(LEAF_ENTRIES).collect();
    if chunks.len() == 1 {
        blocks.0[PATHS_ROOT as usize] = node_block(true, 0, 0, chunks[0], PATHS_BLOCK_SIZE);
        return Ok(());
    }
    if 12 + chunks.len() * 8 > PATHS_BLOCK_SIZE as usize {
        return Err(PkgError::limit(
            "BOM",
            "Paths",
            format!("{count} entries need more than one branch level, which this writer does not write"),
        ));
    }
    let first = blocks.0.len() as u32;
    let mut branch = Vec::with_capacity(chunks.len());
    for (n, chunk) in chunks.iter().enumerate() {
        let n = n as u32;
        let backward = if n == 0 { 0 } else { first + n - 1 };
        let forward = if n as usize + 1 == chunks.len() { 0 } else { first + n + 1 };
        let leaf = blocks.add(node_block(true, forward, backward, chunk, PATHS_BLOCK_SIZE));
        branch.push((leaf, chunk[chunk.len() - 1].1));
    }
    blocks.0[PATHS_ROOT as usize] = node_block(false, 0, 0, &branch, PATHS_BLOCK_SIZE);
    Ok(())
}

/// BomInfo, the `Paths` tree header and the empty HLIndex, VIndex and
/// Size64 trees.
fn fixed_blocks(blocks: &mut Blocks, count: u32) {
    let mut info = Vec::new();
    u32_be(&mut info, 1); // version
    u32_be(&mut info, count + 1); // mkbom counts one more than the paths
    u32_be(&mut info, 1); // one info entry, all zero, as mkbom writes
    info.extend_from_slice(&[0; 16]);
    blocks.0[BOM_INFO as usize] = info;
    blocks.0[PATHS_TREE as usize] = tree_block(PATHS_ROOT, PATHS_BLOCK_SIZE, count);
    blocks.0[HL_INDEX_TREE as usize] = tree_block(HL_INDEX_LEAF, PATHS_BLOCK_SIZE, 0);
    blocks.0[HL_INDEX_LEAF as usize] = node_block(true, 0, 0, &[], PATHS_BLOCK_SIZE);
    let mut vindex = Vec::new();
    u32_be(&mut vindex, 1);
    u32_be(&mut vindex, V_INDEX_TREE);
    u32_be(&mut vindex, 0);
    vindex.push(0);
    blocks.0[V_INDEX as usize] = vindex;
    blocks.0[V_INDEX_TREE as usize] = tree_block(V_INDEX_LEAF, VINDEX_BLOCK_SIZE, 0);
    blocks.0[V_INDEX_LEAF as usize] = node_block(true, 0, 0, &[], VINDEX_BLOCK_SIZE);
    blocks.0[SIZE64_TREE as usize] = tree_block(SIZE64_LEAF, PATHS_BLOCK_SIZE, 0);
    blocks.0[SIZE64_LEAF as usize] = node_block(true, 0, 0, &[], PATHS_BLOCK_SIZE);
}

/// The file: header, block data, block table (then an empty free list),
/// variables.
fn store(blocks: &Blocks) -> Result<Vec<u8>, PkgError> {
    let data_len: usize = blocks.0.iter().map(Vec::len).sum();
    let mut out = vec![0u8; HEADER_LEN];
    out.reserve(data_len + blocks.0.len() * 8 + 128);
    let mut table = Vec::with_capacity(4 + blocks.0.len() * 8 + 4);
    u32_be(&mut table, blocks.0.len() as u32);
    for (n, block) in blocks.0.iter().enumerate() {
        let addr = if n == 0 {
            0
        } else {
            to_u32(out.len(), "size", "bytes is more than a BOM can address")?
        };
        u32_be(&mut table, addr);
        u32_be(&mut table, block.len() as u32);
        out.extend_from_slice(block);
    }
    u32_be(&mut table, 0);
    let table_offset = to_u32(out.len(), "size", "bytes is more than a BOM can address")?;
    out.extend_from_slice(&table);

    let vars = variables();
    let vars_offset = to_u32(out.len(), "size", "bytes is more than a BOM can address")?;
    out.extend_from_slice(&vars);

    let mut header = b"BOMStore".to_vec();
    u32_be(&mut header, 1);
    u32_be(&mut header, blocks.0.len() as u32 - 1);
    u32_be(&mut header, table_offset);
    u32_be(&mut header, table.len() as u32);
    u32_be(&mut header, vars_offset);
    u32_be(&mut header, vars.len() as u32);
    out[..header.len()].copy_from_slice(&header);
    Ok(out)
}

/// The named variables, each pointing at its first block.
fn variables() -> Vec<u8> {
    let mut vars = Vec::new();
    let names = [
        ("BomInfo", BOM_INFO),
        ("Paths", PATHS_TREE),
        ("HLIndex", HL_INDEX_TREE),
        ("VIndex", V_INDEX),
        ("Size64", SIZE64_TREE),
    ];
    u32_be(&mut vars, names.len() as u32);
    for (name, block) in names {
        u32_be(&mut vars, block);
        // The length excludes any terminator, and none is written.
        vars.push(name.len() as u8);
        vars.extend_from_slice(name.as_bytes());
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cksum_matches_posix() {
        // Values printed by coreutils `cksum`.
        assert_eq!(cksum(b""), 4_294_967_295);
        assert_eq!(cksum(b"hello\n"), 3_015_617_425);
        assert_eq!(cksum(&[0u8; 300]), 351_385_237);
    }
}
