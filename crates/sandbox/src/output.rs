//! Turning a child's raw output bytes into text, binary-safely and within a byte budget.
//!
//! Processes print anything: invalid UTF-8, a multi-byte character split across two reads,
//! gigabytes. [`Utf8Carry`] decodes chunk by chunk, keeping an incomplete trailing sequence for
//! the next read and showing invalid bytes as `\xNN`; [`Budget`] counts what was kept and what
//! was cut so the caller can say how much is missing.

/// Incremental UTF-8 decoder for one stream.
#[derive(Debug, Default)]
pub struct Utf8Carry {
    carry: Vec<u8>,
}

impl Utf8Carry {
    /// Decodes `bytes` after whatever was carried over; an incomplete final sequence is kept.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(bytes);
        let mut out = String::with_capacity(data.len());
        let mut rest: &[u8] = &data;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    // The prefix was just validated, so this cannot fail.
                    out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        Some(n) => {
                            escape_into(&mut out, &after[..n]);
                            rest = &after[n..];
                        }
                        None => {
                            self.carry = after.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        out
    }

    /// Flushes a dangling incomplete sequence (at end of stream) as escapes.
    pub fn finish(&mut self) -> String {
        let mut out = String::new();
        escape_into(&mut out, &std::mem::take(&mut self.carry));
        out
    }
}

fn escape_into(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push_str(&format!("\\x{b:02x}"));
    }
}

/// How many output bytes may still be kept, and how many were cut.
#[derive(Debug, Clone)]
pub struct Budget {
    remaining: usize,
    cut: u64,
}

impl Budget {
    pub fn new(limit: usize) -> Self {
        Self {
            remaining: limit,
            cut: 0,
        }
    }

    /// The part of `bytes` that fits; the rest is counted as cut.
    pub fn take<'a>(&mut self, bytes: &'a [u8]) -> &'a [u8] {
        let keep = bytes.len().min(self.remaining);
        self.remaining -= keep;
        self.cut += (bytes.len() - keep) as u64;
        &bytes[..keep]
    }

    /// Bytes dropped so far.
    pub fn cut(&self) -> u64 {
        self.cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_multibyte_character_is_carried() {
        let mut d = Utf8Carry::default();
        let euro = "€".as_bytes();
        assert_eq!(d.push(&euro[..1]), "");
        assert_eq!(d.push(&euro[1..]), "€");
        assert_eq!(d.finish(), "");
    }

    #[test]
    fn invalid_bytes_are_escaped() {
        let mut d = Utf8Carry::default();
        assert_eq!(d.push(b"a\xffb\xfe"), "a\\xffb\\xfe");
        assert_eq!(d.push(b"\xe2\x82"), "");
        assert_eq!(d.finish(), "\\xe2\\x82");
    }

    #[test]
    fn budget_counts_what_it_cuts() {
        let mut b = Budget::new(5);
        assert_eq!(b.take(b"abc"), b"abc");
        assert_eq!(b.take(b"defg"), b"de");
        assert_eq!(b.take(b"xyz"), b"");
        assert_eq!(b.cut(), 5);
    }
}
