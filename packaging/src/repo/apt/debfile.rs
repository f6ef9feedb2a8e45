//! What an index needs from a .deb: its control paragraph, read from the
//! package itself (ar archive → control.tar.* → ./control), and the size and
//! digests of the whole file.

use std::io::{Read, Seek, SeekFrom};

use md5::{Digest, Md5};
use sha2::Sha256;

use super::control::{self, Control, ControlError};

/// Why a file is not a .deb an index can list; the caller adds the path.
#[derive(Debug, thiserror::Error)]
pub enum DebError {
    #[error("cannot read: {0}")]
    Read(#[source] std::io::Error),
    #[error("cannot read the ar archive: {0}")]
    ArRead(#[source] std::io::Error),
    #[error("not a .deb: too short for an ar archive")]
    TooShort,
    #[error("not a .deb: no ar archive signature (`!<arch>`)")]
    NoArSignature,
    #[error("truncated ar header at byte {at}")]
    TruncatedArHeader { at: u64 },
    #[error("corrupt ar header at byte {at}")]
    CorruptArHeader { at: u64 },
    #[error("ar member `{member}` has a bad size field")]
    BadMemberSize { member: String },
    #[error("ar member `{member}` is truncated ({declared} bytes declared, {present} present)")]
    TruncatedMember { member: String, declared: u64, present: u64 },
    #[error("cannot read ar member `{member}`: {source}")]
    ReadMember {
        member: String,
        #[source]
        source: std::io::Error,
    },
    #[error("unsupported .deb format version `{version}`")]
    UnsupportedFormat { version: String },
    #[error("not a .deb: the first ar member is not `debian-binary`")]
    NoDebianBinary,
    #[error("the .deb has no control.tar member")]
    NoControlTar,
    #[error("`{member}` is implausibly large ({size} bytes)")]
    ControlTooLarge { member: String, size: u64 },
    #[error(
        "control.tar.zst: zstd-compressed packages are not supported (no zstd decoder is linked); \
         rebuild with xz (`dpkg-deb -Zxz`)"
    )]
    Zstd,
    #[error("unknown control member compression `{member}`")]
    UnknownCompression { member: String },
    #[error("{member}: {source}")]
    ControlMember {
        member: String,
        #[source]
        source: ControlTarError,
    },
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("package name `{0}` is not a valid Debian package name")]
    BadPackageName(String),
    #[error("source name `{0}` is not a valid Debian package name")]
    BadSourceName(String),
    #[error("version `{0}` is not a valid Debian version")]
    BadVersion(String),
    #[error("architecture `{0}` is not a valid Debian architecture name")]
    BadArch(String),
}

/// What is wrong inside the control.tar member.
#[derive(Debug, thiserror::Error)]
pub enum ControlTarError {
    #[error("not a tar archive: {0}")]
    NotTar(#[source] std::io::Error),
    #[error("corrupt tar archive: {0}")]
    Corrupt(#[source] std::io::Error),
    #[error("corrupt tar entry name: {0}")]
    CorruptName(#[source] std::io::Error),
    #[error("cannot read ./control: {0}")]
    Read(#[source] std::io::Error),
    #[error("./control is larger than 1 MiB")]
    TooLarge,
    #[error("./control is not UTF-8")]
    NotUtf8,
    #[error("no ./control file")]
    NoControl,
}

/// A parsed and hashed .deb.
#[derive(Debug, Clone)]
pub struct DebFile {
    pub control: Control,
    pub package: String,
    pub version: String,
    pub arch: String,
    /// The source package name (without a version), else the package name:
    /// Debian's pool groups binaries under their source.
    pub source: String,
    pub size: u64,
    pub md5: String,
    pub sha256: String,
}

const AR_MAGIC: &[u8] = b"!<arch>\n";
const AR_HEADER: usize = 60;
/// Bounds on what a control member may make us allocate; real ones are a few kB.
const MAX_CONTROL_MEMBER: u64 = 64 << 20;
const MAX_CONTROL_FILE: u64 = 1 << 20;

impl DebFile {
    /// Reads a .deb from `r`. Errors are reasons; the caller adds the path.
    pub fn read<R: Read + Seek>(r: &mut R) -> Result<DebFile, DebError> {
        let len = r.seek(SeekFrom::End(0)).map_err(DebError::Read)?;
        let text = control_text(r, len)?;
        let control = Control::parse(&text)?;
        let (size, md5, sha256) = digests(r)?;
        let package = control.required("Package")?.to_string();
        let version = control.required("Version")?.to_string();
        let arch = control.required("Architecture")?.to_string();
        let source = match control.get("Source") {
            // `Source: name (version)` when the source version differs.
            Some(s) => s.split_whitespace().next().unwrap_or_default().to_string(),
            None => package.clone(),
        };
        if !control::valid_package_name(&package) {
            return Err(DebError::BadPackageName(package));
        }
        if !control::valid_package_name(&source) {
            return Err(DebError::BadSourceName(source));
        }
        if !control::valid_version(&version) {
            return Err(DebError::BadVersion(version));
        }
        if !control::valid_arch(&arch) {
            return Err(DebError::BadArch(arch));
        }
        Ok(DebFile {
            control,
            package,
            version,
            arch,
            source,
            size,
            md5,
            sha256,
        })
    }
}

/// One member of an ar archive: where its data starts and how long it is.
struct Member {
    name: String,
    offset: u64,
    size: u64,
}

/// The members of the ar archive, in order, without reading their data.
fn ar_members<R: Read + Seek>(r: &mut R, len: u64) -> Result<Vec<Member>, DebError> {
    r.seek(SeekFrom::Start(0)).map_err(DebError::ArRead)?;
    let mut magic = [0u8; AR_MAGIC.len()];
    r.read_exact(&mut magic).map_err(|_| DebError::TooShort)?;
    if magic != AR_MAGIC {
        return Err(DebError::NoArSignature);
    }
    let mut members = Vec::new();
    let mut pos = AR_MAGIC.len() as u64;
    // An odd-sized last member may lack its padding byte.
    while pos + 1 < len {
        let mut h = [0u8; AR_HEADER];
        r.seek(SeekFrom::Start(pos)).map_err(DebError::ArRead)?;
        r.read_exact(&mut h).map_err(|_| DebError::TruncatedArHeader { at: pos })?;
        if &h[58..60] != b"`\n" {
            return Err(DebError::CorruptArHeader { at: pos });
        }
        let field = |range: std::ops::Range<usize>| String::from_utf8_lossy(&h[range]).trim_end().to_string();
        // GNU ar ends names with '/'; dpkg accepts both spellings.
        let name = field(0..16).trim_end_matches('/').to_string();
        let size: u64 = field(48..58)
            .parse()
            .map_err(|_| DebError::BadMemberSize { member: name.clone() })?;
        let offset = pos + AR_HEADER as u64;
        if offset + size > len {
            return Err(DebError::TruncatedMember {
                member: name,
                declared: size,
                present: len.saturating_sub(offset),
            });
        }
        members.push(Member { name, offset, size });
        pos = offset + size + size % 2;
    }
    Ok(members)
}

fn read_member<R: Read + Seek>(r: &mut R, m: &Member) -> Result<Vec<u8>, DebError> {
    let mut data = Vec::with_capacity(m.size as usize);
    r.seek(SeekFrom::Start(m.offset))
        .and_then(|_| r.by_ref().take(m.size).read_to_end(&mut data))
        .map_err(|source| DebError::ReadMember { member: m.name.clone(), source })?;
    Ok(data)
}

/// The text of `./control` inside the package's control.tar.*.
fn control_text<R: Read + Seek>(r: &mut R, len: u64) -> Result<String, DebError> {
    let members = ar_members(r, len)?;
    match members.first() {
        Some(m) if m.name == "debian-binary" => {
            let v = read_member(r, m)?;
            if !v.starts_with(b"2.") {
                let version = String::from_utf8_lossy(&v).trim().to_string();
                return Err(DebError::UnsupportedFormat { version });
            }
        }
        _ => return Err(DebError::NoDebianBinary),
    }
    let m = members
        .iter()
        .find(|m| m.name == "control.tar" || m.name.starts_with("control.tar."))
        .ok_or(DebError::NoControlTar)?;
    if m.size > MAX_CONTROL_MEMBER {
        return Err(DebError::ControlTooLarge { member: m.name.clone(), size: m.size });
    }
    let data = read_member(r, m)?;
    let tar = decompressor(&m.name, &data)?;
    control_from_tar(tar).map_err(|source| DebError::ControlMember { member: m.name.clone(), source })
}

/// A reader that decompresses a control.tar member by its suffix.
fn decompressor<'a>(name: &str, data: &'a [u8]) -> Result<Box<dyn Read + 'a>, DebError> {
    Ok(match name {
        "control.tar" => Box::new(data),
        "control.tar.xz" => Box::new(liblzma::read::XzDecoder::new_multi_decoder(data)),
        "control.tar.gz" => Box::new(flate2::read::GzDecoder::new(data)),
        "control.tar.zst" => return Err(DebError::Zstd),
        other => return Err(DebError::UnknownCompression { member: other.to_string() }),
    })
}

fn control_from_tar(tar: impl Read) -> Result<String, ControlTarError> {
    let mut archive = tar::Archive::new(tar);
    let entries = archive.entries().map_err(ControlTarError::NotTar)?;
    for entry in entries {
        let mut entry = entry.map_err(ControlTarError::Corrupt)?;
        let path = entry.path().map_err(ControlTarError::CorruptName)?;
        let is_control = path.to_str().is_some_and(|p| p.trim_start_matches("./") == "control");
        if !is_control || !entry.header().entry_type().is_file() {
            continue;
        }
        let mut bytes = Vec::new();
        entry
            .by_ref()
            .take(MAX_CONTROL_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(ControlTarError::Read)?;
        if bytes.len() as u64 > MAX_CONTROL_FILE {
            return Err(ControlTarError::TooLarge);
        }
        return String::from_utf8(bytes).map_err(|_| ControlTarError::NotUtf8);
    }
    Err(ControlTarError::NoControl)
}

/// Size, MD5 and SHA-256 of the whole file, in one streaming pass.
fn digests<R: Read + Seek>(r: &mut R) -> Result<(u64, String, String), DebError> {
    r.seek(SeekFrom::Start(0)).map_err(DebError::Read)?;
    let (mut md5, mut sha256) = (Md5::new(), Sha256::new());
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = r.read(&mut buf).map_err(DebError::Read)?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
        sha256.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex::encode(md5.finalize()), hex::encode(sha256.finalize())))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = AR_MAGIC.to_vec();
        for (name, data) in members {
            out.extend(format!("{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n", 0, 0, 0, "100644", data.len()).as_bytes());
            out.extend_from_slice(data);
            if data.len() % 2 == 1 {
                out.push(b'\n');
            }
        }
        out
    }

    fn control_tar(path: &str, text: &str) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, text.as_bytes()).unwrap();
        b.into_inner().unwrap()
    }

    const CONTROL: &str = "Package: libfoo1\nSource: foo (1.0-1)\nVersion: 1.0-1+b1\nArchitecture: arm64\nDescription: x\n";

    #[test]
    fn reads_gz_and_plain_control_members_with_gnu_names() {
        let tar = control_tar("./control", CONTROL);
        let gz = {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut e, &tar).unwrap();
            e.finish().unwrap()
        };
        for (name, data) in [("control.tar.gz/", &gz), ("control.tar", &tar)] {
            let deb = ar(&[("debian-binary", b"2.0\n"), (name, data), ("data.tar", b"x")]);
            let d = DebFile::read(&mut Cursor::new(&deb)).unwrap();
            assert_eq!(
                (d.package.as_str(), d.source.as_str(), d.arch.as_str()),
                ("libfoo1", "foo", "arm64")
            );
            assert_eq!(d.size, deb.len() as u64);
        }
    }

    #[test]
    fn explains_what_is_wrong() {
        let tar = control_tar("control", CONTROL);
        let bad_name = control_tar("control", &CONTROL.replace("libfoo1", "../x"));
        let no_control = control_tar("./md5sums", "");
        for (deb, want) in [
            (b"not an archive at all".to_vec(), "no ar archive signature"),
            (ar(&[("control.tar", &tar)]), "first ar member"),
            (ar(&[("debian-binary", b"2.0\n"), ("data.tar", b"x")]), "no control.tar"),
            (ar(&[("debian-binary", b"2.0\n"), ("control.tar.zst", b"x")]), "zstd"),
            (
                ar(&[("debian-binary", b"2.0\n"), ("control.tar.xz", b"garbage")]),
                "control.tar.xz",
            ),
            (
                ar(&[("debian-binary", b"2.0\n"), ("control.tar", &no_control)]),
                "no ./control",
            ),
            (
                ar(&[("debian-binary", b"2.0\n"), ("control.tar", &bad_name)]),
                "not a valid Debian package name",
            ),
            (
                ar(&[("debian-binary", b"2.0\n"), ("control.tar", &tar)])[..80].to_vec(),
                "truncated",
            ),
        ] {
            let err = DebFile::read(&mut Cursor::new(&deb)).unwrap_err().to_string();
            assert!(err.contains(want), "want `{want}` in `{err}`");
        }
    }
}
