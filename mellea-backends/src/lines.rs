//! Framing of streamed bodies: Server-Sent Events (OpenAI) and newline-delimited JSON (Ollama).
//!
//! Bytes arrive in network-sized pieces that cut lines anywhere; both decoders buffer until a
//! frame is complete. Lines are split on `\n` bytes, which never occur inside a multi-byte
//! UTF-8 character, so each line decodes on its own.

/// How a body is cut into frames.
pub(crate) trait Framing: Send + 'static {
    /// Adds received bytes.
    fn push(&mut self, bytes: &[u8]);
    /// The next complete frame, or `None` until more bytes arrive. `Err` describes bytes that
    /// are not text.
    fn next_frame(&mut self) -> Option<Result<String, String>>;
    /// Whether bytes of an unfinished frame are buffered (at the end of a body: a cut frame).
    fn has_partial(&self) -> bool;
}

/// Splits bytes into lines terminated by `\n` (a preceding `\r` is dropped).
#[derive(Debug, Default)]
pub(crate) struct LineBuffer {
    buffer: Vec<u8>,
    /// Bytes before this offset hold no `\n` (skips rescanning on every push).
    scanned: usize,
}

impl LineBuffer {
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete line, without its terminator.
    pub(crate) fn next_line(&mut self) -> Option<Result<String, String>> {
        let newline = self.buffer[self.scanned..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|at| self.scanned + at);
        let Some(newline) = newline else {
            self.scanned = self.buffer.len();
            return None;
        };
        let mut line: Vec<u8> = self.buffer.drain(..=newline).collect();
        self.scanned = 0;
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(String::from_utf8(line).map_err(|e| format!("a line is not UTF-8 ({e})")))
    }

    pub(crate) fn has_partial(&self) -> bool {
        !self.buffer.is_empty()
    }
}

/// Newline-delimited JSON: one frame per non-blank line.
#[derive(Debug, Default)]
pub(crate) struct NdJson {
    lines: LineBuffer,
}

impl Framing for NdJson {
    fn push(&mut self, bytes: &[u8]) {
        self.lines.push(bytes);
    }

    fn next_frame(&mut self) -> Option<Result<String, String>> {
        loop {
            match self.lines.next_line()? {
                Ok(line) if line.trim().is_empty() => continue,
                other => return Some(other),
            }
        }
    }

    fn has_partial(&self) -> bool {
        self.lines.has_partial()
    }
}

/// Server-Sent Events: one frame per event, its `data:` lines joined by `\n`. Comments
/// (`:`-lines) and the `event`, `id` and `retry` fields are skipped; an event ends at a blank
/// line, as the HTML standard's event-stream format says.
#[derive(Debug, Default)]
pub(crate) struct Sse {
    lines: LineBuffer,
    data: Option<String>,
}

impl Framing for Sse {
    fn push(&mut self, bytes: &[u8]) {
        self.lines.push(bytes);
    }

    fn next_frame(&mut self) -> Option<Result<String, String>> {
        loop {
            let line = match self.lines.next_line()? {
                Ok(line) => line,
                Err(error) => return Some(Err(error)),
            };
            if line.is_empty() {
                if let Some(data) = self.data.take() {
                    return Some(Ok(data));
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((&line, ""));
            if field != "data" {
                continue;
            }
            let value = value.strip_prefix(' ').unwrap_or(value);
            match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            }
        }
    }

    fn has_partial(&self) -> bool {
        self.data.is_some() || self.lines.has_partial()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(framing: &mut impl Framing) -> Vec<String> {
        std::iter::from_fn(|| framing.next_frame())
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn sse_events_cut_at_every_byte_come_out_whole() {
        let body = "data: {\"a\":1}\n\n: keep-alive\n\nevent: message\ndata: {\"b\":\ndata: 2}\r\n\r\ndata: [DONE]\n\n";
        for cut in 0..body.len() {
            let mut sse = Sse::default();
            sse.push(&body.as_bytes()[..cut]);
            let mut got = frames(&mut sse);
            sse.push(&body.as_bytes()[cut..]);
            got.extend(frames(&mut sse));
            assert_eq!(got, ["{\"a\":1}", "{\"b\":\n2}", "[DONE]"], "cut at {cut}");
            assert!(!sse.has_partial());
        }
    }

    #[test]
    fn sse_reports_an_unfinished_event_as_partial() {
        let mut sse = Sse::default();
        sse.push(b"data: {\"a\":");
        assert_eq!(sse.next_frame(), None);
        assert!(sse.has_partial());
        let mut sse = Sse::default();
        sse.push(b"data: {\"a\":1}\n");
        assert_eq!(sse.next_frame(), None, "no blank line yet");
        assert!(sse.has_partial());
    }

    #[test]
    fn ndjson_skips_blank_lines_and_splits_multibyte_text_safely() {
        let body = "{\"t\":\"héllo ✓\"}\n\n{\"t\":\"b\"}\r\n".as_bytes();
        for cut in 0..body.len() {
            let mut nd = NdJson::default();
            nd.push(&body[..cut]);
            let mut got = frames(&mut nd);
            nd.push(&body[cut..]);
            got.extend(frames(&mut nd));
            assert_eq!(
                got,
                ["{\"t\":\"héllo ✓\"}", "{\"t\":\"b\"}"],
                "cut at {cut}"
            );
            assert!(!nd.has_partial());
        }
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_panic() {
        let mut nd = NdJson::default();
        nd.push(b"\xff\xfe\n");
        assert!(nd.next_frame().unwrap().is_err());
    }
}
