//! The streamed-body state machine: frames decoded, parsed into chunks, bounded and timed.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use super::deadline::{Deadline, within};
use super::errors::{ErrorMapper, excerpt, json_problem};
use crate::error::BackendError;
use crate::lines::{FrameError, Framing};

/// What one frame of a stream means.
pub(crate) enum Parsed<C> {
    /// A chunk to yield.
    Chunk(C),
    /// The last chunk: yield it and end.
    Last(C),
    /// The end marker.
    End,
    /// Nothing to yield (e.g. a keep-alive).
    Skip,
    /// The server's error object, in place of a chunk.
    Error(String),
}

/// A frame that is not a valid chunk.
pub(crate) struct BadFrame {
    /// What is wrong, without quoting the frame.
    pub(crate) detail: String,
    /// The parser's message and an excerpt of the frame.
    pub(crate) content: Option<String>,
}

impl BadFrame {
    /// `frame` failed to parse as JSON with `error`.
    pub(crate) fn json(error: &serde_json::Error, frame: &str) -> Self {
        Self {
            detail: json_problem(error),
            content: Some(format!("{error}: {}", excerpt(frame))),
        }
    }
}

/// Reads the frames of one provider's stream.
pub(crate) trait ChunkParser: Send + 'static {
    /// The chunks yielded.
    type Chunk: Send + 'static;
    /// Parses one frame; `chunks` is the number of chunks yielded before it.
    fn parse(&mut self, frame: &str, chunks: u64) -> Result<Parsed<Self::Chunk>, BadFrame>;
    /// Whether the frames so far make a whole answer even without the end marker.
    fn complete_without_end(&self) -> bool {
        false
    }
    /// The end marker, for the message when it is missing.
    fn end_marker(&self) -> &'static str;
}

pub(super) struct StreamState<S, F, P: ChunkParser> {
    pub(super) body: S,
    pub(super) framing: F,
    pub(super) parser: P,
    pub(super) ready: VecDeque<Result<P::Chunk, BackendError>>,
    pub(super) chunks: u64,
    pub(super) finished: bool,
    pub(super) deadline: Deadline,
    pub(super) idle: Option<Duration>,
    /// When the last data event (or the response head) arrived.
    pub(super) last_data: Instant,
    pub(super) max_frame: usize,
    pub(super) errors: ErrorMapper,
}

impl<S, B, F, P> StreamState<S, F, P>
where
    S: Stream<Item = reqwest::Result<B>> + Unpin + Send,
    B: AsRef<[u8]>,
    F: Framing,
    P: ChunkParser,
{
    pub(super) async fn step(mut self) -> Option<(Result<P::Chunk, BackendError>, Self)> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some((item, self));
            }
            if self.finished {
                return None;
            }
            self.decode_frames();
            if !self.ready.is_empty() || self.finished {
                continue;
            }
            let limit = self.deadline.with_idle(self.idle, self.last_data);
            match within(limit, self.body.next()).await {
                Ok(Some(Ok(bytes))) => self.framing.push(bytes.as_ref()),
                Ok(Some(Err(error))) => {
                    let stage = format!("after {} chunks of the stream", self.chunks);
                    self.fail(self.errors.failure(error, &stage));
                }
                Err(expired) => self.fail(self.errors.timeout(expired, Some(self.chunks))),
                Ok(None) => {
                    self.finished = true;
                    if self.framing.has_partial() || !self.parser.complete_without_end() {
                        let error = self.errors.malformed(
                            format!(
                                "the stream ended after {} chunks without its end marker ({}){}; it was cut short",
                                self.chunks,
                                self.parser.end_marker(),
                                if self.framing.has_partial() {
                                    " and in the middle of a frame"
                                } else {
                                    ""
                                },
                            ),
                            None,
                        );
                        return Some((Err(error), self));
                    }
                }
            }
        }
    }

    /// Moves every complete frame into `ready`, stopping at the end or an error.
    pub(super) fn decode_frames(&mut self) {
        while !self.finished {
            let frame = match self.framing.next_frame() {
                None => return,
                Some(Ok(frame)) => frame,
                Some(Err(FrameError::TooLarge)) => {
                    let error = BackendError::ResponseTooLarge {
                        endpoint: self.errors.endpoint.clone(),
                        what: self.framing.frame_name(),
                        limit: self.max_frame,
                        setting: "with_max_frame_bytes",
                    };
                    self.fail(error);
                    return;
                }
                Some(Err(FrameError::NotText(detail))) => {
                    let error = self.errors.malformed(
                        format!("frame {} of the stream: {detail}", self.chunks + 1),
                        None,
                    );
                    self.fail(error);
                    return;
                }
            };
            let parsed = self.parser.parse(&frame, self.chunks);
            if !matches!(parsed, Ok(Parsed::Skip)) {
                self.last_data = Instant::now();
            }
            match parsed {
                Ok(Parsed::Chunk(chunk)) => self.push(chunk),
                Ok(Parsed::Last(chunk)) => {
                    self.push(chunk);
                    self.finished = true;
                }
                Ok(Parsed::End) => self.finished = true,
                Ok(Parsed::Skip) => {}
                Ok(Parsed::Error(message)) => {
                    let error = BackendError::ErrorEvent {
                        endpoint: self.errors.endpoint.clone(),
                        chunks: self.chunks,
                        message,
                    };
                    self.fail(error);
                }
                Err(bad) => {
                    let error = self.errors.malformed(
                        format!(
                            "frame {} of the stream is not a valid chunk: it {}",
                            self.chunks + 1,
                            bad.detail
                        ),
                        bad.content,
                    );
                    self.fail(error);
                }
            }
        }
    }

    pub(super) fn push(&mut self, chunk: P::Chunk) {
        self.chunks += 1;
        self.ready.push_back(Ok(chunk));
    }

    pub(super) fn fail(&mut self, error: BackendError) {
        self.ready.push_back(Err(error));
        self.finished = true;
    }
}
