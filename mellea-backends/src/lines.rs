//! Framing of streamed bodies: Server-Sent Events (OpenAI) and newline-delimited JSON (Ollama).
//!
//! Bytes arrive in network-sized pieces that cut lines anywhere; both decoders buffer until a
//! frame is complete. Lines are split on `\n` bytes, which never occur inside a multi-byte
//! UTF-8 character, so each line decodes on its own.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, LinesCodec, LinesCodecError};

/// Why bytes could not be cut into a frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// A frame (or the line it is building) grew past the cap.
    TooLarge,
    /// A line is not UTF-8; the message names where, not what.
    NotText(String),
}

/// How a body is cut into frames.
pub(crate) trait Framing: Send + 'static {
    /// Adds received bytes.
    fn push(&mut self, bytes: &[u8]);
    /// The next complete frame, or `None` until more bytes arrive.
    fn next_frame(&mut self) -> Option<Result<String, FrameError>>;
    /// Whether bytes of an unfinished frame are buffered (at the end of a body: a cut frame).
    fn has_partial(&self) -> bool;
    /// What a frame is, for messages (`"an SSE event"`).
    fn frame_name(&self) -> &'static str;
}

/// Splits bytes into lines terminated by `\n` (a preceding `\r` is dropped), refusing lines
/// longer than `max` bytes: the buffer never holds more than `max` plus one network read.
#[derive(Debug)]
pub(crate) struct LineBuffer {
    buffer: Vec<u8>,
    /// Bytes before this offset hold no `\n` (skips rescanning on every push).
    scanned: usize,
    max: usize,
}

impl LineBuffer {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            buffer: Vec::new(),
            scanned: 0,
            max,
        }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete line, without its terminator.
    pub(crate) fn next_line(&mut self) -> Option<Result<String, FrameError>> {
        let newline = self.buffer[self.scanned..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|at| self.scanned + at);
        let Some(newline) = newline else {
            if self.buffer.len() > self.max {
                return Some(Err(FrameError::TooLarge));
            }
            self.scanned = self.buffer.len();
            return None;
        };
        if newline > self.max {
            return Some(Err(FrameError::TooLarge));
        }
        let mut line: Vec<u8> = self.buffer.drain(..=newline).collect();
        self.scanned = 0;
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(
            String::from_utf8(line)
                .map_err(|e| FrameError::NotText(format!("a line is not UTF-8 ({e})"))),
        )
    }

    pub(crate) fn has_partial(&self) -> bool {
        !self.buffer.is_empty()
    }
}

/// Newline-delimited JSON: one frame per non-blank line, cut by tokio-util's `LinesCodec`
/// with its line-length cap.
#[derive(Debug)]
pub(crate) struct NdJson {
    buffer: BytesMut,
    codec: LinesCodec,
}

impl NdJson {
    /// Lines of at most `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            buffer: BytesMut::new(),
            codec: LinesCodec::new_with_max_length(max),
        }
    }
}

impl Framing for NdJson {
    fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    fn next_frame(&mut self) -> Option<Result<String, FrameError>> {
        loop {
            match self.codec.decode(&mut self.buffer) {
                Ok(Some(line)) if line.trim().is_empty() => continue,
                Ok(Some(line)) => return Some(Ok(line)),
                Ok(None) => return None,
                Err(LinesCodecError::MaxLineLengthExceeded) => {
                    return Some(Err(FrameError::TooLarge));
                }
                Err(LinesCodecError::Io(error)) => {
                    return Some(Err(FrameError::NotText(format!(
                        "a line is not UTF-8 ({error})"
                    ))));
                }
            }
        }
    }

    fn has_partial(&self) -> bool {
        !self.buffer.is_empty()
    }

    fn frame_name(&self) -> &'static str {
        "an NDJSON line"
    }
}

/// Server-Sent Events: one frame per event, its `data:` lines joined by `\n`. Comments
/// (`:`-lines) and the `event`, `id` and `retry` fields are skipped; an event ends at a blank
/// line, as the HTML standard's event-stream format says. Lines and events are capped at
/// `max` bytes.
#[derive(Debug)]
pub(crate) struct Sse {
    lines: LineBuffer,
    data: Option<String>,
    max: usize,
}

impl Sse {
    /// Events (and lines) of at most `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            lines: LineBuffer::new(max),
            data: None,
            max,
        }
    }
}

impl Framing for Sse {
    fn push(&mut self, bytes: &[u8]) {
        self.lines.push(bytes);
    }

    fn next_frame(&mut self) -> Option<Result<String, FrameError>> {
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
                    if data.len() + 1 + value.len() > self.max {
                        return Some(Err(FrameError::TooLarge));
                    }
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

    fn frame_name(&self) -> &'static str {
        "an SSE event"
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
            let mut sse = Sse::new(1024);
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
        let mut sse = Sse::new(1024);
        sse.push(b"data: {\"a\":");
        assert_eq!(sse.next_frame(), None);
        assert!(sse.has_partial());
        let mut sse = Sse::new(1024);
        sse.push(b"data: {\"a\":1}\n");
        assert_eq!(sse.next_frame(), None, "no blank line yet");
        assert!(sse.has_partial());
    }

    #[test]
    fn ndjson_skips_blank_lines_and_splits_multibyte_text_safely() {
        let body = "{\"t\":\"héllo ✓\"}\n\n{\"t\":\"b\"}\r\n".as_bytes();
        for cut in 0..body.len() {
            let mut nd = NdJson::new(1024);
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
    fn an_endless_line_is_refused_once_it_passes_the_cap_and_the_buffer_stays_bounded() {
        fn refused_after(framing: &mut impl Framing, piece: &[u8]) -> usize {
            for pushed in 1..100 {
                framing.push(piece);
                match framing.next_frame() {
                    None => {}
                    Some(result) => {
                        assert_eq!(result, Err(FrameError::TooLarge));
                        return pushed * piece.len();
                    }
                }
            }
            panic!("never refused")
        }
        let piece = [b'a'; 30];
        let mut nd = NdJson::new(100);
        let held = refused_after(&mut nd, &piece);
        assert!(held <= 100 + piece.len(), "{held}");
        assert!(nd.buffer.len() <= 100 + piece.len());
        let mut sse = Sse::new(100);
        sse.push(b"data: ");
        let held = refused_after(&mut sse, &piece);
        assert!(held <= 100 + piece.len(), "{held}");
        assert!(sse.lines.buffer.len() <= 100 + piece.len() + 6);
    }

    #[test]
    fn an_sse_event_of_many_small_data_lines_is_capped_too() {
        let mut sse = Sse::new(100);
        for _ in 0..20 {
            sse.push(b"data: 0123456789\n");
        }
        assert_eq!(sse.next_frame(), Some(Err(FrameError::TooLarge)));
    }

    #[test]
    fn lines_up_to_the_cap_pass() {
        let line = format!("{{\"t\":\"{}\"}}\n", "x".repeat(90));
        let mut nd = NdJson::new(line.len() - 1);
        nd.push(line.as_bytes());
        assert_eq!(nd.next_frame().unwrap().unwrap().len(), line.len() - 1);
        // An SSE line carries its `data:` prefix too.
        let mut sse = Sse::new(line.len() + 4);
        sse.push(format!("data:{line}\n").as_bytes());
        assert!(sse.next_frame().unwrap().is_ok());
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_panic() {
        let mut nd = NdJson::new(1024);
        nd.push(b"\xff\xfe\n");
        assert!(nd.next_frame().unwrap().is_err());
    }
}
