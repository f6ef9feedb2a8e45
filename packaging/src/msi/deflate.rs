//! The raw deflate stream an MSZIP folder is cut from: zlib-rs at level 9
//! with a shorter search (why: the doc of `cab`). flate2, which runs the same
//! zlib-rs for the rest of omnipack, has no `deflateTune`; zlib-rs's own Rust
//! API keeps it internal; so this goes through zlib-rs's zlib C interface
//! (`libz-rs-sys`), the one unsafe module of the MSI writer.

use std::ffi::c_int;

use libz_rs_sys as z;

const LEVEL: c_int = 9;
/// Raw deflate (no zlib header), the 32 KiB window MSZIP allows.
const WINDOW_BITS: c_int = -15;
const MEM_LEVEL: c_int = 8;
/// `deflateTune`'s good_length, max_lazy, nice_length and max_chain. zlib-rs
/// keeps level 9's 3-byte rolling hash and match finder while max_chain is
/// over 1024; the shorter lazy and nice lengths take 12% off level 9's time
/// for 0.4% more bytes, still 0.4% under `gzip -6` on the bench's input.
const TUNE: [c_int; 4] = [4, 8, 32, 1025];

/// One deflate stream, fed block by block.
pub struct Deflater {
    /// Boxed: the stream's internal state points back at it, so it must not
    /// move while the state lives (until `Drop`).
    stream: Box<z::z_stream>,
}

impl Deflater {
    pub fn new() -> Deflater {
        let mut stream = Box::<z::z_stream>::default();
        let size = std::mem::size_of::<z::z_stream>() as c_int;
        // SAFETY: `stream` is a zeroed z_stream with zlib-rs's default
        // allocator, at a fixed address for its whole life; the version
        // string is the library's own.
        let init = unsafe { z::deflateInit2_(&mut *stream, LEVEL, z::Z_DEFLATED, WINDOW_BITS, MEM_LEVEL, z::Z_DEFAULT_STRATEGY, z::zlibVersion(), size) };
        assert_eq!(init, z::Z_OK, "deflateInit2 refused constant arguments");
        let [good, lazy, nice, chain] = TUNE;
        // SAFETY: initialised just above.
        let tune = unsafe { z::deflateTune(&mut *stream, good, lazy, nice, chain) };
        assert_eq!(tune, z::Z_OK, "deflateTune on a fresh stream");
        Deflater { stream }
    }

    /// Appends `input` deflated to `out`: ending in a sync flush (byte
    /// aligned, the window kept for the next block), or with `last`, in the
    /// stream's final block.
    pub fn block(&mut self, input: &[u8], out: &mut Vec<u8>, last: bool) {
        let flush = if last { z::Z_FINISH } else { z::Z_SYNC_FLUSH };
        let s = &mut *self.stream;
        s.next_in = input.as_ptr();
        s.avail_in = u32::try_from(input.len()).expect("a block is at most 32 KiB");
        loop {
            out.reserve(input.len() / 2 + 64);
            let spare = out.spare_capacity_mut();
            let room = spare.len().min(u32::MAX as usize);
            s.next_out = spare.as_mut_ptr().cast();
            s.avail_out = room as u32;
            // SAFETY: next_in/avail_in describe `input` and next_out/avail_out
            // `out`'s spare capacity, both alive and unaliased for the call.
            let rc = unsafe { z::deflate(s, flush) };
            let written = room - s.avail_out as usize;
            // SAFETY: deflate initialised the `written` bytes after the length.
            unsafe { out.set_len(out.len() + written) };
            assert!(matches!(rc, z::Z_OK | z::Z_STREAM_END | z::Z_BUF_ERROR), "deflate returned {rc}");
            // Done once all input is in and the flush did not fill the room.
            let flushed = if last { rc == z::Z_STREAM_END } else { s.avail_out > 0 };
            if s.avail_in == 0 && flushed {
                break;
            }
        }
        s.next_in = std::ptr::null();
        s.next_out = std::ptr::null_mut();
    }
}

impl Drop for Deflater {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`, ended once.
        unsafe { z::deflateEnd(&mut *self.stream) };
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn blocks_inflate_to_the_input_with_the_window_carried() {
        let text: Vec<u8> = (0..200_000u32).map(|i| b"outpost agent "[(i % 14) as usize] ^ (i / 5000) as u8).collect();
        let mut d = Deflater::new();
        let mut out = Vec::new();
        let blocks: Vec<&[u8]> = text.chunks(0x8000).collect();
        for (i, b) in blocks.iter().enumerate() {
            d.block(b, &mut out, i + 1 == blocks.len());
        }
        assert!(out.len() < text.len() / 10, "{} bytes: repeats were not found", out.len());
        let mut back = Vec::new();
        flate2::read::DeflateDecoder::new(&out[..]).read_to_end(&mut back).unwrap();
        assert_eq!(back, text);
    }
}
