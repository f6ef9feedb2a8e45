//! The rpm's payload compressed on every core: the `rpm` crate builds the
//! package with an uncompressed cpio payload, then [`xz`] compresses that
//! cpio with `crate::compress::xz` (liblzma's multi-threaded encoder,
//! independent blocks, as the deb's data.tar) and rewrites the three header
//! tags that describe the payload and the signature header that covers the
//! header.
//!
//! Why this way: the crate (0.30) has no hook for a compressor of our own
//! (`BuildConfig::compression` picks one of its `Compressor` variants, whose
//! xz is liblzma's single-threaded encoder), and a change upstream would
//! not be in a release we can depend on here. Its public `Header::from_entries`
//! and `SignatureHeaderBuilder` rebuild a header exactly as its builder
//! writes one (tags sorted, region tag generated), so the package is the one
//! the builder would have written with our payload: the builder still owns
//! the cpio, the file digests, every other tag and the signing.
//!
//! An xz stream of several blocks is what `xz -T` writes; liblzma has
//! decoded multi-block streams since 5.0, and rpm 4.11 (RHEL 7, xz 5.2)
//! reads the payload through liblzma's stream decoder.

use ::rpm::{HeaderEntry, IndexData, IndexTag, Package, PackageMetadata, SignatureHeaderBuilder};
use sha2::{Digest, Sha256};

use crate::compress;
use crate::packager::PackageError;

/// `pkg` (built with `CompressionWithLevel::None`) with its cpio payload xz
/// compressed at `level`, its header saying so, and a new signature header
/// (unsigned: sign the result).
pub fn xz(pkg: Package, level: u32) -> Result<Package, PackageError> {
    let Package { metadata, payload: cpio } = pkg;
    let compressed = compress::xz(&cpio, level)?;
    drop(cpio);
    let digest = hex::encode(Sha256::digest(&compressed));
    let header = rewrite(
        &metadata,
        &[
            (IndexTag::RPMTAG_PAYLOADCOMPRESSOR, IndexData::StringTag("xz".into())),
            (IndexTag::RPMTAG_PAYLOADFLAGS, IndexData::StringTag(level.to_string())),
            (IndexTag::RPMTAG_PAYLOADSHA256, IndexData::StringArray(vec![digest])),
        ],
    )?;
    let mut metadata = PackageMetadata { header, ..metadata };
    let header_bytes = metadata.header_bytes()?;
    // What the crate's `PackageBuilder::build` writes for a v4 package.
    metadata.signature = SignatureHeaderBuilder::new()
        .format(::rpm::RpmFormat::V4)
        .reserved_space(Some(SignatureHeaderBuilder::DEFAULT_RESERVED_SPACE))
        .set_content_length(header_bytes.len() as u64 + compressed.len() as u64)
        .calculate_digests(&header_bytes)
        .build()?;
    Ok(Package {
        metadata,
        payload: compressed,
    })
}

/// The main header with `set`'s tags replaced or added, every other entry
/// as it was (the region tag is generated again by `from_entries`).
fn rewrite(metadata: &PackageMetadata, set: &[(IndexTag, IndexData)]) -> Result<::rpm::Header<IndexTag>, PackageError> {
    let region = IndexTag::RPMTAG_HEADERIMMUTABLE as u32;
    let mut entries: Vec<HeaderEntry> = metadata
        .header
        .get_all_entries()?
        .into_iter()
        .filter(|(tag, _)| *tag != region && !set.iter().any(|(t, _)| *t as u32 == *tag))
        .map(|(tag, data)| HeaderEntry { tag, data })
        .collect();
    entries.extend(set.iter().map(|(t, d)| HeaderEntry {
        tag: *t as u32,
        data: d.clone(),
    }));
    Ok(::rpm::Header::from_entries(entries, IndexTag::RPMTAG_HEADERIMMUTABLE))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use ::rpm::{BuildConfig, CompressionWithLevel, FileOptions, IndexTag, Package, PackageBuilder};

    fn builder(compression: CompressionWithLevel) -> PackageBuilder {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut b = PackageBuilder::new("t", "1.0", "MIT", "x86_64", "test");
        b.using_config(BuildConfig::v4().compression(compression).source_date(1_700_000_000u32));
        b.with_file_contents(data, FileOptions::new("/usr/bin/t").permissions(0o755))
            .unwrap();
        b.with_file_contents(b"x=1\n".to_vec(), FileOptions::new("/etc/t.conf").config().noreplace())
            .unwrap();
        b
    }

    fn bytes(p: &Package) -> Vec<u8> {
        let mut out = Vec::new();
        p.write(&mut out).unwrap();
        out
    }

    /// Rebuilding the headers changes nothing but what we set: with the
    /// tags and payload the builder itself wrote, the bytes are its own.
    #[test]
    fn rewriting_with_the_builders_own_values_is_byte_identical() {
        let built = builder(CompressionWithLevel::None).build().unwrap();
        let same: Vec<_> = [IndexTag::RPMTAG_PAYLOADFLAGS, IndexTag::RPMTAG_PAYLOADSHA256]
            .into_iter()
            .map(|t| (t, built.metadata.header.entry(t).unwrap()))
            .collect();
        let header = super::rewrite(&built.metadata, &same).unwrap();
        let mut again = built.clone();
        again.metadata.header = header;
        assert_eq!(bytes(&again), bytes(&built));
    }

    #[test]
    fn payload_is_multi_block_xz_with_valid_digests() {
        let pkg = super::xz(builder(CompressionWithLevel::None).build().unwrap(), 6).unwrap();
        let written = bytes(&pkg);
        let parsed = Package::parse(&mut &written[..]).unwrap();
        parsed.verify_digests().unwrap();
        assert_eq!(parsed.metadata.get_payload_compressor().unwrap(), ::rpm::CompressionType::Xz);
        assert_eq!(
            parsed
                .metadata
                .header
                .get_entry_data_as_string(IndexTag::RPMTAG_PAYLOADFLAGS)
                .unwrap(),
            "6"
        );
        // 3 MB of cpio: three independent blocks of 1 MiB (the minimum).
        assert_eq!(crate::compress::xz_block_count(&parsed.payload), Some(3));
        let mut cpio = Vec::new();
        liblzma::read::XzDecoder::new_multi_decoder(&parsed.payload[..])
            .read_to_end(&mut cpio)
            .unwrap();
        assert_eq!(
            cpio,
            builder(CompressionWithLevel::None).build().unwrap().payload,
            "the cpio is the builder's"
        );
        let sizes: Vec<u64> = parsed
            .metadata
            .get_file_entries()
            .unwrap()
            .iter()
            .map(|f| f.size() as u64)
            .collect();
        assert_eq!(sizes, vec![4, 3_000_000]);
    }
}
