//! File and directory names as Windows Installer stores them: `short|long`
//! (`File.FileName`, `Directory.DefaultDir`, `IniFile.FileName`), or just the
//! name when it already is a valid 8.3 name.
//!
//! Short names are generated the way WiX v4+ does
//! (`CreateWindowsInstallerDataFromIRCommand.CreateShortName`): SHA-1 of the
//! lower-cased long name and the row's context joined with `|`, base64, the
//! first 8 characters with `+`→`-` and `/`→`_`, plus the long name's
//! extension (at most 3 characters) when that keeps it a valid 8.3 name, all
//! lower case. It needs no per-directory counter (`~1`, `~2`), so it is
//! deterministic and stateless; WiX's own test expectations are the unit
//! tests' vectors. SHA-1 is computed here because no SHA-1 crate is a
//! dependency; it only names files, it protects nothing.

use super::MsiError;

/// Characters a short name may not contain ([WiX] `Common.IllegalShortFilenameCharacters`
/// minus `.`, plus everything outside printable ASCII).
const ILLEGAL_SHORT: &[char] = &[
    '\\', '?', '|', '>', '<', ':', '/', '*', '"', '+', ',', ';', '=', '[', ']', ' ',
];
/// Windows' limit on one long name.
const MAX_LONG_NAME: usize = 255;
/// Characters a long name may not contain (MS "Filename" data type).
const ILLEGAL_LONG: &[char] = &['\\', '/', '?', '*', '|', '>', '<', ':', '"'];

/// True for a valid 8.3 name: 1–8 characters, optionally `.` and 1–3
/// more, printable ASCII without the characters Windows forbids there.
pub fn is_short_name(name: &str) -> bool {
    let ok = |part: &str, max: usize| {
        !part.is_empty()
            && part.len() <= max
            && part
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '.' && !ILLEGAL_SHORT.contains(&c))
    };
    match name.split_once('.') {
        None => ok(name, 8),
        Some((base, ext)) => ok(base, 8) && ok(ext, 3),
    }
}

/// Checks a long file or directory name.
pub fn check_long_name(name: &str) -> Result<(), MsiError> {
    let err = |reason: &str| {
        Err(MsiError::Filename {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    if name.is_empty() || name == "." || name == ".." {
        return err("a file name cannot be empty, `.` or `..`");
    }
    if name.len() > MAX_LONG_NAME {
        return err("a file name is limited to 255 characters");
    }
    if let Some(c) = name.chars().find(|c| ILLEGAL_LONG.contains(c) || c.is_control()) {
        return Err(MsiError::Filename {
            name: name.to_string(),
            reason: format!("{c:?} is not allowed in a file name"),
        });
    }
    if name.ends_with(' ') || name.ends_with('.') {
        return err("Windows strips a trailing space or period from file names");
    }
    Ok(())
}

/// WiX's short name for `long_name` in the context `args` (e.g.
/// `["File", directory_id]`).
pub fn short_name(long_name: &str, keep_extension: bool, args: &[&str]) -> String {
    let lower = long_name.to_lowercase();
    let mut data = lower.clone();
    for a in args {
        data.push('|');
        data.push_str(a);
    }
    let hash = sha1(data.as_bytes());
    let mut short: String = base64_prefix(&hash[..6])
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    if keep_extension {
        // .NET's Path.GetExtension: from the last `.`, at most 4 chars kept.
        if let Some(dot) = lower.rfind('.') {
            let ext: String = lower[dot..].chars().take(4).collect();
            let candidate = format!("{short}{ext}");
            if ext.len() > 1 && is_short_name(&candidate) {
                short = candidate;
            }
        }
    }
    short.to_lowercase()
}

/// `File.FileName` (and `IniFile.FileName`) for a file named `long_name`
/// in the directory `directory_id`: the name itself when it is 8.3, else
/// `short|long` with WiX's short name for a file.
pub fn file_name(long_name: &str, directory_id: &str) -> Result<String, MsiError> {
    check_long_name(long_name)?;
    Ok(join(short_name(long_name, true, &["File", directory_id]), long_name))
}

/// `Directory.DefaultDir` for a directory named `long_name` under the
/// directory `parent_id`, the same way (WiX keeps no extension for
/// directories). `.` (the parent itself) and `SourceDir` (the root) are
/// kept as they are, as WiX does.
pub fn directory_name(long_name: &str, parent_id: &str) -> Result<String, MsiError> {
    if long_name == "." || long_name == "SourceDir" {
        return Ok(long_name.to_string());
    }
    check_long_name(long_name)?;
    Ok(join(short_name(long_name, false, &["Directory", parent_id]), long_name))
}

fn join(short: String, long: &str) -> String {
    if is_short_name(long) {
        long.to_string()
    } else {
        format!("{short}|{long}")
    }
}

/// Validates a `Filename`-category value: `short` or `short|long`.
pub(crate) fn check_filename_value(value: &str) -> Result<(), MsiError> {
    match value.split_once('|') {
        Some((short, long)) => {
            if !is_short_name(short) {
                return Err(MsiError::Filename {
                    name: short.to_string(),
                    reason: "is not a valid 8.3 short name (the part before `|`)".into(),
                });
            }
            check_long_name(long)
        }
        None if is_short_name(value) => Ok(()),
        None => Err(MsiError::Filename {
            name: value.to_string(),
            reason: "is not an 8.3 name; write `short|long` (omnipack::msi::filename::file_name makes one)".into(),
        }),
    }
}

/// Validates a `DefaultDir` value: `target[:source]`, each part `.`, an
/// identifier (root directories such as `SourceDir`) or a file name value.
pub(crate) fn check_default_dir_value(value: &str) -> Result<(), MsiError> {
    for part in value.splitn(2, ':') {
        if part == "." || ::msi::Category::Identifier.validate(part) {
            continue;
        }
        check_filename_value(part)?;
    }
    Ok(())
}

/// Standard base64 of `bytes` (a multiple of 3 long), no padding needed.
fn base64_prefix(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// SHA-1 (FIPS 180-4), only for WiX-compatible short names.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_known_answers() {
        let hex = |d: [u8; 20]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(sha1(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(hex(sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        let long = vec![b'a'; 1000];
        assert_eq!(hex(sha1(&long)), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
    }

    #[test]
    fn matches_wix_test_expectations() {
        // From wixtoolset/wix src/wix/test/WixToolsetTest.CoreIntegration
        // (DirectoryFixture.cs, MsiQueryFixture.cs): Directory rows.
        assert_eq!(
            directory_name("Example Corporation", "ProgramFilesFolder").unwrap(),
            "u7-b4gch|Example Corporation"
        );
        assert_eq!(
            directory_name("MsiPackage", "ProgramFiles6432Folder").unwrap(),
            "1egc1laj|MsiPackage"
        );
        assert_eq!(
            directory_name("Folder.1234", "INSTALLFOLDER").unwrap(),
            "yakwclwy|Folder.1234"
        );
        assert_eq!(directory_name("SourceDir", "").unwrap(), "SourceDir");
        assert_eq!(directory_name(".", "TARGETDIR").unwrap(), ".");
    }

    #[test]
    fn short_names_pass_through_and_long_names_get_one() {
        assert_eq!(file_name("agent.ini", "INSTALLDIR").unwrap(), "agent.ini");
        assert_eq!(file_name("AGENT.EXE", "INSTALLDIR").unwrap(), "AGENT.EXE");
        let v = file_name("outpost-agent.exe", "INSTALLDIR").unwrap();
        let (short, long) = v.split_once('|').unwrap();
        assert_eq!(long, "outpost-agent.exe");
        assert!(is_short_name(short) && short.ends_with(".exe") && short.len() == 12, "{v}");
        assert_eq!(v, file_name("outpost-agent.exe", "INSTALLDIR").unwrap());
        assert_ne!(v, file_name("outpost-agent.exe", "OTHERDIR").unwrap());
        // Like WiX (`qcfv-gdx.swi|….swidtag`): a long extension is cut to 3.
        assert!(file_name("x.swidtag", "D")
            .unwrap()
            .split_once('|')
            .unwrap()
            .0
            .ends_with(".swi"));
    }

    #[test]
    fn validation() {
        assert!(is_short_name("README") && is_short_name("a.b") && !is_short_name("a b.txt") && !is_short_name("café.txt"));
        assert!(!is_short_name("a.b.c") && !is_short_name(".txt") && !is_short_name("abcdefghi"));
        assert!(
            check_long_name("a:b").is_err() && check_long_name("trailing.").is_err() && check_long_name("ok name.txt").is_ok()
        );
        assert!(check_filename_value("agent.exe").is_ok());
        assert!(check_filename_value("outpost-agent.exe").is_err());
        assert!(check_filename_value("abcdefgh.exe|outpost-agent.exe").is_ok());
        assert!(check_default_dir_value("SourceDir").is_ok() && check_default_dir_value(".").is_ok());
        assert!(check_default_dir_value("Outpost Client").is_err());
        assert!(check_default_dir_value("u7-b4gch|Example Corporation").is_ok());
    }
}
