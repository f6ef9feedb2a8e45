//! Compression shared by the formats. xz is split into independent blocks
//! that liblzma compresses on every core; the block size depends only on the
//! input length, so the output is the same whatever the core count.

use std::io::Write;

use liblzma::stream::{Check, MtStreamBuilder};
use liblzma::write::XzEncoder;

const MIB: u64 = 1 << 20;

/// Block size for `len` input bytes: about four blocks (so two cores stay
/// busy even for a 10 MB payload), at least 1 MiB, at most 64 MiB.
pub fn xz_block_size(len: usize) -> u64 {
    (len as u64).div_ceil(4).clamp(MIB, 64 * MIB)
}

/// One xz stream at a time in the process: each already uses every core, and
/// two at once (the deb's and the rpm's) only doubled the encoders' memory
/// (about 95 MiB a thread at preset 6, all page faults) for the same work.
static XZ_ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn xz(data: &[u8], preset: u32) -> std::io::Result<Vec<u8>> {
    let _turn = XZ_ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let stream = MtStreamBuilder::new()
        .preset(preset)
        .check(Check::Crc64)
        .threads(threads)
        .block_size(xz_block_size(data.len()))
        .encoder()
        .map_err(std::io::Error::other)?;
    let mut enc = XzEncoder::new_stream(Vec::with_capacity(data.len() / 3), stream);
    enc.write_all(data)?;
    enc.finish()
}

/// gzip -9n: no name, no timestamp (what Debian wants for changelogs).
pub fn gzip_n(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    enc.write_all(data)?;
    enc.finish()
}

/// How many blocks an xz stream holds, from its index (None: not one
/// well-formed xz stream). Tests use it to see the payloads are split.
#[cfg(test)]
pub fn xz_block_count(xz: &[u8]) -> Option<u64> {
    let footer = xz.len().checked_sub(12)?;
    if &xz[xz.len() - 2..] != b"YZ" {
        return None;
    }
    let backward = u32::from_le_bytes(xz[footer + 4..footer + 8].try_into().ok()?) as usize;
    let index = footer.checked_sub((backward + 1) * 4)?;
    // The index: indicator 0, then the number of records as a multibyte integer.
    let mut n: u64 = 0;
    for (i, b) in xz.get(index + 1..index + 10)?.iter().enumerate() {
        n |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (xz[index] == 0).then_some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    #[test]
    fn xz_round_trips_and_is_deterministic() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let a = super::xz(&data, 6).unwrap();
        let b = super::xz(&data, 6).unwrap();
        assert_eq!(a, b);
        let mut out = Vec::new();
        liblzma::read::XzDecoder::new_multi_decoder(&a[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        assert_eq!(super::xz_block_count(&a), Some(3), "3 MB in blocks of 1 MiB");
    }
}
