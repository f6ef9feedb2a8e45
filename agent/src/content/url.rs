//! The two names an instruction gives a file: where it is (an https URL, or a
//! path under `BackgroundChannelUrl`) and what it is (its SHA-256).

use std::fmt;

use super::ContentError;

/// An `https://host[:port]/path` URL, split for a request line and a Host header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsUrl {
    pub host: String,
    pub port: u16,
    /// Starts with `/`; query string included.
    pub target: String,
}

impl fmt::Display for HttpsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "https://{}{}", self.authority(), self.target)
    }
}

impl HttpsUrl {
    pub fn parse(s: &str) -> Result<HttpsUrl, ContentError> {
        let bad = |why: &str| ContentError::BadUrl(format!("`{}`: {why}", outpost_manifest::clip(s)));
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("spaces or control characters"));
        }
        let rest = s.strip_prefix("https://").ok_or_else(|| bad("only https URLs are fetched"))?;
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(bad("credentials in a URL are not accepted"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            (h, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad("bad port"))?,
            None => 443,
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let target = match target.strip_prefix('?') {
            Some(q) => format!("/?{q}"),
            None => target.to_string(),
        };
        let target = target.split('#').next().unwrap_or("/").to_string();
        Ok(HttpsUrl {
            host: host.to_string(),
            port,
            target,
        })
    }

    /// What an instruction's `url` names: an absolute https URL as is, or a
    /// relative path under the Background Channel. Any other scheme is refused.
    pub fn resolve(base: &HttpsUrl, given: &str) -> Result<HttpsUrl, ContentError> {
        if given.contains("://") || given.starts_with("//") || given.contains(':') && !given.contains('/') {
            return HttpsUrl::parse(given);
        }
        let rel = given.trim_start_matches('/');
        if rel.is_empty() || rel.split(['/', '?']).any(|seg| seg == "..") || rel.contains('\\') {
            return Err(ContentError::BadUrl(format!(
                "`{}`: a relative path must name a file under BackgroundChannelUrl",
                outpost_manifest::clip(given)
            )));
        }
        let dir = base.target.split('?').next().unwrap_or("/");
        let dir = &dir[..=dir.rfind('/').unwrap_or(0)];
        HttpsUrl::parse(&format!("https://{}{dir}{rel}", base.authority()))
    }

    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 443 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// A SHA-256 named in an instruction: 64 hex digits, either case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    pub fn parse(s: &str) -> Result<Sha256, ContentError> {
        let bad = || ContentError::BadHash(outpost_manifest::clip(s));
        if s.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, pair) in s.as_bytes().chunks(2).enumerate() {
            let hex = std::str::from_utf8(pair).map_err(|_| bad())?;
            out[i] = u8::from_str_radix(hex, 16).map_err(|_| bad())?;
        }
        Ok(Sha256(out))
    }

    pub fn of_file(path: &std::path::Path) -> std::io::Result<Sha256> {
        use std::io::Read;
        let mut f = std::fs::File::open(path)?;
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            ctx.update(&buf[..n]);
        }
        Ok(Sha256::from_digest(ctx.finish()))
    }

    pub fn of_bytes(bytes: &[u8]) -> Sha256 {
        Sha256::from_digest(ring::digest::digest(&ring::digest::SHA256, bytes))
    }

    pub fn from_digest(d: ring::digest::Digest) -> Sha256 {
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Sha256(out)
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_resolve_under_the_base_and_only_https_is_accepted() {
        let base = HttpsUrl::parse("https://bg.example/Background/").unwrap();
        let r = |s| HttpsUrl::resolve(&base, s).map(|u| u.to_string());
        assert_eq!(r("mods/a.zip").unwrap(), "https://bg.example/Background/mods/a.zip");
        assert_eq!(r("/mods/a.zip").unwrap(), "https://bg.example/Background/mods/a.zip");
        assert_eq!(r("https://[::1]:8443/x?y=1").unwrap(), "https://[::1]:8443/x?y=1");
        for bad in ["http://bg.example/a", "ftp://x/y", "../etc/passwd", "a/../../b", "", "file:x", "https://u@h/"] {
            assert!(r(bad).is_err(), "{bad}");
        }
        let u = HttpsUrl::parse("https://127.0.0.1:9/a").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.target.as_str()), ("127.0.0.1", 9, "/a"));
    }

    #[test]
    fn hashes_are_64_hex_digits() {
        let h = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
        assert_eq!(Sha256::parse(h).unwrap().to_string(), h.to_lowercase());
        for bad in ["", "e3b0", &h.replace('E', "g"), &format!("{h}00"), &"é".repeat(32)] {
            assert!(Sha256::parse(bad).is_err(), "{bad}");
        }
    }
}
