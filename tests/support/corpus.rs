//! A generated corpus of install-time answers: for a setting type, thousands
//! of values, valid and hostile, as bytes; and whole answers files. Every
//! validator (the shell pre-check under dash and bash, the MSI's custom
//! action under Wine, the agent) must accept or refuse each one alike.
//!
//! Seeded: `OUTPOST_CORPUS_SEED` replays a run (the tests print the seed).

use outpost_manifest::{Platform, SettingType};

/// The seed of this run: `OUTPOST_CORPUS_SEED`, or a fixed one so that CI
/// runs are comparable.
pub fn seed() -> u64 {
    std::env::var("OUTPOST_CORPUS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0b57_2026)
}

/// Every probe of issue 11 and its relatives, whatever the type.
pub const PROBES: &[&[u8]] = &[
    b"/tmp\nSwitch=evil.example:443",
    b"a:1\nBackgroundChannelUrl=https://evil.example/",
    b"https://a.example/\nLogFile=/etc/passwd",
    b"C:\\Temp\nSwitch=evil.example:443",
    b"a.example:443\r",
    b"/var/tmp/out\rpost",
    b"true\r",
    b"180\n",
    b"\t180",
    b"99999999999999999999",
    b"-99999999999999999999",
    b"9223372036854775808",
    b"18446744073709551616",
    b"[1]:443",
    b"[::1]:443",
    b"[fd00::5]:443",
    b"[::ffff:10.0.0.1]:443",
    b"[fe80::1%eth0]:443",
    b"https://a.example:99999/",
    b"https://[::1]:8443/x",
    b"https://a.example:0/",
    b"a.example:99999",
    b"a.example:65536",
    b"a.example:65535",
    b"\xff\xfe",
    b"/var/lib/\xc3\xa9t\xc3\xa9",
    b"/var/lib/\xc3",
    b"/var/lib/\xed\xa0\x80",
    b"/var/lib/\xc0\xaf",
    b"/var/lib/\xf4\x90\x80\x80",
    b"/var/lib/\xe2\x80\xa8x",
    b"\xc2\xa0true",
    b"true\xc2\xa0",
    b"\xef\xbb\xbftrue",
    b"*",
    b"/*",
    b"$(touch {marker})",
    b"`touch {marker}`",
    b"a; touch {marker}",
    b"' ; touch {marker}; '",
    b"\"; touch {marker}; \"",
    b"${IFS}",
    b"-n",
    b"-e",
    b"--",
    b"-5",
    b"+5",
    b"-0",
    b"007",
    b"0x10",
    b"1e3",
    b"",
    b" ",
    b"TRUE",
    b"yes",
    b"https://user:pw@a.example/",
    b"https:///path",
    b"HTTPS://A.EXAMPLE/x?y#z",
    b"https://a.example\\@evil.example/",
    b"http://a.example/",
    b"store:LocalMachine\\My?subject=CN=host",
    b"\\\\server\\share\\x",
    b"C:\\ProgramData\\Outpost",
    b"C:/ProgramData",
    b"C:relative",
    b"relative/path",
    // Windows paths may start with a known variable (issue 13.6); only those,
    // and only followed by a separator; anything relative is refused.
    b"%ProgramData%\\Outpost\\Temp",
    b"%PROGRAMDATA%/Outpost/Temp",
    b"%windir%\\Temp",
    b"%SystemDrive%\\Temp",
    b"%SystemDrive%Temp",
    b"%ProgramData%",
    b"%TEMP%\\Outpost",
    b"%ProgramData%%windir%\\x",
    b"%%\\x",
    b"/%ProgramData%/x",
    b"Outpost\\Temp",
    b".\\Temp",
    b"\\Temp",
    b"[Settings]",
    b"Switch=a:1",
];

/// Well-formed values of `kind` on `platform`, to mutate from.
fn seeds(kind: &SettingType, platform: Platform, rng: &mut fastrand::Rng) -> Vec<Vec<u8>> {
    let mut out: Vec<String> = match kind {
        SettingType::Bool => ["true", "false", "1", "0", "True", "FALSE"].map(String::from).to_vec(),
        SettingType::Integer { min, max } => {
            let mut v = vec![min.to_string(), max.to_string(), (min + 1).to_string(), (max - 1).to_string()];
            v.extend((0..8).map(|_| rng.i64(*min..=*max).to_string()));
            v.push((*max as i128 + 1).to_string());
            v.push((*min as i128 - 1).to_string());
            v
        }
        SettingType::Enum { values } => values.iter().flat_map(|v| [v.clone(), v.to_ascii_uppercase()]).collect(),
        SettingType::HostPort => {
            let mut v: Vec<String> =
                ["switch.example.com:443", "10.0.0.5:443", "[fd00::5]:443", "a:1", "[1:2:3:4:5:6:7:8]:65535"].map(String::from).to_vec();
            v.push(format!("{}:{}", host(rng), rng.u32(1..=65535)));
            v.push(format!("[{}]:{}", ipv6(rng), rng.u32(0..=70000)));
            v
        }
        SettingType::HttpsUrl => {
            let mut v: Vec<String> = ["https://a.example/", "https://a.example", "https://[::1]:8443/bg?x#y"].map(String::from).to_vec();
            v.push(format!("https://{}:{}/{}", host(rng), rng.u32(1..=65535), "p".repeat(rng.usize(0..20))));
            v.push(format!("https://[{}]/", ipv6(rng)));
            v
        }
        SettingType::AbsolutePath { allow_empty } => {
            let mut v: Vec<String> = match platform {
                Platform::Windows => [r"C:\ProgramData\Outpost", r"\\server\share\x", "C:/x", r"D:\", r"%ProgramData%\Outpost\Temp"]
                    .map(String::from)
                    .to_vec(),
                _ => ["/var/tmp/outpost", "/", "/etc/outpost/ca.pem"].map(String::from).to_vec(),
            };
            if *allow_empty {
                v.push(String::new());
            }
            v
        }
        SettingType::String { max_length, .. } => {
            vec!["store:LocalMachine\\My?subject=CN=x".into(), "/etc/outpost/client.pem".into(), "x".repeat((*max_length).min(4096))]
        }
    };
    // Values at the byte limit, one under and one over, of the first seed's shape.
    let rule = kind.rule(platform);
    if let Some(first) = out.first().cloned().filter(|f| !f.is_empty()) {
        for len in [rule.max_bytes.saturating_sub(1), rule.max_bytes, rule.max_bytes + 1] {
            out.push(stretch(&first, len, kind));
        }
    }
    out.into_iter().map(String::into_bytes).collect()
}

/// `value` grown (or cut) to `len` bytes where its shape allows more text.
fn stretch(value: &str, len: usize, kind: &SettingType) -> String {
    let mut s = value.to_string();
    let filler = match kind {
        SettingType::HostPort => {
            // Labels of 63 under the name, keeping `:port`.
            let (h, p) = value.rsplit_once(':').unwrap_or((value, "1"));
            let mut host = h.to_string();
            while host.len() + p.len() + 1 < len {
                host.insert_str(0, &format!("{}.", "a".repeat(63.min(len - host.len() - p.len() - 1).max(1))));
            }
            return format!("{host}:{p}");
        }
        SettingType::Integer { .. } => "0",
        _ => "x",
    };
    while s.len() < len {
        if matches!(kind, SettingType::Integer { .. }) {
            s.insert_str(usize::from(s.starts_with('-')), filler);
        } else {
            s.push_str(filler);
        }
    }
    s.truncate(len);
    s
}

fn host(rng: &mut fastrand::Rng) -> String {
    (0..rng.usize(1..4))
        .map(|_| (0..rng.usize(1..12)).map(|_| rng.alphanumeric()).collect::<String>())
        .collect::<Vec<_>>()
        .join(".")
}

fn ipv6(rng: &mut fastrand::Rng) -> String {
    let groups: Vec<String> = (0..8).map(|_| format!("{:x}", rng.u16(..))).collect();
    match rng.u8(0..4) {
        0 => groups.join(":"),
        1 => format!("{}::{}", groups[..rng.usize(0..4)].join(":"), groups[5..].join(":")),
        2 => format!("::ffff:{}.{}.{}.{}", rng.u8(..), rng.u8(..), rng.u8(..), rng.u16(0..300)),
        _ => format!("{}:::{}", groups[0], groups[1]),
    }
}

/// Bytes a mutation inserts: what breaks parsers and shells.
const NASTY: &[&[u8]] = &[
    b"\n", b"\r", b"\t", b"\x0b", b"\x1b", b"\x7f", b"\x01", b" ", b":", b"[", b"]", b".", b"-", b"/", b"\\", b"@", b"%", b"*", b"?",
    b"#", b"=", b"'", b"\"", b"$", b"`", b";", b"|", b"&", b"0", b"9", b"a", b"Z", b"\xc3\xa9", b"\xc2\xa0", b"\xe2\x80\xa8",
    b"\xef\xbb\xbf", b"\xef\xbf\xbe", b"\xef\xbf\xbf", b"\xef\xbf\xbd", b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xc3", b"\xf0\x9f\x98\x80",
];

fn mutate(v: &mut Vec<u8>, rng: &mut fastrand::Rng) {
    for _ in 0..rng.usize(1..=3) {
        let at = rng.usize(0..=v.len());
        match rng.u8(0..7) {
            0 | 1 => {
                let b = NASTY[rng.usize(0..NASTY.len())];
                v.splice(at..at, b.iter().copied());
            }
            2 if !v.is_empty() => {
                v.remove(at.min(v.len() - 1));
            }
            3 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] = rng.u8(0x20..0x7f);
            }
            4 => v.truncate(at),
            5 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] = v[i].to_ascii_uppercase();
            }
            _ => {
                let piece = v[at..].to_vec();
                v.extend_from_slice(&piece[..piece.len().min(8)]);
            }
        }
    }
}

/// About `n` values for `kind` on `platform`: the probes, the seeds and
/// their byte-limit neighbours, and random mutations of them. `marker`
/// replaces `{marker}` in the probes that try to run a command.
pub fn values(kind: &SettingType, platform: Platform, n: usize, marker: &str, rng: &mut fastrand::Rng) -> Vec<Vec<u8>> {
    let seeds = seeds(kind, platform, rng);
    let mut out: Vec<Vec<u8>> = PROBES.iter().map(|p| with_marker(p, marker)).collect();
    out.extend(seeds.iter().cloned());
    while out.len() < n {
        let mut v = seeds[rng.usize(0..seeds.len())].clone();
        mutate(&mut v, rng);
        out.push(v);
    }
    out
}

/// `probe` with `{marker}` replaced, byte for byte (probes need not be UTF-8).
fn with_marker(probe: &[u8], marker: &str) -> Vec<u8> {
    let key = b"{marker}";
    match probe.windows(key.len()).position(|w| w == key) {
        Some(i) => [&probe[..i], marker.as_bytes(), &probe[i + key.len()..]].concat(),
        None => probe.to_vec(),
    }
}

/// Lines an answers file is made of: sections, comments, settings (good and
/// bad), duplicates, a BOM, CRs, NULs, bytes that are not UTF-8.
const FILE_PIECES: &[&[u8]] = &[
    b"[Settings]",
    b"[settings]",
    b" [ Settings ] ",
    b"[Other]",
    b"[]",
    b"[Settings",
    b"; comment",
    b"# comment",
    b"  ; indented comment",
    b"",
    b"   ",
    b"\t",
    b"Switch=a.example:443",
    b"Switch = b.example:443 ",
    b"\tSwitch\t=\tc.example:443\t",
    b"Switch=evil.example:443",
    b"LogLevel=debug",
    b"LogLevel=LOUD",
    b"Module.Platform.Enabled=1",
    b"Module.Platform.Enabled=maybe",
    b"TemporaryDirectory=/tmp",
    b"TemporaryDirectory=relative",
    b"DefaultStaggerRangeSeconds=99999999999999999999",
    b"DefaultStaggerRangeSeconds=007",
    b"BackgroundChannelUrl=https://a.example:99999/",
    b"*=1",
    b"Unknown=1",
    b"switch=a:1",
    b"=value",
    b"no equals sign",
    b"Switch=a:1\r",
    b"Switch=a\r:1",
    b"Switch=a:1\x00",
    b"; \x00 in a comment",
    b"\xef\xbb\xbf[Settings]",
    b"TemporaryDirectory=/t\xc3\xa9mp",
    b"TemporaryDirectory=/t\xffmp",
    b"TemporaryDirectory=/t\xef\xbf\xbemp",
    b"; U+FFFF \xef\xbf\xbf in a comment",
    b"Switch=a:1\xc2\xa0",
    b"\xc2\xa0Switch=a:1",
    b"Switch=a:1\x0b",
    b"[Settings]\r",
];

/// `n` answers files of a few lines each.
pub fn files(n: usize, rng: &mut fastrand::Rng) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let mut text = Vec::new();
            for i in 0..rng.usize(0..7) {
                let piece = if i == 0 && rng.bool() { b"[Settings]".as_slice() } else { FILE_PIECES[rng.usize(0..FILE_PIECES.len())] };
                text.extend_from_slice(piece);
                text.extend_from_slice(if rng.u8(0..8) == 0 { b"\r\n" } else { b"\n" });
            }
            if rng.u8(0..6) == 0 {
                text.pop();
            }
            text
        })
        .collect()
}
