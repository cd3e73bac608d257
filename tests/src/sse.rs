//! An incremental Server-Sent Events parser (the WHATWG event-stream rules that matter for
//! model APIs): bytes in, complete events out, whatever the chunking of the bytes.
//!
//! Lines end in `\n`, `\r\n` or `\r`; a line starting with `:` is a comment; `field: value`
//! with one optional space after the colon; several `data` lines join with `\n`; an empty line
//! dispatches the event (nothing when it has no data). A UTF-8 BOM at the very start is skipped.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event` field (`None`: the default "message").
    pub event: Option<String>,
    pub data: String,
    pub id: Option<String>,
}

/// The parser's state between feeds.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous byte was `\r` (a following `\n` belongs to the same line end).
    after_cr: bool,
    started: bool,
    event: Option<String>,
    data: Option<String>,
    id: Option<String>,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns the events completed by them.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        let mut bytes = bytes;
        if !self.started && !bytes.is_empty() {
            // The BOM may itself arrive split; only handle the whole-prefix case and the
            // common byte-by-byte case through the line buffer below.
            self.started = true;
            if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
                bytes = rest;
            }
        }
        for &b in bytes {
            match b {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(event) = self.line_done(&line) {
                        out.push(event);
                    }
                }
                _ => {
                    self.after_cr = false;
                    self.line.push(b);
                }
            }
        }
        out
    }

    fn line_done(&mut self, line: &[u8]) -> Option<SseEvent> {
        if line.is_empty() {
            let data = self.data.take();
            let event = self.event.take();
            return data.map(|data| SseEvent {
                event,
                data,
                id: self.id.clone(),
            });
        }
        if line[0] == b':' {
            return None;
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "event" => self.event = Some(value.to_string()),
            "id" if !value.contains('\0') => self.id = Some(value.to_string()),
            _ => {}
        }
        None
    }

    /// Whether bytes of an unfinished event are buffered (a stream ending now was cut).
    pub fn has_partial(&self) -> bool {
        !self.line.is_empty() || self.data.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        chunks.iter().flat_map(|c| p.feed(c)).collect()
    }

    fn data(d: &str) -> SseEvent {
        SseEvent {
            data: d.into(),
            ..SseEvent::default()
        }
    }

    #[test]
    fn parses_openai_style_frames_across_any_split() {
        let text = b"data: {\"a\":1}\n\ndata: [DONE]\n\n";
        let expected = vec![data("{\"a\":1}"), data("[DONE]")];
        assert_eq!(all(&[text]), expected);
        for cut in 0..text.len() {
            assert_eq!(all(&[&text[..cut], &text[cut..]]), expected, "cut at {cut}");
        }
    }

    #[test]
    fn crlf_cr_comments_multiline_and_fields() {
        let got =
            all(&[b"\xEF\xBB\xBF: keep-alive\r\nevent: e\r\ndata: a\rdata:b\r\nid: 7\r\n\r\n"]);
        assert_eq!(
            got,
            vec![SseEvent {
                event: Some("e".into()),
                data: "a\nb".into(),
                id: Some("7".into()),
            }]
        );
        // No data, no event; a split CRLF is one line end.
        assert_eq!(all(&[b"event: x\r", b"\n\r\n"]), vec![]);
        let mut p = SseParser::new();
        assert!(p.feed(b"data: {\"cut").is_empty());
        assert!(p.has_partial());
    }
}
