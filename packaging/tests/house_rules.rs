//! The house rules of omnipack's own source (issue 12), checked rather than
//! hoped for: no function over 80 lines, no file over 800 lines (generated
//! tables aside), no `Result<_, String>` in the library, and no format named
//! by a string outside that format's own module.

use std::path::{Path, PathBuf};

const MAX_FN_LINES: usize = 80;
const MAX_FILE_LINES: usize = 800;
/// Files that are tables, not logic: the MSI schema is the Windows
/// Installer SDK's column definitions, one entry per column.
const TABLE_FILES: &[&str] = &["src/msi/schema.rs"];

fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["src", "manifest/src", "msi-ca/src"] {
        walk(&root.join(dir), &mut |p| {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.push((rel, std::fs::read_to_string(p).unwrap()));
        });
    }
    out.sort();
    out
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, f);
        } else if p.extension().is_some_and(|e| e == "rs") {
            f(&p);
        }
    }
}

/// The text before the file's unit tests (`#[cfg(test)]` at the top level).
fn library_part(text: &str) -> &str {
    match text.find("\n#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    }
}

/// Braces that count: outside strings, chars and comments.
fn code_braces(line: &str, in_block_comment: &mut bool) -> i64 {
    let b = line.as_bytes();
    let (mut depth, mut i) = (0i64, 0);
    while i < b.len() {
        if *in_block_comment {
            if b[i..].starts_with(b"*/") {
                *in_block_comment = false;
                i += 1;
            }
        } else if b[i..].starts_with(b"//") {
            break;
        } else if b[i..].starts_with(b"/*") {
            *in_block_comment = true;
            i += 1;
        } else if b[i] == b'"' {
            let raw_hashes = raw_prefix(&b[..i]);
            i += 1;
            while i < b.len() {
                match raw_hashes {
                    Some(h) if b[i] == b'"' && b[i + 1..].iter().take(h).filter(|c| **c == b'#').count() == h => break,
                    None if b[i] == b'\\' => i += 1,
                    None if b[i] == b'"' => break,
                    _ => {}
                }
                i += 1;
            }
        } else if b[i] == b'\'' && i + 2 < b.len() && b[i + 1] == b'\\' {
            // An escaped char literal ('\n', '\'', '\u{5}'): to its closing quote.
            i += 3;
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
        } else if b[i] == b'\'' && i + 2 < b.len() && b[i + 2] == b'\'' {
            i += 2;
        } else if b[i] == b'{' {
            depth += 1;
        } else if b[i] == b'}' {
            depth -= 1;
        }
        i += 1;
    }
    depth
}

/// `Some(n)` when the quote at the end of `before` opens a raw string `r#..#"`.
fn raw_prefix(before: &[u8]) -> Option<usize> {
    let hashes = before.iter().rev().take_while(|c| **c == b'#').count();
    let r = before.len().checked_sub(hashes + 1)?;
    (before[r] == b'r' && (r == 0 || !before[r - 1].is_ascii_alphanumeric() || before[r - 1] == b'b')).then_some(hashes)
}

fn is_fn_start(line: &str) -> Option<String> {
    let t = line.trim_start();
    let t = t.strip_prefix("pub(crate) ").or_else(|| t.strip_prefix("pub(super) ")).or_else(|| t.strip_prefix("pub ")).unwrap_or(t);
    let t = t.strip_prefix("const ").unwrap_or(t);
    let t = t.strip_prefix("unsafe ").unwrap_or(t);
    let t = t.strip_prefix("extern \"system\" ").or_else(|| t.strip_prefix("extern \"C\" ")).unwrap_or(t);
    let rest = t.strip_prefix("fn ")?;
    Some(rest.split(['(', '<']).next().unwrap_or(rest).to_string())
}

/// (name, first line, length) of every function in the library part.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = library_part(text).lines().collect();
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let Some(name) = is_fn_start(line) else { continue };
        let (mut depth, mut opened, mut comment) = (0i64, false, false);
        for (k, l) in lines[n..].iter().enumerate() {
            let d = code_braces(l, &mut comment);
            // A declaration without a body (trait item) ends at its `;`.
            if !opened && d == 0 && l.trim_end().ends_with(';') {
                break;
            }
            depth += d;
            opened |= l.contains('{');
            if opened && depth <= 0 {
                out.push((name.clone(), n + 1, k + 1));
                break;
            }
        }
    }
    out
}

#[test]
fn no_function_is_longer_than_80_lines() {
    let mut long = Vec::new();
    for (path, text) in sources() {
        for (name, line, len) in functions(&text) {
            if len > MAX_FN_LINES {
                long.push(format!("{path}:{line}: fn {name} is {len} lines"));
            }
        }
    }
    assert!(long.is_empty(), "functions over {MAX_FN_LINES} lines:\n{}", long.join("\n"));
}

#[test]
fn no_source_file_is_longer_than_800_lines() {
    let long: Vec<String> = sources()
        .into_iter()
        .filter(|(p, _)| !TABLE_FILES.contains(&p.as_str()))
        .filter_map(|(p, t)| {
            let n = library_part(&t).lines().count();
            (n > MAX_FILE_LINES).then(|| format!("{p}: {n} lines"))
        })
        .collect();
    assert!(long.is_empty(), "files over {MAX_FILE_LINES} lines (tests excluded):\n{}", long.join("\n"));
}

#[test]
fn no_library_function_returns_a_string_error() {
    let mut found = Vec::new();
    for (path, text) in sources() {
        for (n, line) in library_part(&text).lines().enumerate() {
            let compact: String = line.split_whitespace().collect();
            if compact.contains(",String>") && compact.contains("Result<") && !compact.trim_start().starts_with("//") {
                found.push(format!("{path}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "Result<_, String> in the library:\n{}", found.join("\n"));
}

/// A format's name or an architecture's word as a string literal outside
/// its own module: the format (or `Format`/`Arch` themselves) should say it.
#[test]
fn formats_are_named_only_by_themselves() {
    let own: &[(&str, &[&str])] = &[
        ("\"deb\"", &["src/deb/", "src/target.rs", "src/formats.rs", "src/repo/apt"]),
        ("\"rpm\"", &["src/rpm/", "src/target.rs", "src/formats.rs"]),
        ("\"msi\"", &["src/windows/", "src/msi/", "src/target.rs", "src/formats.rs", "src/sign/authenticode.rs"]),
        ("\"pkg\"", &["src/macos/", "src/pkg/", "src/target.rs", "src/formats.rs"]),
        // The manifest's own words for the Windows architectures a feature exists on.
        ("\"x64\"", &["src/windows/", "src/target.rs", "manifest/src/"]),
        ("\"x86\"", &["src/windows/", "src/target.rs", "manifest/src/"]),
        ("\"amd64\"", &["src/deb/", "src/target.rs", "src/repo/apt"]),
    ];
    let mut found = Vec::new();
    for (path, text) in sources() {
        for (n, line) in library_part(&text).lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for (word, owners) in own {
                if line.contains(word) && !owners.iter().any(|o| path.starts_with(o)) {
                    found.push(format!("{path}:{}: {word}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "format names as strings outside their format:\n{}", found.join("\n"));
}

#[test]
fn the_function_finder_measures_what_it_should() {
    let text = "fn a() {\n    let s = \"}\";\n    let c = '{';\n    let d = ['\\u{5}', '\\'', '}'];\n}\n\npub fn b<T>(x: T) -> Result<(), E> {\n    if x { r#\"{\"# } // }\n}\ntrait T { fn c(&self); }\n";
    let f = functions(text);
    assert_eq!(f, vec![("a".to_string(), 1, 5), ("b".to_string(), 7, 3)]);
}
