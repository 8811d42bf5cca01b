//! Formatting into a caller's fixed buffer, truncating, never allocating.

use core::fmt;

/// A `fmt::Write` sink over a byte buffer that drops what does not fit.
pub(crate) struct BufWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> BufWriter<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        BufWriter { buf, len: 0 }
    }

    /// Bytes written so far (at most the buffer's length).
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl fmt::Write for BufWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let mut n = s.len().min(room);
        // Never cut a UTF-8 sequence in half.
        while n > 0 && !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn truncates_on_char_boundaries() {
        let mut buf = [0u8; 5];
        let mut w = BufWriter::new(&mut buf);
        let tail = "cdé";
        write!(w, "ab{tail}").unwrap();
        assert_eq!(w.len(), 4);
        assert_eq!(&buf[..4], b"abcd");
    }
}
