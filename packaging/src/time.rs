//! Build time: SOURCE_DATE_EPOCH when set (reproducible builds), else now.

use std::time::{SystemTime, UNIX_EPOCH};

/// A SOURCE_DATE_EPOCH that is not a time.
#[derive(Debug, thiserror::Error)]
#[error("SOURCE_DATE_EPOCH=`{0}` is not a number of seconds since 1970")]
pub struct SourceDateError(pub String);

pub fn source_date() -> Result<u64, SourceDateError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v.trim().parse().map_err(|_| SourceDateError(v)),
        Err(_) => Ok(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())),
    }
}

/// RFC 2822 date as Debian changelogs want it, e.g. `Sun, 22 Nov 2026 05:00:00 +0000`.
pub fn rfc2822(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days.rem_euclid(7)) as usize];
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(m - 1) as usize];
    format!(
        "{weekday}, {d:02} {month} {y} {:02}:{:02}:{:02} +0000",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `2023-11-14T22:13:20`, with a trailing `Z` when `zulu`.
pub fn iso8601(secs: u64, zulu: bool) -> String {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{}", rem / 3600, rem % 3600 / 60, rem % 60, if zulu { "Z" } else { "" })
}

pub fn year(secs: u64) -> i64 {
    civil_from_days((secs / 86_400) as i64).0
}

/// Year, month, day, hour, minute, second (UTC).
pub fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = (secs % 86_400) as u32;
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_known_dates() {
        assert_eq!(super::rfc2822(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(super::rfc2822(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 +0000");
    }
}
