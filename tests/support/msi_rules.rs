//! What an MSI's `CheckAnswers` custom action (packaging/msi-ca) says about
//! property values, under Wine: the test driver tests/wine/msicheck.c opens
//! the package (never installs it) and runs only that action, all values in
//! one Wine process.
//!
//! Each run of the action costs ~25 ms under Wine 8 (~10 ms of it Wine's
//! custom action server, the rest one cross-process call per property read
//! and the rule patterns compiled per check), so one value per run would
//! take a minute per 2,500 values. [`msi_verdicts`] therefore checks up to
//! [`BATCH`] values per run: it gives the package's own rule for the
//! property (from its `OmnipackAnswerRules`, or the baseline's) to as many
//! stand-in properties, one value each, and splits the action's
//! INVALIDSETTINGS text back per value, renamed to the property. The DLL's
//! code path is the one a single value takes (windows_answers'
//! `check_answers_agrees_with_canonicalize` shows the same answers and
//! texts); [`msi_verdicts_one_by_one`] runs one value per action.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use outpost_manifest::{clip, Manifest, Platform, SettingType};

use crate::wine::Prefix;
use crate::{mingw_build, text};

/// A verdict: None when the bytes cannot be a property value (not UTF-8, or
/// a NUL), else accepted, or refused with the INVALIDSETTINGS text (`PROP=value
/// (reason); `, or `PROP (reason); ` for a secret).
pub type Verdict = Option<Result<(), String>>;

/// Values checked per run of the action.
pub const BATCH: usize = 64;
/// The stand-in properties of a batch: `OMNIPACKPROBE0`, `OMNIPACKPROBE1`, ….
const PROBE: &str = "OMNIPACKPROBE";
const RULES: &str = "OmnipackAnswerRules";

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
/// `OmnipackAnswerRules`). One Wine process, [`BATCH`] values per run of
/// the action.
pub fn msi_verdicts(prefix: &Prefix, msi: &Path, baseline: &[(String, String)], property: &str, values: &[Vec<u8>]) -> Vec<Verdict> {
    let rule = package_rule(msi, baseline, property);
    let mut records = set_records(baseline);
    let mut expected = Vec::new();
    let batchable: Vec<usize> = (0..values.len())
        .filter(|&i| usable(&values[i]) && !String::from_utf8_lossy(&values[i]).contains(PROBE))
        .collect();
    for chunk in batchable.chunks(BATCH) {
        let rules: Vec<serde_json::Value> = (0..chunk.len())
            .map(|k| {
                let mut r = rule.clone();
                r["property"] = format!("{PROBE}{k}").into();
                r
            })
            .collect();
        records.push(format!("set {RULES} {}", hex::encode(serde_json::to_string(&rules).unwrap())));
        for (k, &i) in chunk.iter().enumerate() {
            records.push(format!("set {PROBE}{k} {}", hex_or_dash(&values[i])));
        }
        records.push("check".into());
        expected.push(chunk.to_vec());
    }
    // What cannot share a run: a value naming a stand-in property.
    records.extend(set_records(baseline));
    for i in (0..values.len()).filter(|&i| usable(&values[i]) && !batchable.contains(&i)) {
        records.push(format!("try {property} {}", hex_or_dash(&values[i])));
        expected.push(vec![i]);
    }
    let lines = run(prefix, msi, &records);
    assert_eq!(lines.len(), expected.len(), "msicheck answered {} of {} runs", lines.len(), expected.len());
    let mut verdicts: Vec<Verdict> = vec![None; values.len()];
    for (line, indices) in lines.iter().zip(&expected) {
        let split = if indices.len() == 1 && !batchable.contains(&indices[0]) {
            vec![line.clone()]
        } else {
            split_batch(line, indices.len(), property)
        };
        for (&i, v) in indices.iter().zip(split) {
            verdicts[i] = Some(v);
        }
    }
    verdicts
}

/// As [`msi_verdicts`], one run of the action per value (`try` records):
/// slower, and what the batches are checked against.
pub fn msi_verdicts_one_by_one(prefix: &Prefix, msi: &Path, baseline: &[(String, String)], property: &str, values: &[Vec<u8>]) -> Vec<Verdict> {
    let mut records = set_records(baseline);
    records.extend(values.iter().filter(|v| usable(v)).map(|v| format!("try {property} {}", hex_or_dash(v))));
    let mut lines = run(prefix, msi, &records).into_iter();
    values.iter().map(|v| if usable(v) { lines.next().map(Some).expect("one answer per try") } else { None }).collect()
}

/// As [`msi_verdicts_one_by_one`], for UTF-16 code units that need not be
/// valid UTF-16 (an unpaired surrogate), which only the Windows API can set.
pub fn msi_verdicts_utf16(prefix: &Prefix, msi: &Path, baseline: &[(String, String)], property: &str, values: &[Vec<u16>]) -> Vec<Verdict> {
    let mut records = set_records(baseline);
    records.extend(values.iter().map(|v| {
        assert!(!v.is_empty() && !v.contains(&0), "try16 needs a non-empty value without NUL");
        format!("try16 {property} {}", v.iter().map(|u| format!("{u:04x}")).collect::<String>())
    }));
    run(prefix, msi, &records).into_iter().map(Some).collect()
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
                    let rust = kind.canonicalize(t, Platform::Windows).map_err(|refused| refused.to_string());
                    (rust.is_ok() != r.is_ok()).then(|| {
                        format!("{:?}: canonicalize {} ({rust:?}), CheckAnswers {} ({r:?})", clip(t), word(rust.is_ok()), word(r.is_ok()))
                    })
                }
            }
        })
        .collect()
}

fn usable(v: &[u8]) -> bool {
    std::str::from_utf8(v).is_ok() && !v.contains(&0)
}

fn hex_or_dash(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "-".into()
    } else {
        hex::encode(bytes)
    }
}

fn set_records(baseline: &[(String, String)]) -> Vec<String> {
    baseline.iter().map(|(p, v)| format!("set {p} {}", hex_or_dash(v.as_bytes()))).collect()
}

/// The rule entry for `property`: from the baseline's rules when it
/// replaces them, else from the package's Property table.
fn package_rule(msi: &Path, baseline: &[(String, String)], property: &str) -> serde_json::Value {
    let json = match baseline.iter().rev().find(|(p, _)| p == RULES) {
        Some((_, v)) => v.clone(),
        None => {
            let db = omnipack::msi::Database::from_bytes(&std::fs::read(msi).unwrap()).unwrap();
            let row = db.table("Property").and_then(|t| t.get(&[RULES.into()])).unwrap_or_else(|| panic!("{} has no {RULES}", msi.display()));
            row[1].as_str().unwrap().to_string()
        }
    };
    let rules: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    rules
        .into_iter()
        .find(|r| r["property"] == property)
        .unwrap_or_else(|| panic!("{RULES} has no rule for {property}"))
}

/// One `check` line of a batch of `n` stand-ins split per stand-in, each
/// entry renamed to `property`.
fn split_batch(line: &Result<(), String>, n: usize, property: &str) -> Vec<Result<(), String>> {
    let Err(text) = line else { return vec![Ok(()); n] };
    // Entries come in rule order, each at the start or after "; ".
    let starts: Vec<Option<usize>> = {
        let mut from = 0;
        (0..n)
            .map(|k| {
                let found = [format!("{PROBE}{k}="), format!("{PROBE}{k} (")].iter().filter_map(|m| find_entry(text, m, from)).min();
                if let Some(at) = found {
                    from = at + 1;
                }
                found
            })
            .collect()
    };
    let found: Vec<usize> = starts.iter().flatten().copied().collect();
    assert!(found.first() == Some(&0), "msicheck: a batch's refusals do not start with a stand-in: {text}");
    starts
        .iter()
        .map(|start| match start {
            None => Ok(()),
            Some(at) => {
                let end = found.iter().copied().find(|&s| s > *at).unwrap_or(text.len());
                let entry = &text[*at..end];
                let rest = entry.trim_start_matches(PROBE).trim_start_matches(|c: char| c.is_ascii_digit());
                Err(format!("{property}{rest}"))
            }
        })
        .collect()
}

fn find_entry(text: &str, marker: &str, from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(i) = text[at..].find(marker) {
        let i = at + i;
        if i == 0 || text[..i].ends_with("; ") {
            return Some(i);
        }
        at = i + 1;
    }
    None
}

/// Runs the driver on `records`; one result per `try`/`try16`/`check`.
fn run(prefix: &Prefix, msi: &Path, records: &[String]) -> Vec<Result<(), String>> {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let work = prefix.path().join(format!("msicheck-{}", CALLS.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&work).unwrap();
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
    let lines = stdout
        .lines()
        .map(|l| match l {
            "ok" => Ok(()),
            _ => match l.strip_prefix("refused ") {
                Some(why) => Err(why.to_string()),
                None => panic!(
                    "msicheck: `{l}` (CheckAnswers failed: a package without readable rules fails closed); its log: {}",
                    work.join("msicheck.log").display()
                ),
            },
        })
        .collect();
    let _ = std::fs::remove_dir_all(&work);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_batch_per_stand_in() {
        let line = Err("OMNIPACKPROBE0=a (`a; b=` is not x); OMNIPACKPROBE2=b (c); OMNIPACKPROBE3 (secret); ".to_string());
        assert_eq!(
            split_batch(&line, 4, "P"),
            [
                Err("P=a (`a; b=` is not x); ".to_string()),
                Ok(()),
                Err("P=b (c); ".to_string()),
                Err("P (secret); ".to_string())
            ]
        );
        assert_eq!(split_batch(&Ok(()), 2, "P"), [Ok(()), Ok(())]);
        let ten = Err("OMNIPACKPROBE1=x (y); OMNIPACKPROBE10=z (w); ".to_string());
        let split = split_batch(&ten, 11, "P");
        assert_eq!(split[1], Err("P=x (y); ".to_string()));
        assert_eq!(split[10], Err("P=z (w); ".to_string()));
        assert!(split[0].is_ok() && split[2].is_ok());
    }
}
