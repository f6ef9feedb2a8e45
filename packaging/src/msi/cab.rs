//! Cabinets for `Media.Cabinet` (`#stream` embedded in the package), MSZIP
//! compressed with the `cab` crate.
//!
//! Determinism: the only varying input of the `cab` crate is each file's
//! date and time, which defaults to the current time. Setting it needs a
//! `time::PrimitiveDateTime`, and `time` is not a dependency of omnipack, so
//! the DOS date/time fields of the CFFILE entries are written here after the
//! cabinet is built. Cabinet checksums cover only the CFDATA blocks, so
//! this leaves the cabinet valid.
//!
//! Parallelism: the `cab` crate compresses folders one after another into
//! one writer, so one cabinet's folders cannot be compressed on several
//! cores through its API. [`cabinets`] instead builds several cabinets at
//! once (one per `Media` row), which is where the parallelism belongs.

use std::io::{Cursor, Write};

use super::MsiError;

/// The cabinet format's limits.
const MAX_FILES: usize = 0xffff;
const MAX_FILE_SIZE: usize = 0x7fff_ffff;
/// Members are named by File table key, an s72 column.
const MAX_MEMBER_NAME: usize = 72;

// The CFHEADER fields we read (offsets of coffFiles and cFiles) and the
// CFFILE layout: a fixed part with the date and time at these offsets,
// then the NUL-terminated name.
const COFF_FILES_AT: usize = 16;
const CFILES_AT: usize = 28;
const CFFILE_FIXED_LEN: usize = 16;
const CFFILE_DATE_AT: usize = 10;
const CFFILE_TIME_AT: usize = 12;

const SECS_PER_DAY: u64 = 86_400;
/// The MS-DOS date's year 0.
const DOS_EPOCH_YEAR: i64 = 1980;

/// One MSZIP cabinet holding `files` in the given order, each member named
/// by its File table key and dated `modified_unix_seconds` (UTC, rounded up
/// to even seconds, clamped to 1980–2107). Windows Installer extracts files
/// in `File.Sequence` order, so pass them in that order.
pub fn cabinet(files: &[(String, Vec<u8>)], modified_unix_seconds: u64) -> Result<Vec<u8>, MsiError> {
    check(files)?;
    let mut builder = cab::CabinetBuilder::new();
    let folder = builder.add_folder(cab::CompressionType::MsZip);
    for (name, _) in files {
        folder.add_file(name.as_str());
    }
    let io = |e: std::io::Error| MsiError::Cabinet {
        member: String::new(),
        reason: e.to_string(),
    };
    let mut writer = builder.build(Cursor::new(Vec::new())).map_err(io)?;
    let mut data = files.iter();
    while let Some(mut member) = writer.next_file().map_err(io)? {
        let Some((name, bytes)) = data.next() else {
            return Err(io(std::io::Error::other(
                "the cab crate asked for more files than were added",
            )));
        };
        member.write_all(bytes).map_err(|e| MsiError::Cabinet {
            member: name.clone(),
            reason: e.to_string(),
        })?;
    }
    let mut bytes = writer.finish().map_err(io)?.into_inner();
    set_datetimes(&mut bytes, dos_datetime(modified_unix_seconds))?;
    Ok(bytes)
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

/// Writes `(date, time)` into every CFFILE entry of a cabinet the `cab`
/// crate built (no reserve fields, so the layout is fixed).
fn set_datetimes(cab: &mut [u8], (date, time): (u16, u16)) -> Result<(), MsiError> {
    let bad = || MsiError::Cabinet {
        member: String::new(),
        reason: "unexpected cabinet layout from the cab crate".into(),
    };
    let u16_at = |b: &[u8], at: usize| b.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let u32_at = |b: &[u8], at: usize| b.get(at..at + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    let mut at = u32_at(cab, COFF_FILES_AT).ok_or_else(bad)? as usize;
    let count = u16_at(cab, CFILES_AT).ok_or_else(bad)?;
    for _ in 0..count {
        let entry = cab.get_mut(at..at + CFFILE_FIXED_LEN).ok_or_else(bad)?;
        entry[CFFILE_DATE_AT..CFFILE_DATE_AT + 2].copy_from_slice(&date.to_le_bytes());
        entry[CFFILE_TIME_AT..CFFILE_TIME_AT + 2].copy_from_slice(&time.to_le_bytes());
        let name_len = cab
            .get(at + CFFILE_FIXED_LEN..)
            .and_then(|n| n.iter().position(|&b| b == 0))
            .ok_or_else(bad)?;
        at += CFFILE_FIXED_LEN + name_len + 1;
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
    use std::io::Read;

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
