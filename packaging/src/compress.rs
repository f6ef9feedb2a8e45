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

pub fn xz(data: &[u8], preset: u32) -> std::io::Result<Vec<u8>> {
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
    }
}
