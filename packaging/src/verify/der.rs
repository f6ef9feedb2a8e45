//! Just enough DER to walk a PKCS#7 SignedData: tag, length, body. The
//! CMS crates in the tree expect `eContent` to be an OCTET STRING, which
//! Authenticode's SpcIndirectDataContent (a SEQUENCE) is not.

#[derive(Debug, thiserror::Error)]
pub enum DerError {
    #[error("truncated DER at byte {0}")]
    Truncated(usize),
    #[error("indefinite or oversized DER length at byte {0}")]
    Length(usize),
    #[error("expected {expected} but found tag 0x{found:02x}")]
    Tag { expected: &'static str, found: u8 },
    #[error("missing {0}")]
    Missing(&'static str),
}

pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
pub const OID: u8 = 0x06;
pub const OCTET_STRING: u8 = 0x04;
/// `[0]` constructed (EXPLICIT or IMPLICIT SET).
pub const CTX0: u8 = 0xa0;
pub const CTX1: u8 = 0xa1;

/// One element: its tag, the whole encoding, and the body.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub raw: &'a [u8],
    pub body: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// The single element at the start of `input`, and what follows it.
    pub fn read(input: &'a [u8]) -> Result<(Tlv<'a>, &'a [u8]), DerError> {
        let tag = *input.first().ok_or(DerError::Truncated(0))?;
        if tag & 0x1f == 0x1f {
            return Err(DerError::Tag {
                expected: "a one-byte tag",
                found: tag,
            });
        }
        let first = *input.get(1).ok_or(DerError::Truncated(1))?;
        let (len, head) = if first < 0x80 {
            (first as usize, 2)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 {
                return Err(DerError::Length(1));
            }
            let bytes = input.get(2..2 + n).ok_or(DerError::Truncated(2))?;
            (bytes.iter().fold(0usize, |a, b| (a << 8) | *b as usize), 2 + n)
        };
        let end = head
            .checked_add(len)
            .filter(|e| *e <= input.len())
            .ok_or(DerError::Truncated(input.len()))?;
        Ok((
            Tlv {
                tag,
                raw: &input[..end],
                body: &input[head..end],
            },
            &input[end..],
        ))
    }

    /// The element that must be the whole of `input`'s start, with tag `tag`.
    pub fn expect(input: &'a [u8], tag: u8, what: &'static str) -> Result<Tlv<'a>, DerError> {
        let (t, _) = Tlv::read(input)?;
        t.tagged(tag, what)
    }

    pub fn tagged(self, tag: u8, what: &'static str) -> Result<Tlv<'a>, DerError> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(DerError::Tag {
                expected: what,
                found: self.tag,
            })
        }
    }

    /// The elements of a constructed body.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>, DerError> {
        let mut rest = self.body;
        let mut out = Vec::new();
        while !rest.is_empty() {
            let (t, r) = Tlv::read(rest)?;
            out.push(t);
            rest = r;
        }
        Ok(out)
    }

    /// An OBJECT IDENTIFIER's dotted form.
    pub fn oid(&self) -> Result<String, DerError> {
        if self.tag != OID || self.body.is_empty() {
            return Err(DerError::Tag {
                expected: "an OBJECT IDENTIFIER",
                found: self.tag,
            });
        }
        let mut parts = vec![(self.body[0] / 40) as u64, (self.body[0] % 40) as u64];
        let mut v = 0u64;
        for b in &self.body[1..] {
            v = (v << 7) | (b & 0x7f) as u64;
            if b & 0x80 == 0 {
                parts.push(v);
                v = 0;
            }
        }
        Ok(parts.iter().map(u64::to_string).collect::<Vec<_>>().join("."))
    }
}

/// Element `i` of `items`, or an error naming what was expected there.
pub fn nth<'a>(items: &[Tlv<'a>], i: usize, what: &'static str) -> Result<Tlv<'a>, DerError> {
    items.get(i).copied().ok_or(DerError::Missing(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths_and_oids() {
        // SEQUENCE { OID 1.3.6.1.4.1.311.2.1.4, OCTET STRING of 200 bytes }
        let mut body = vec![
            0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x04, 0x04, 0x81, 200,
        ];
        body.extend([7u8; 200]);
        let mut seq = vec![0x30, 0x81, body.len() as u8];
        seq.extend(&body);
        let t = Tlv::expect(&seq, SEQUENCE, "a SEQUENCE").unwrap();
        let c = t.children().unwrap();
        assert_eq!(c[0].oid().unwrap(), "1.3.6.1.4.1.311.2.1.4");
        assert_eq!(c[1].body.len(), 200);
        assert!(Tlv::read(&seq[..seq.len() - 1]).is_err(), "truncated");
    }
}
