//! What `omnipack verify` found: per file, each check run and its result.
//! Text: one line per problem on stdout (`FILE: what failed`), notices and
//! a summary on stderr. JSON: the whole report on stdout.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    /// Worth saying, not a failure (test-signed without --release, an
    /// unlisted file, an unsigned build's missing SHA256SUMS.asc).
    Notice,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: String,
    pub result: Outcome,
    /// What was found; for a failure, what is wrong.
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub file: String,
    pub checks: Vec<Check>,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub dir: String,
    pub ok: bool,
    pub files: Vec<FileReport>,
}

impl Report {
    pub fn new(dir: &str) -> Report {
        Report {
            dir: dir.to_string(),
            ..Report::default()
        }
    }

    fn file(&mut self, file: &str) -> &mut FileReport {
        if let Some(i) = self.files.iter().position(|f| f.file == file) {
            return &mut self.files[i];
        }
        self.files.push(FileReport {
            file: file.to_string(),
            checks: Vec::new(),
        });
        self.files.last_mut().expect("just pushed")
    }

    pub fn add(&mut self, file: &str, check: &str, result: Outcome, detail: impl Into<String>) {
        self.file(file).checks.push(Check {
            check: check.to_string(),
            result,
            detail: detail.into(),
        });
    }

    pub fn pass(&mut self, file: &str, check: &str, detail: impl Into<String>) {
        self.add(file, check, Outcome::Pass, detail);
    }

    pub fn fail(&mut self, file: &str, check: &str, detail: impl Into<String>) {
        self.add(file, check, Outcome::Fail, detail);
    }

    pub fn notice(&mut self, file: &str, check: &str, detail: impl Into<String>) {
        self.add(file, check, Outcome::Notice, detail);
    }

    /// `FILE: detail` for every check with `outcome`, in the order run.
    pub fn lines(&self, outcome: Outcome) -> Vec<String> {
        self.files
            .iter()
            .flat_map(|f| {
                f.checks
                    .iter()
                    .filter(move |c| c.result == outcome)
                    .map(move |c| format!("{}: {}", f.file, c.detail))
            })
            .collect()
    }

    pub fn count(&self) -> (usize, usize) {
        let checks = self.files.iter().map(|f| f.checks.len()).sum();
        (self.files.len(), checks)
    }

    pub fn finish(&mut self) {
        self.ok = self.lines(Outcome::Fail).is_empty();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_failure_naming_the_file() {
        let mut r = Report::new("dist");
        r.pass("a.deb", "sha256", "matches");
        r.fail("a.deb", "sha256", "sha256 differs from SHA256SUMS");
        r.notice("b.msi", "test-signed", "test-signed with `X`");
        r.fail("b.msi", "authenticode", "Authenticode digest does not match the file");
        r.finish();
        assert!(!r.ok);
        assert_eq!(
            r.lines(Outcome::Fail),
            [
                "a.deb: sha256 differs from SHA256SUMS",
                "b.msi: Authenticode digest does not match the file"
            ]
        );
        assert_eq!(r.lines(Outcome::Notice), ["b.msi: test-signed with `X`"]);
        assert_eq!(r.count(), (2, 4));
    }
}
