//! Cabinets for `Media.Cabinet` (`#stream` embedded in the package): one
//! MSZIP folder, written here ([MS-CAB]: CFHEADER, one CFFOLDER, a CFFILE
//! per member, CFDATA blocks of 32 KiB).
//!
//! The deflate settings, measured on the benchmark's agent-like input against
//! `gzip -6`, the codec floor bench/packages.md holds cabinets to. flate2's
//! backend here is zlib-rs (pgp turns its feature on, and flate2 then uses it
//! for every crate), which follows zlib-ng: levels 1 to 8 hash 4-byte
//! strings and miss the 3-byte matches GNU gzip finds (2.7% larger than
//! `gzip -6` at level 6, still 1.8% at 8, for 0.3x and 0.7x its time); level
//! 9 switches to a rolling 3-byte hash, 0.7% smaller in 0.92x gzip's time;
//! level 9 with a shorter lazy and nice length (`deflate`) is 0.4% smaller
//! in 0.80x, which puts the two MSIs' build within the floor's time. The
//! `cab` crate's writer, which this module replaced, is fixed at plain level
//! 9; it stays the reader the tests read back with. Laid out as that crate
//! lays it out (no reserve fields, set ID 0, the archive attribute, MSZIP
//! blocks with a sync flush so each keeps the previous block as its
//! dictionary). Each member is dated here, so the cabinet depends only on
//! its input.
//!
//! Parallelism: a folder is one deflate stream (each block's dictionary is
//! the block before), so one cabinet is compressed on one core; [`cabinets`]
//! builds several at once (one per `Media` row), and the two MSIs are built
//! side by side.

use super::deflate::Deflater;
use super::MsiError;

/// The cabinet format's limits.
const MAX_FILES: usize = 0xffff;
const MAX_FILE_SIZE: usize = 0x7fff_ffff;
/// Members are named by File table key, an s72 column.
const MAX_MEMBER_NAME: usize = 72;

// [MS-CAB] layout: a 36-byte CFHEADER, an 8-byte CFFOLDER, per member a
// 16-byte CFFILE and its NUL-terminated name, then the CFDATA blocks (an
// 8-byte header each) of at most 32 KiB of input.
const CFHEADER_LEN: usize = 36;
const CFFOLDER_LEN: usize = 8;
const CFFILE_FIXED_LEN: usize = 16;
const CFDATA_HEADER_LEN: usize = 8;
const BLOCK: usize = 0x8000;
const SIGNATURE: &[u8; 4] = b"MSCF";
/// Format version 1.3, the only one.
const VERSION: [u8; 2] = [3, 1];
const TYPE_MSZIP: u16 = 1;
const ATTR_ARCHIVE: u16 = 0x20;
/// Each MSZIP block starts with "CK".
const MSZIP_SIGNATURE: &[u8; 2] = b"CK";
/// BFINAL, fixed Huffman, end-of-block: 3 bits and 7 zero bits.
const MSZIP_END: [u8; 2] = [0x03, 0x00];
/// Where CFHEADER's total size is.
const CBCABINET_AT: usize = 8;

const SECS_PER_DAY: u64 = 86_400;
/// The MS-DOS date's year 0.
const DOS_EPOCH_YEAR: i64 = 1980;

/// One MSZIP cabinet holding `files` in the given order, each member named
/// by its File table key and dated `modified_unix_seconds` (UTC, rounded up
/// to even seconds, clamped to 1980–2107). Windows Installer extracts files
/// in `File.Sequence` order, so pass them in that order.
pub fn cabinet(files: &[(String, Vec<u8>)], modified_unix_seconds: u64) -> Result<Vec<u8>, MsiError> {
    check(files)?;
    let (date, time) = dos_datetime(modified_unix_seconds);
    let total: usize = files.iter().map(|(_, d)| d.len()).sum();
    let names: usize = files.iter().map(|(n, _)| CFFILE_FIXED_LEN + n.len() + 1).sum();
    let first_file = CFHEADER_LEN + CFFOLDER_LEN;
    let first_data = first_file + names;
    let blocks = total.div_ceil(BLOCK);
    // Deflate rarely grows data; a block that would is stored (below).
    let mut cab = Vec::with_capacity(first_data + blocks * (CFDATA_HEADER_LEN + 7) + total / 2);
    cab.extend_from_slice(SIGNATURE);
    put32(&mut cab, 0); // reserved1
    put32(&mut cab, 0); // cbCabinet, set at the end
    put32(&mut cab, 0); // reserved2
    put32(&mut cab, first_file as u32);
    put32(&mut cab, 0); // reserved3
    cab.extend_from_slice(&VERSION);
    put16(&mut cab, 1); // cFolders
    put16(&mut cab, files.len() as u16);
    put16(&mut cab, 0); // flags: no reserve, no previous or next cabinet
    put16(&mut cab, 0); // setID
    put16(&mut cab, 0); // iCabinet
    put32(&mut cab, first_data as u32);
    put16(&mut cab, u16::try_from(blocks).map_err(|_| too_big())?);
    put16(&mut cab, TYPE_MSZIP);
    let mut offset = 0u32;
    for (name, data) in files {
        put32(&mut cab, data.len() as u32);
        put32(&mut cab, offset);
        put16(&mut cab, 0); // iFolder
        put16(&mut cab, date);
        put16(&mut cab, time);
        put16(&mut cab, ATTR_ARCHIVE);
        cab.extend_from_slice(name.as_bytes());
        cab.push(0);
        offset += data.len() as u32;
    }
    debug_assert_eq!(cab.len(), first_data);
    mszip_blocks(&mut cab, files, total);
    let len = u32::try_from(cab.len()).map_err(|_| too_big())?;
    cab[CBCABINET_AT..CBCABINET_AT + 4].copy_from_slice(&len.to_le_bytes());
    Ok(cab)
}

fn too_big() -> MsiError {
    MsiError::Cabinet {
        member: String::new(),
        reason: "a cabinet holds at most 2 GiB; split the files over several Media rows".into(),
    }
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// The folder's CFDATA blocks: the members' bytes as one stream cut into
/// 32 KiB blocks, each "CK" and a deflate block ending in a sync flush (the
/// last one in the final block), so the compressor's window, and the
/// reader's dictionary, carry over from block to block.
fn mszip_blocks(cab: &mut Vec<u8>, files: &[(String, Vec<u8>)], total: usize) {
    let mut deflate = Deflater::new();
    let mut out = Vec::with_capacity(BLOCK + 1024);
    // A block that spans members is gathered here; others are read in place.
    let mut pending = Vec::with_capacity(BLOCK);
    let mut done = 0;
    for (_, data) in files {
        let mut rest = &data[..];
        while !rest.is_empty() {
            if pending.is_empty() && rest.len() >= BLOCK {
                let (block, r) = rest.split_at(BLOCK);
                done += BLOCK;
                mszip_block(cab, &mut deflate, &mut out, block, done == total);
                rest = r;
                continue;
            }
            let take = rest.len().min(BLOCK - pending.len());
            pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if pending.len() == BLOCK {
                done += BLOCK;
                mszip_block(cab, &mut deflate, &mut out, &pending, done == total);
                pending.clear();
            }
        }
    }
    if !pending.is_empty() {
        mszip_block(cab, &mut deflate, &mut out, &pending, true);
    }
}

/// One CFDATA: checksum, sizes, "CK" and the deflated block (stored when
/// deflate would make it larger than the input plus a stored block's 5
/// bytes; the compressor's window still holds it for the next block).
fn mszip_block(cab: &mut Vec<u8>, deflate: &mut Deflater, out: &mut Vec<u8>, input: &[u8], last: bool) {
    out.clear();
    out.extend_from_slice(MSZIP_SIGNATURE);
    deflate.block(input, out, last);
    if !last {
        // An empty final block (fixed Huffman, end of block): each MSZIP
        // block is a whole deflate stream to its reader, as the cab crate
        // and Microsoft's own cabinets end them.
        out.extend_from_slice(&MSZIP_END);
    }
    let stored_len = input.len() + MSZIP_SIGNATURE.len() + 5;
    if out.len() > stored_len {
        out.truncate(MSZIP_SIGNATURE.len());
        out.push(1); // BFINAL, stored
        out.extend_from_slice(&(input.len() as u16).to_le_bytes());
        out.extend_from_slice(&(!(input.len() as u16)).to_le_bytes());
        out.extend_from_slice(input);
    }
    let sizes = (out.len() as u32) | ((input.len() as u32) << 16);
    put32(cab, checksum(out) ^ sizes);
    put16(cab, out.len() as u16);
    put16(cab, input.len() as u16);
    cab.extend_from_slice(out);
}

/// [MS-CAB]'s CFDATA checksum: the XOR of the data's little-endian 32-bit
/// words, the 1 to 3 bytes left over taken big-end first.
fn checksum(data: &[u8]) -> u32 {
    let words = data.chunks_exact(4);
    let rest = words.remainder();
    let mut sum = words.fold(0u32, |s, w| s ^ u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    sum ^= rest.iter().fold(0u32, |s, &b| (s << 8) | u32::from(b));
    sum
}

/// Several cabinets built at once, one per group, on up to as many threads
/// as there are cores; results in the order of `groups`.
pub fn cabinets(groups: &[&[(String, Vec<u8>)]], modified_unix_seconds: u64) -> Result<Vec<Vec<u8>>, MsiError> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(groups.len())
        .max(1);
    let mut results: Vec<Option<Result<Vec<u8>, MsiError>>> = (0..groups.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || {
                    (w..groups.len())
                        .step_by(workers)
                        .map(|i| (i, cabinet(groups[i], modified_unix_seconds)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            // A panicked worker leaves its slots empty: reported below.
            if let Ok(done) = h.join() {
                done.into_iter().for_each(|(i, r)| results[i] = Some(r));
            }
        }
    });
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(MsiError::Cabinet {
                    member: String::new(),
                    reason: "a compression thread panicked".into(),
                })
            })
        })
        .collect()
}

fn check(files: &[(String, Vec<u8>)]) -> Result<(), MsiError> {
    let err = |member: &str, reason: String| {
        Err(MsiError::Cabinet {
            member: member.to_string(),
            reason,
        })
    };
    if files.is_empty() || files.len() > MAX_FILES {
        return err("", format!("a cabinet holds 1 to {MAX_FILES} files, not {}", files.len()));
    }
    let mut total = 0usize;
    for (i, (name, data)) in files.iter().enumerate() {
        // Windows Installer looks members up by File table key.
        if !::msi::Category::Identifier.validate(name) || name.len() > MAX_MEMBER_NAME {
            return err(
                name,
                "a member name must be a File table key (an identifier of at most 72 characters)".into(),
            );
        }
        if files[..i].iter().any(|(other, _)| other == name) {
            return err(name, "appears twice".into());
        }
        total = total.saturating_add(data.len());
        if data.len() > MAX_FILE_SIZE || total > MAX_FILE_SIZE {
            return err(
                name,
                "a cabinet holds at most 2 GiB; split the files over several Media rows".into(),
            );
        }
    }
    Ok(())
}

/// MS-DOS date and time of a Unix time (UTC), rounded up to even seconds
/// and clamped to the format's 1980–2107 range, as the `cab` crate does.
fn dos_datetime(secs: u64) -> (u16, u16) {
    const MIN: u64 = 315_532_800; // 1980-01-01
    const MAX: u64 = 4_354_819_198; // 2107-12-31 23:59:58
    let secs = secs.saturating_add(secs % 2).clamp(MIN, MAX);
    let (y, m, d) = civil_from_days((secs / SECS_PER_DAY) as i64);
    let rem = secs % SECS_PER_DAY;
    let date = (((y - DOS_EPOCH_YEAR) as u16) << 9) | ((m as u16) << 5) | d as u16;
    let time = (((rem / 3600) as u16) << 11) | ((((rem % 3600) / 60) as u16) << 5) | ((rem % 60) / 2) as u16;
    (date, time)
}

/// Howard Hinnant's days-to-civil algorithm (as in `crate::time`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Read, Write};

    fn read_back(cabinet: &[u8], files: &[(String, Vec<u8>)]) {
        let mut cab = cab::Cabinet::new(Cursor::new(cabinet)).unwrap();
        for (name, data) in files {
            let mut out = Vec::new();
            cab.read_file(name).unwrap().read_to_end(&mut out).unwrap();
            assert_eq!(&out, data, "{name}");
        }
    }

    /// Blocks that span members, a member of exactly one block, bytes deflate
    /// cannot shrink (stored blocks), an empty member: the cab crate's reader
    /// (which checks every CFDATA checksum) gets every byte back.
    #[test]
    fn blocks_across_members_and_stored_blocks_read_back() {
        let mut noise = Vec::with_capacity(3 * BLOCK);
        let mut x: u32 = 1;
        for _ in 0..3 * BLOCK {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            noise.push(x as u8);
        }
        let text: Vec<u8> = b"outpost ".iter().cycle().take(100_000).copied().collect();
        let files = vec![
            ("a".to_string(), text[..BLOCK + 100].to_vec()),
            ("b".to_string(), noise),
            ("c".to_string(), Vec::new()),
            ("d".to_string(), text[..BLOCK].to_vec()),
            ("e".to_string(), b"tail".to_vec()),
        ];
        read_back(&cabinet(&files, 0).unwrap(), &files);
        let whole = vec![("x".to_string(), text[..2 * BLOCK].to_vec())];
        read_back(&cabinet(&whole, 0).unwrap(), &whole);
    }

    /// The cabinet's framing (32 KiB blocks, each flushed, 8-byte headers)
    /// and the shorter search cost under 1% against one deflate stream at
    /// plain level 9: on an executable (this test binary, as the agent is one).
    #[test]
    fn within_a_percent_of_one_deflate_stream() {
        let mut data = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        data.truncate(4_000_000);
        let ours = cabinet(&[("agent".to_string(), data.clone())], 0).unwrap().len();
        let mut gz = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&data).unwrap();
        let stream = gz.finish().unwrap().len();
        assert!((ours as f64) < stream as f64 * 1.01, "{ours} against {stream}");
    }

    #[test]
    fn checksums_as_the_spec_computes_them() {
        // [MS-CAB] 3.1's CSUMCompute on "Hello, world!\n" after the sizes:
        // the cab crate's reference value for the same bytes.
        let mut data = vec![0x0e, 0, 0x0e, 0];
        data.extend_from_slice(b"Hello, world!\n");
        assert_eq!(checksum(&data), 0x7f2e1a4c);
    }

    fn files() -> Vec<(String, Vec<u8>)> {
        vec![
            ("agent.exe".into(), (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect()),
            ("agent.ini".into(), b"[server]\nswitch=x\n".to_vec()),
            ("empty".into(), Vec::new()),
        ]
    }

    #[test]
    fn builds_readable_deterministic_cabinets() {
        let a = cabinet(&files(), 1_700_000_000).unwrap();
        assert_eq!(a, cabinet(&files(), 1_700_000_000).unwrap());
        let mut cab = cab::Cabinet::new(Cursor::new(&a)).unwrap();
        for (name, data) in files() {
            let entry = cab.get_file_entry(&name).unwrap();
            assert_eq!(format!("{:?}", entry.datetime().unwrap()), "2023-11-14 22:13:20.0");
            let mut out = Vec::new();
            cab.read_file(&name).unwrap().read_to_end(&mut out).unwrap();
            assert_eq!(out, data, "{name}");
        }
    }

    #[test]
    fn parallel_cabinets_equal_serial_ones() {
        let f = files();
        let groups: Vec<&[(String, Vec<u8>)]> = vec![&f[..1], &f[1..], &f[..2]];
        let got = cabinets(&groups, 0).unwrap();
        for (g, cab) in groups.iter().zip(&got) {
            assert_eq!(&cabinet(g, 0).unwrap(), cab);
        }
    }

    #[test]
    fn bad_members_are_named() {
        let mut f = files();
        f.push(("agent.exe".into(), vec![]));
        assert!(cabinet(&f, 0).unwrap_err().to_string().contains("`agent.exe`: appears twice"));
        assert!(cabinet(&[("9bad".into(), vec![])], 0)
            .unwrap_err()
            .to_string()
            .contains("`9bad`"));
    }

    #[test]
    fn dos_dates() {
        assert_eq!(dos_datetime(0), (0x21, 0));
        // 2023-11-14 22:13:20 UTC
        assert_eq!(
            dos_datetime(1_700_000_000),
            (((2023 - 1980) << 9) | (11 << 5) | 14, (22 << 11) | (13 << 5) | 10)
        );
    }
}
