//! The `ar` container of a .deb, in the common format dpkg-deb writes.

use std::io::Write;

pub struct ArWriter<W: Write> {
    out: W,
}

impl<W: Write> ArWriter<W> {
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(b"!<arch>\n")?;
        Ok(ArWriter { out })
    }

    pub fn append(&mut self, name: &str, mtime: u64, data: &[u8]) -> std::io::Result<()> {
        assert!(
            name.len() <= 16 && name.is_ascii() && !name.contains(' '),
            "ar member name {name:?}"
        );
        let header = format!("{name:<16}{mtime:<12}{:<6}{:<6}{:<8o}{:<10}`\n", 0, 0, 0o100644, data.len());
        debug_assert_eq!(header.len(), 60);
        self.out.write_all(header.as_bytes())?;
        self.out.write_all(data)?;
        if data.len() % 2 == 1 {
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    pub fn finish(self) -> W {
        self.out
    }
}
