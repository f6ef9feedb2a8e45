//! What an MSI's `CheckAnswers` custom action (packaging/msi-ca) says about
//! property values, under Wine: the test driver tests/wine/msicheck.c opens
//! the package (never installs it) and runs only that action, once per
//! value, all values in one Wine process (thousands take seconds).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use outpost_manifest::{clip, Manifest, Platform, SettingType};

use crate::wine::Prefix;
use crate::{mingw_build, text};

/// A verdict: None when the bytes cannot be a property value (not UTF-8, or
/// a NUL), else accepted, or refused with the INVALIDSETTINGS text.
pub type Verdict = Option<Result<(), String>>;

/// The driver, built once with mingw.
pub fn msicheck() -> PathBuf {
    mingw_build("msicheck.c", "msicheck.exe", "x86_64-w64-mingw32-gcc", &["-lmsi"])
}

/// Every Windows setting's property at its default: a package opened
/// without running its sequences has none of the values the `Default*`
/// actions set, and CheckAnswers checks every property at once.
pub fn default_baseline(manifest: &Manifest) -> Vec<(String, String)> {
    manifest
        .settings_on(Platform::Windows)
        .map(|s| (s.msi_property.clone(), s.default_for(Platform::Windows).unwrap_or_default().to_string()))
        .collect()
}

/// The verdict of `msi`'s CheckAnswers on each of `values` for `property`,
/// the other properties set as in `baseline` (which may also replace
/// `OmnipackAnswerRules`). One Wine process for all values.
pub fn msi_verdicts(prefix: &Prefix, msi: &Path, baseline: &[(String, String)], property: &str, values: &[Vec<u8>]) -> Vec<Verdict> {
    let usable = |v: &[u8]| std::str::from_utf8(v).is_ok() && !v.contains(&0);
    let tries: Vec<String> = values
        .iter()
        .filter(|v| usable(v))
        .map(|v| format!("try {property} {}", hex_or_dash(v)))
        .collect();
    let mut answers = run(prefix, msi, baseline, &tries).into_iter();
    values
        .iter()
        .map(|v| if usable(v) { answers.next().expect("one answer per try") } else { None })
        .collect()
}

/// As [`msi_verdicts`], for UTF-16 code units that need not be valid
/// UTF-16 (an unpaired surrogate), which only the Windows API can set.
pub fn msi_verdicts_utf16(prefix: &Prefix, msi: &Path, baseline: &[(String, String)], property: &str, values: &[Vec<u16>]) -> Vec<Verdict> {
    let tries: Vec<String> = values
        .iter()
        .map(|v| {
            assert!(!v.is_empty() && !v.contains(&0), "try16 needs a non-empty value without NUL");
            format!("try16 {property} {}", v.iter().map(|u| format!("{u:04x}")).collect::<String>())
        })
        .collect();
    run(prefix, msi, baseline, &tries)
}

/// Where the verdicts and `kind.canonicalize(.., Platform::Windows)`
/// disagree (accept vs refuse), one line per value; empty when they agree
/// on every value. A value that cannot be a property (None) must be one no
/// property can hold.
pub fn disagreements(kind: &SettingType, values: &[Vec<u8>], verdicts: &[Verdict]) -> Vec<String> {
    assert_eq!(values.len(), verdicts.len());
    let word = |ok: bool| if ok { "accepts" } else { "refuses" };
    values
        .iter()
        .zip(verdicts)
        .filter_map(|(v, verdict)| {
            let text = std::str::from_utf8(v).ok().filter(|t| !t.contains('\0'));
            match (text, verdict) {
                (None, None) => None,
                (None, Some(r)) => Some(format!("{:?} is no property value, yet CheckAnswers answered {r:?}", String::from_utf8_lossy(v))),
                (Some(t), None) => Some(format!("{:?}: CheckAnswers gave no verdict", clip(t))),
                (Some(t), Some(r)) => {
                    let rust = kind.canonicalize(t, Platform::Windows);
                    (rust.is_ok() != r.is_ok()).then(|| {
                        format!("{:?}: canonicalize {} ({rust:?}), CheckAnswers {} ({r:?})", clip(t), word(rust.is_ok()), word(r.is_ok()))
                    })
                }
            }
        })
        .collect()
}

fn hex_or_dash(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "-".into()
    } else {
        hex::encode(bytes)
    }
}

fn run(prefix: &Prefix, msi: &Path, baseline: &[(String, String)], tries: &[String]) -> Vec<Verdict> {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let work = prefix.path().join(format!("msicheck-{}", CALLS.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&work).unwrap();
    let mut records: Vec<String> = baseline.iter().map(|(p, v)| format!("set {p} {}", hex_or_dash(v.as_bytes()))).collect();
    records.extend(tries.iter().cloned());
    let file = work.join("records.txt");
    std::fs::write(&file, records.join("\n") + "\n").unwrap();
    let exe = msicheck();
    let out = prefix.wine(
        &[
            &prefix.win_path(&exe),
            &prefix.win_path(msi),
            &prefix.win_path(&file),
            &prefix.win_path(&work.join("msicheck.log")),
        ],
        &[],
    );
    assert!(out.status.success(), "msicheck {} failed ({}):\n{}", msi.display(), out.status, text(&out));
    let stdout = String::from_utf8(out.stdout).expect("msicheck prints UTF-8");
    let verdicts: Vec<Verdict> = stdout
        .lines()
        .map(|l| match l {
            "ok" => Some(Ok(())),
            "skip" => None,
            _ => match l.strip_prefix("refused ") {
                Some(why) => Some(Err(why.to_string())),
                None => panic!(
                    "msicheck: `{l}` (CheckAnswers failed: a package without readable rules fails closed); its log: {}",
                    work.join("msicheck.log").display()
                ),
            },
        })
        .collect();
    assert_eq!(verdicts.len(), tries.len(), "msicheck answered {} of {} tries:\n{stdout}", verdicts.len(), tries.len());
    let _ = std::fs::remove_dir_all(&work);
    verdicts
}
