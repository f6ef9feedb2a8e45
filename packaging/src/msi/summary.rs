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

/// PID 19 (Security) "read-only enforced", which transforms and patches
/// carry.
pub(crate) const SECURITY_ENFORCED: i32 = 4;

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

// Property ids of the summary information set.
const PID_CODEPAGE: u32 = 1;
const PID_TITLE: u32 = 2;
const PID_SUBJECT: u32 = 3;
const PID_AUTHOR: u32 = 4;
const PID_KEYWORDS: u32 = 5;
const PID_COMMENTS: u32 = 6;
const PID_TEMPLATE: u32 = 7;
const PID_LAST_SAVED_BY: u32 = 8;
const PID_REVISION_NUMBER: u32 = 9;
const PID_LAST_PRINTED: u32 = 11;
const PID_CREATE_TIME: u32 = 12;
const PID_LAST_SAVE_TIME: u32 = 13;
const PID_PAGE_COUNT: u32 = 14;
const PID_WORD_COUNT: u32 = 15;
const PID_CHARACTER_COUNT: u32 = 16;
const PID_CREATING_APPLICATION: u32 = 18;
const PID_SECURITY: u32 = 19;

/// The stream's first field: 0xFFFE, little-endian.
const BYTE_ORDER_MARK: u16 = 0xfffe;
// Where the header keeps the number of property sets, the first set's
// FMTID and the offset of its section.
const SET_COUNT_AT: usize = 24;
const FMTID_AT: usize = 28;
const SECTION_OFFSET_AT: usize = 44;
/// Header (28 bytes) plus one FMTID/offset pair (20 bytes).
const SECTION_OFFSET: usize = 48;
/// A section starts with its size and property count; then one (PID,
/// offset) pair per property.
const SECTION_HEADER_LEN: usize = 8;
const ENTRY_LEN: usize = 8;
/// More properties than any summary holds: a corrupt count, not a list to
/// allocate for.
const MAX_PROPERTIES: usize = 1024;

enum Prop {
    I2(i16),
    I4(i32),
    Str(Vec<u8>),
    Time(u64),
}

impl Prop {
    /// The typed value as the section stores it, padded to 4 bytes.
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Prop::I2(v) => {
                put_u32(out, u32::from(VT_I2));
                out.extend_from_slice(&v.to_le_bytes());
                out.extend_from_slice(&[0, 0]);
            }
            Prop::I4(v) => {
                put_u32(out, u32::from(VT_I4));
                out.extend_from_slice(&v.to_le_bytes());
            }
            Prop::Str(bytes) => {
                put_u32(out, u32::from(VT_LPSTR));
                put_u32(out, bytes.len() as u32 + 1);
                out.extend_from_slice(bytes);
                out.push(0);
                while out.len() % 4 != 0 {
                    out.push(0);
                }
            }
            Prop::Time(t) => {
                put_u32(out, u32::from(VT_FILETIME));
                out.extend_from_slice(&t.to_le_bytes());
            }
        }
    }
}

/// Field names for messages, by PID.
fn field_name(pid: u32) -> &'static str {
    match pid {
        PID_CODEPAGE => "codepage",
        PID_TITLE => "title",
        PID_SUBJECT => "subject",
        PID_AUTHOR => "author",
        PID_KEYWORDS => "keywords",
        PID_COMMENTS => "comments",
        PID_TEMPLATE => "template",
        PID_LAST_SAVED_BY => "last_saved_by",
        PID_REVISION_NUMBER => "revision_number",
        PID_LAST_PRINTED => "last_printed",
        PID_CREATE_TIME => "create_time",
        PID_LAST_SAVE_TIME => "last_save_time",
        PID_PAGE_COUNT => "page_count",
        PID_WORD_COUNT => "word_count",
        PID_CHARACTER_COUNT => "character_count",
        PID_CREATING_APPLICATION => "creating_application",
        PID_SECURITY => "security",
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
            (PID_TITLE, &self.title),
            (PID_SUBJECT, &self.subject),
            (PID_AUTHOR, &self.author),
            (PID_KEYWORDS, &self.keywords),
            (PID_COMMENTS, &self.comments),
            (PID_TEMPLATE, &self.template),
            (PID_LAST_SAVED_BY, &self.last_saved_by),
            (PID_REVISION_NUMBER, &self.revision_number),
            (PID_CREATING_APPLICATION, &self.creating_application),
        ]
    }

    fn times(&self) -> [(u32, Option<FileTime>); 3] {
        [
            (PID_LAST_PRINTED, self.last_printed),
            (PID_CREATE_TIME, self.create_time),
            (PID_LAST_SAVE_TIME, self.last_save_time),
        ]
    }

    fn ints(&self) -> [(u32, Option<i32>); 4] {
        [
            (PID_PAGE_COUNT, self.page_count),
            (PID_WORD_COUNT, self.word_count),
            (PID_CHARACTER_COUNT, self.character_count),
            (PID_SECURITY, self.security),
        ]
    }

    /// The property-set stream, properties in PID order.
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, MsiError> {
        Ok(property_set(&self.properties()?))
    }

    /// The properties that are set, strings encoded in the code page (and
    /// refused by field when they do not fit it), in PID order.
    fn properties(&self) -> Result<Vec<(u32, Prop)>, MsiError> {
        let cp = codepage::for_writing(self.codepage)?;
        let codepage = i16::try_from(self.codepage).map_err(|_| MsiError::Summary {
            field: "codepage",
            reason: format!("{} does not fit VT_I2", self.codepage),
        })?;
        let mut props: Vec<(u32, Prop)> = vec![(PID_CODEPAGE, Prop::I2(codepage))];
        for (pid, s) in self.strings() {
            if let Some(s) = s {
                codepage::check(cp, s).map_err(|e| MsiError::Summary {
                    field: field_name(pid),
                    reason: e.to_string(),
                })?;
                props.push((pid, Prop::Str(cp.encode(s))));
            }
        }
        for (pid, t) in self.times() {
            if let Some(t) = t {
                props.push((pid, Prop::Time(t.0)));
            }
        }
        for (pid, i) in self.ints() {
            if let Some(i) = i {
                props.push((pid, Prop::I4(i)));
            }
        }
        props.sort_by_key(|(pid, _)| *pid);
        Ok(props)
    }

    /// Parses a summary stream. Strings are decoded with the stream's own
    /// code page (PID 1), or `fallback_codepage` when it has none (wixl
    /// writes none). Properties this model does not hold are skipped.
    pub(crate) fn from_bytes(bytes: &[u8], fallback_codepage: u16) -> Result<SummaryInfo, MsiError> {
        let r = Reader(bytes);
        let entries = section_entries(&r)?;
        let codepage = stream_codepage(&r, &entries, fallback_codepage)?;
        let cp = codepage::for_reading(codepage)?;
        let mut s = SummaryInfo {
            codepage,
            ..SummaryInfo::default()
        };
        for (pid, offset) in entries {
            let vt = r.u16(offset)?;
            if vt == VT_EMPTY || vt == VT_NULL || pid == PID_CODEPAGE {
                continue;
            }
            s.read_property(pid, &Stored { r: &r, cp, offset, vt })?;
        }
        Ok(s)
    }

    /// Sets the field of `pid` from its stored value.
    fn read_property(&mut self, pid: u32, v: &Stored) -> Result<(), MsiError> {
        let field = field_name(pid);
        match pid {
            PID_TITLE => self.title = Some(v.string(field)?),
            PID_SUBJECT => self.subject = Some(v.string(field)?),
            PID_AUTHOR => self.author = Some(v.string(field)?),
            PID_KEYWORDS => self.keywords = Some(v.string(field)?),
            PID_COMMENTS => self.comments = Some(v.string(field)?),
            PID_TEMPLATE => self.template = Some(v.string(field)?),
            PID_LAST_SAVED_BY => self.last_saved_by = Some(v.string(field)?),
            PID_REVISION_NUMBER => self.revision_number = Some(v.string(field)?),
            PID_LAST_PRINTED => self.last_printed = Some(v.time(field)?),
            PID_CREATE_TIME => self.create_time = Some(v.time(field)?),
            PID_LAST_SAVE_TIME => self.last_save_time = Some(v.time(field)?),
            PID_PAGE_COUNT => self.page_count = Some(v.int(field)?),
            PID_WORD_COUNT => self.word_count = Some(v.int(field)?),
            PID_CHARACTER_COUNT => self.character_count = Some(v.int(field)?),
            PID_CREATING_APPLICATION => self.creating_application = Some(v.string(field)?),
            PID_SECURITY => self.security = Some(v.int(field)?),
            _ => {}
        }
        Ok(())
    }
}

/// The stream of `props`: header, the one section's (PID, offset) table,
/// then the values.
fn property_set(props: &[(u32, Prop)]) -> Vec<u8> {
    let table_len = SECTION_HEADER_LEN + ENTRY_LEN * props.len();
    let mut values = Vec::new();
    let mut index = Vec::new();
    for (pid, prop) in props {
        index.push((*pid, (table_len + values.len()) as u32));
        prop.write(&mut values);
    }

    let mut out = Vec::with_capacity(SECTION_OFFSET + table_len + values.len());
    out.extend_from_slice(&BYTE_ORDER_MARK.to_le_bytes());
    out.extend_from_slice(&0_u16.to_le_bytes()); // format version 0
                                                 // System identifier: OS version 10.0, OS kind 2 (Win32), as the `msi`
                                                 // crate writes it.
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
    out
}

/// The (PID, absolute offset) of each property of the summary section,
/// after checking that the stream is a property set whose first set is the
/// summary information.
fn section_entries(r: &Reader) -> Result<Vec<(u32, usize)>, MsiError> {
    let bad = |reason: String| MsiError::Summary { field: "stream", reason };
    if r.u16(0)? != BYTE_ORDER_MARK {
        return Err(bad("not a property set (byte order mark missing)".into()));
    }
    if r.u32(SET_COUNT_AT)? < 1 || r.slice(FMTID_AT, FMTID.len())? != FMTID {
        return Err(bad("the first property set is not the summary information".into()));
    }
    let section = r.u32(SECTION_OFFSET_AT)? as usize;
    let count = r.u32(section + 4)? as usize;
    if count > MAX_PROPERTIES {
        return Err(bad(format!("{count} properties is implausible")));
    }
    let mut entries = Vec::with_capacity(count);
    for i in 0..count {
        let entry = section + SECTION_HEADER_LEN + ENTRY_LEN * i;
        let pid = r.u32(entry)?;
        let offset = section + r.u32(entry + 4)? as usize;
        entries.push((pid, offset));
    }
    Ok(entries)
}

/// The stream's own code page (PID 1), which decodes its strings.
fn stream_codepage(r: &Reader, entries: &[(u32, usize)], fallback: u16) -> Result<u16, MsiError> {
    let mut codepage = fallback;
    for &(pid, offset) in entries {
        if pid == PID_CODEPAGE {
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
    Ok(codepage)
}

/// One stored property value: its type `vt` at `offset`, the data after it.
struct Stored<'a> {
    r: &'a Reader<'a>,
    cp: ::msi::CodePage,
    offset: usize,
    vt: u16,
}

impl Stored<'_> {
    fn wrong(&self, field: &'static str) -> MsiError {
        MsiError::Summary {
            field,
            reason: format!("unexpected property type {}", self.vt),
        }
    }

    fn string(&self, field: &'static str) -> Result<String, MsiError> {
        if self.vt != VT_LPSTR {
            return Err(self.wrong(field));
        }
        let len = self.r.u32(self.offset + 4)? as usize;
        let raw = self.r.slice(self.offset + 8, len)?;
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        Ok(self.cp.decode(&raw[..end]))
    }

    fn int(&self, field: &'static str) -> Result<i32, MsiError> {
        match self.vt {
            VT_I4 => Ok(self.r.u32(self.offset + 4)? as i32),
            VT_I2 => Ok(i32::from(self.r.u16(self.offset + 4)? as i16)),
            _ => Err(self.wrong(field)),
        }
    }

    fn time(&self, field: &'static str) -> Result<FileTime, MsiError> {
        if self.vt != VT_FILETIME {
            return Err(self.wrong(field));
        }
        let low = u64::from(self.r.u32(self.offset + 4)?);
        let high = u64::from(self.r.u32(self.offset + 8)?);
        Ok(FileTime(low | (high << 32)))
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
