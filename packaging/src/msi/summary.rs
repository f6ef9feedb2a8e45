//! The `\x05SummaryInformation` property set ([MS-OLEPS]), read and written
//! by us rather than by the `msi` crate, because the crate
//! * only writes Template (PID 7) as `arch;languages`, while a patch needs
//!   the list of target ProductCodes there and a transform the base
//!   `platform;language`;
//! * cannot read Template back verbatim;
//! * sizes string properties by their UTF-8 length, so a Windows-1252
//!   string with non-ASCII characters gets wrong offsets.
//!
//! The meaning of each property differs per package kind; see Microsoft's
//! "Summary Information Stream Property Set" and "Summary Property
//! Descriptions" pages.

use super::codepage;
use super::MsiError;

/// A Windows FILETIME: 100 ns intervals since 1601-01-01 UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileTime(pub u64);

/// FILETIME of 1970-01-01 00:00:00 UTC.
const UNIX_EPOCH_FILETIME: u64 = 116_444_736_000_000_000;

impl FileTime {
    /// For `SOURCE_DATE_EPOCH`-style build times.
    pub fn from_unix_seconds(secs: u64) -> FileTime {
        FileTime(UNIX_EPOCH_FILETIME.saturating_add(secs.saturating_mul(10_000_000)))
    }

    /// Whole seconds since 1970, or None before 1970.
    pub fn unix_seconds(self) -> Option<u64> {
        self.0.checked_sub(UNIX_EPOCH_FILETIME).map(|t| t / 10_000_000)
    }
}

/// Summary information of a package. Strings are stored in `codepage`,
/// which is also the database's code page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryInfo {
    /// PID 1. Written for both the summary stream and the string pool.
    pub codepage: u16,
    /// PID 2: "Installation Database", "Transform" or "Patch".
    pub title: Option<String>,
    /// PID 3: product name.
    pub subject: Option<String>,
    /// PID 4: manufacturer.
    pub author: Option<String>,
    /// PID 5.
    pub keywords: Option<String>,
    /// PID 6.
    pub comments: Option<String>,
    /// PID 7: `x64;1033` (MSI, MST base), target ProductCodes (MSP).
    pub template: Option<String>,
    /// PID 8: MST new `platform;language`, MSP transform list.
    pub last_saved_by: Option<String>,
    /// PID 9: package code (MSI), product codes and versions (MST), patch
    /// code (MSP).
    pub revision_number: Option<String>,
    /// PID 11.
    pub last_printed: Option<FileTime>,
    /// PID 12.
    pub create_time: Option<FileTime>,
    /// PID 13.
    pub last_save_time: Option<FileTime>,
    /// PID 14: minimum installer version × 100 (e.g. 500).
    pub page_count: Option<i32>,
    /// PID 15: source type flags (MSI, e.g. 2 = compressed), minimum
    /// installer (MSP).
    pub word_count: Option<i32>,
    /// PID 16: MST validation and error-condition flags.
    pub character_count: Option<i32>,
    /// PID 18.
    pub creating_application: Option<String>,
    /// PID 19: 2 = read-only recommended (MSI), 4 = enforced (MST, MSP).
    pub security: Option<i32>,
}

impl Default for SummaryInfo {
    fn default() -> SummaryInfo {
        SummaryInfo {
            codepage: codepage::WINDOWS_1252,
            title: None,
            subject: None,
            author: None,
            keywords: None,
            comments: None,
            template: None,
            last_saved_by: None,
            revision_number: None,
            last_printed: None,
            create_time: None,
            last_save_time: None,
            page_count: None,
            word_count: None,
            character_count: None,
            creating_application: None,
            security: None,
        }
    }
}

/// FMTID_SummaryInformation {F29F85E0-4FF9-1068-AB91-08002B27B3D9}, in the
/// on-disk byte order (first three fields little-endian).
const FMTID: [u8; 16] = [
    0xe0, 0x85, 0x9f, 0xf2, 0xf9, 0x4f, 0x68, 0x10, 0xab, 0x91, 0x08, 0x00, 0x2b, 0x27, 0xb3, 0xd9,
];

const VT_EMPTY: u16 = 0;
const VT_NULL: u16 = 1;
const VT_I2: u16 = 2;
const VT_I4: u16 = 3;
const VT_LPSTR: u16 = 30;
const VT_FILETIME: u16 = 64;

/// Header (28 bytes) plus one FMTID/offset pair (20 bytes).
const SECTION_OFFSET: usize = 48;

enum Prop {
    I2(i16),
    I4(i32),
    Str(Vec<u8>),
    Time(u64),
}

/// Field names for messages, by PID.
fn field_name(pid: u32) -> &'static str {
    match pid {
        1 => "codepage",
        2 => "title",
        3 => "subject",
        4 => "author",
        5 => "keywords",
        6 => "comments",
        7 => "template",
        8 => "last_saved_by",
        9 => "revision_number",
        11 => "last_printed",
        12 => "create_time",
        13 => "last_save_time",
        14 => "page_count",
        15 => "word_count",
        16 => "character_count",
        18 => "creating_application",
        19 => "security",
        _ => "unknown property",
    }
}

impl SummaryInfo {
    /// Defaults for a new package: code page 1252 and the title Windows
    /// Installer expects for the kind.
    pub fn with_title(title: &str) -> SummaryInfo {
        SummaryInfo {
            title: Some(title.to_string()),
            ..SummaryInfo::default()
        }
    }

    fn strings(&self) -> [(u32, &Option<String>); 9] {
        [
            (2, &self.title),
            (3, &self.subject),
            (4, &self.author),
            (5, &self.keywords),
            (6, &self.comments),
            (7, &self.template),
            (8, &self.last_saved_by),
            (9, &self.revision_number),
            (18, &self.creating_application),
        ]
    }

    /// The property-set stream, properties in PID order.
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, MsiError> {
        let cp = codepage::for_writing(self.codepage)?;
        let codepage = i16::try_from(self.codepage).map_err(|_| MsiError::Summary {
            field: "codepage",
            reason: format!("{} does not fit VT_I2", self.codepage),
        })?;
        let mut props: Vec<(u32, Prop)> = vec![(1, Prop::I2(codepage))];
        for (pid, s) in self.strings() {
            if let Some(s) = s {
                codepage::check(cp, s).map_err(|e| MsiError::Summary {
                    field: field_name(pid),
                    reason: e.to_string(),
                })?;
                props.push((pid, Prop::Str(cp.encode(s))));
            }
        }
        for (pid, t) in [(11, self.last_printed), (12, self.create_time), (13, self.last_save_time)] {
            if let Some(t) = t {
                props.push((pid, Prop::Time(t.0)));
            }
        }
        for (pid, i) in [
            (14, self.page_count),
            (15, self.word_count),
            (16, self.character_count),
            (19, self.security),
        ] {
            if let Some(i) = i {
                props.push((pid, Prop::I4(i)));
            }
        }
        props.sort_by_key(|(pid, _)| *pid);

        let mut values = Vec::new();
        let mut index = Vec::new();
        let table_len = 8 + 8 * props.len();
        for (pid, prop) in &props {
            index.push((*pid, (table_len + values.len()) as u32));
            match prop {
                Prop::I2(v) => {
                    put_u32(&mut values, u32::from(VT_I2));
                    values.extend_from_slice(&v.to_le_bytes());
                    values.extend_from_slice(&[0, 0]);
                }
                Prop::I4(v) => {
                    put_u32(&mut values, u32::from(VT_I4));
                    values.extend_from_slice(&v.to_le_bytes());
                }
                Prop::Str(bytes) => {
                    put_u32(&mut values, u32::from(VT_LPSTR));
                    put_u32(&mut values, bytes.len() as u32 + 1);
                    values.extend_from_slice(bytes);
                    values.push(0);
                    while values.len() % 4 != 0 {
                        values.push(0);
                    }
                }
                Prop::Time(t) => {
                    put_u32(&mut values, u32::from(VT_FILETIME));
                    values.extend_from_slice(&t.to_le_bytes());
                }
            }
        }

        let mut out = Vec::with_capacity(SECTION_OFFSET + table_len + values.len());
        out.extend_from_slice(&0xfffe_u16.to_le_bytes()); // byte order
        out.extend_from_slice(&0_u16.to_le_bytes()); // format version 0
                                                     // System identifier: OS version 10.0, OS kind 2 (Win32), as the
                                                     // `msi` crate writes it.
        out.extend_from_slice(&[10, 0, 2, 0]);
        out.extend_from_slice(&[0; 16]); // CLSID
        put_u32(&mut out, 1); // one property set
        out.extend_from_slice(&FMTID);
        put_u32(&mut out, SECTION_OFFSET as u32);
        put_u32(&mut out, (table_len + values.len()) as u32);
        put_u32(&mut out, props.len() as u32);
        for (pid, offset) in index {
            put_u32(&mut out, pid);
            put_u32(&mut out, offset);
        }
        out.extend_from_slice(&values);
        Ok(out)
    }

    /// Parses a summary stream. Strings are decoded with the stream's own
    /// code page (PID 1), or `fallback_codepage` when it has none (wixl
    /// writes none). Properties this model does not hold are skipped.
    pub(crate) fn from_bytes(bytes: &[u8], fallback_codepage: u16) -> Result<SummaryInfo, MsiError> {
        let bad = |reason: String| MsiError::Summary { field: "stream", reason };
        let r = Reader(bytes);
        if r.u16(0)? != 0xfffe {
            return Err(bad("not a property set (byte order mark missing)".into()));
        }
        if r.u32(24)? < 1 || r.slice(28, 16)? != FMTID {
            return Err(bad("the first property set is not the summary information".into()));
        }
        let section = r.u32(44)? as usize;
        let count = r.u32(section + 4)? as usize;
        if count > 1024 {
            return Err(bad(format!("{count} properties is implausible")));
        }
        let mut entries = Vec::with_capacity(count);
        for i in 0..count {
            let pid = r.u32(section + 8 + 8 * i)?;
            let offset = section + r.u32(section + 12 + 8 * i)? as usize;
            entries.push((pid, offset));
        }
        let mut codepage = fallback_codepage;
        for &(pid, offset) in &entries {
            if pid == 1 {
                codepage = match r.u16(offset)? {
                    VT_I2 => r.u16(offset + 4)?,
                    VT_I4 => r.u32(offset + 4)? as u16,
                    vt => {
                        return Err(MsiError::Summary {
                            field: "codepage",
                            reason: format!("unexpected type {vt}"),
                        })
                    }
                };
            }
        }
        let cp = codepage::for_reading(codepage)?;
        let mut s = SummaryInfo {
            codepage,
            ..SummaryInfo::default()
        };
        for (pid, offset) in entries {
            let field = field_name(pid);
            let vt = r.u16(offset)?;
            if vt == VT_EMPTY || vt == VT_NULL || pid == 1 {
                continue;
            }
            let wrong = || MsiError::Summary {
                field,
                reason: format!("unexpected property type {vt}"),
            };
            let string = || -> Result<String, MsiError> {
                if vt != VT_LPSTR {
                    return Err(wrong());
                }
                let len = r.u32(offset + 4)? as usize;
                let raw = r.slice(offset + 8, len)?;
                let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
                Ok(cp.decode(&raw[..end]))
            };
            let int = || -> Result<i32, MsiError> {
                match vt {
                    VT_I4 => Ok(r.u32(offset + 4)? as i32),
                    VT_I2 => Ok(i32::from(r.u16(offset + 4)? as i16)),
                    _ => Err(wrong()),
                }
            };
            let time = || -> Result<FileTime, MsiError> {
                if vt != VT_FILETIME {
                    return Err(wrong());
                }
                Ok(FileTime(
                    u64::from(r.u32(offset + 4)?) | (u64::from(r.u32(offset + 8)?) << 32),
                ))
            };
            match pid {
                2 => s.title = Some(string()?),
                3 => s.subject = Some(string()?),
                4 => s.author = Some(string()?),
                5 => s.keywords = Some(string()?),
                6 => s.comments = Some(string()?),
                7 => s.template = Some(string()?),
                8 => s.last_saved_by = Some(string()?),
                9 => s.revision_number = Some(string()?),
                11 => s.last_printed = Some(time()?),
                12 => s.create_time = Some(time()?),
                13 => s.last_save_time = Some(time()?),
                14 => s.page_count = Some(int()?),
                15 => s.word_count = Some(int()?),
                16 => s.character_count = Some(int()?),
                18 => s.creating_application = Some(string()?),
                19 => s.security = Some(int()?),
                _ => {}
            }
        }
        Ok(s)
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Bounds-checked little-endian reads from untrusted bytes.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn slice(&self, at: usize, len: usize) -> Result<&[u8], MsiError> {
        at.checked_add(len)
            .and_then(|end| self.0.get(at..end))
            .ok_or_else(|| MsiError::Summary {
                field: "stream",
                reason: format!(
                    "truncated: {len} bytes at offset {at} are past its end ({} bytes)",
                    self.0.len()
                ),
            })
    }

    fn u16(&self, at: usize) -> Result<u16, MsiError> {
        let b = self.slice(at, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&self, at: usize) -> Result<u32, MsiError> {
        let b = self.slice(at, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> SummaryInfo {
        SummaryInfo {
            codepage: 1252,
            title: Some("Installation Database".into()),
            subject: Some("Outpost Client".into()),
            author: Some("Outpost Systems — café".into()),
            keywords: Some("Installer".into()),
            comments: Some("x".into()),
            template: Some("x64;1033".into()),
            last_saved_by: Some("x64;1033".into()),
            revision_number: Some("{AF8529F7-2523-5689-B997-92E0BAAFC5C9}".into()),
            last_printed: Some(FileTime::from_unix_seconds(1)),
            create_time: Some(FileTime::from_unix_seconds(1_700_000_000)),
            last_save_time: Some(FileTime::from_unix_seconds(1_700_000_000)),
            page_count: Some(500),
            word_count: Some(2),
            character_count: Some(-1),
            creating_application: Some("omnipack".into()),
            security: Some(2),
        }
    }

    #[test]
    fn round_trips_including_non_ascii_1252() {
        let s = full();
        let bytes = s.to_bytes().unwrap();
        assert_eq!(bytes.len() % 4, 0);
        assert_eq!(SummaryInfo::from_bytes(&bytes, 0).unwrap(), s);
    }

    #[test]
    fn unencodable_strings_name_the_field() {
        let s = SummaryInfo {
            author: Some("Outpost 株式会社".into()),
            ..full()
        };
        let e = s.to_bytes().unwrap_err().to_string();
        assert!(e.contains("`author`") && e.contains("U+682A"), "{e}");
    }

    #[test]
    fn truncated_streams_are_errors_not_panics() {
        let bytes = full().to_bytes().unwrap();
        for len in 0..bytes.len() {
            let _ = SummaryInfo::from_bytes(&bytes[..len], 1252);
        }
    }

    #[test]
    fn unix_times_convert() {
        assert_eq!(FileTime::from_unix_seconds(0).0, UNIX_EPOCH_FILETIME);
        assert_eq!(FileTime::from_unix_seconds(1_700_000_000).unix_seconds(), Some(1_700_000_000));
    }
}
