//! The house rules that hold across every format: a package's bytes change
//! only when what it installs changes (a redesign of omnipack must give
//! byte-identical packages), and one content model feeds every format.

use outpost_tests::stand_ins::{self, sha256_hex};
use outpost_tests::*;

/// `tests/golden/artifacts.sha256`: the sha256 of every artifact and of
/// release.json, built unsigned with `SOURCE_DATE_EPOCH` and the stand-in
/// binaries from the real manifest. Written before the house redesign (issue
/// 12) and unchanged by it. `OUTPOST_UPDATE_GOLDEN=1` rewrites it: only for a
/// change that means to change what the packages hold, and say so.
#[test]
fn unsigned_packages_are_byte_identical_to_the_golden_build() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("dist");
    let mut cmd = tool(omnipack());
    cmd.args(["build", "--unsigned", "--out"])
        .arg(&out)
        .args(stand_ins::build_args(&tmp.path().join("bin")))
        .current_dir(workspace_root())
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH);
    ok(&mut cmd);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let got: String = names
        .iter()
        .map(|n| format!("{}  {n}\n", sha256_hex(&std::fs::read(out.join(n)).unwrap())))
        .collect();
    let golden = workspace_root().join("tests/golden/artifacts.sha256");
    if std::env::var_os("OUTPOST_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &got).unwrap();
    }
    let want = std::fs::read_to_string(&golden).expect("tests/golden/artifacts.sha256 (OUTPOST_UPDATE_GOLDEN=1 writes it)");
    assert_eq!(got, want, "the packages differ from the golden build (built in {})", {
        let keep = tmp.keep();
        keep.display().to_string()
    });
}
