//! Streamed generations: the generation ends when its stream does.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, ready};
use std::time::Instant;

use futures_util::Stream;
use opentelemetry::Context;
use serde_json::Value;

use super::output::StreamAccumulator;
use super::{ChunkStream, Generation, StreamChunk};
use crate::hooks::{ErrorInfo, HookType, JsonMap};
use crate::plugin::has_listeners;

/// Environment variable that turns on one `generation_event` (`chunk_processed`) per chunk.
pub const CHUNK_EVENTS_ENV: &str = "MELLEA_GENERATION_CHUNK_EVENTS";

/// Whether `value` of [`CHUNK_EVENTS_ENV`] turns chunk events on: `1`, `true` or `yes` in any
/// case, surrounding whitespace ignored; anything else (including unset) is off.
pub fn chunk_events_flag(value: Option<&str>) -> bool {
    crate::env::truthy(value)
}

impl Generation {
    /// Hands a streamed answer to the generation, which then ends when the stream does:
    /// post-call after the last chunk (with time to first chunk), error when the stream yields
    /// an error (the stream ends after it), cancelled when the stream is dropped early.
    ///
    /// Each poll of the inner stream runs under the context a plugin gave the generation (the
    /// tracing plugin: its span), if one did. With
    /// `MELLEA_GENERATION_CHUNK_EVENTS` truthy and a `generation_event` listener, every chunk
    /// fires a `chunk_processed` event before it is yielded.
    pub fn into_stream<'a, C, CE, D>(
        self,
        stream: ChunkStream<'a, C, CE>,
        describe: D,
    ) -> ChunkStream<'a, C, CE>
    where
        C: StreamChunk + Send + 'a,
        CE: Send + 'a,
        D: FnMut(&CE) -> ErrorInfo + Send + 'a,
    {
        // Read once per process (see `reread_env_flags`), not on every streamed call.
        let chunk_events =
            has_listeners(HookType::GenerationEvent) && crate::env::CHUNK_EVENTS.get();
        Box::pin(InstrumentedStream {
            cx: self.replaced_body_context(),
            started: self.started().unwrap_or_else(Instant::now),
            generation: self,
            inner: stream,
            describe,
            accumulated: StreamAccumulator::default(),
            last_chunk: None,
            chunk_events,
            held: None,
            ended: false,
        })
    }
}

/// A stream whose end ends its generation.
struct InstrumentedStream<S: Stream, D> {
    inner: S,
    generation: Generation,
    describe: D,
    /// The context a plugin gave the generation, attached for each poll of `inner`; `None`:
    /// nothing replaced the caller's, which each poll already runs under.
    cx: Option<Context>,
    accumulated: StreamAccumulator,
    started: Instant,
    last_chunk: Option<Instant>,
    chunk_events: bool,
    /// What to yield once the hook firing in progress has finished.
    held: Option<Option<S::Item>>,
    /// The inner stream ended or failed; the terminal hook has begun.
    ended: bool,
}

// Nothing is ever pinned through `InstrumentedStream` but `inner`, which is `Unpin` itself.
impl<S: Stream + Unpin, D> Unpin for InstrumentedStream<S, D> {}

impl<S, C, CE, D> Stream for InstrumentedStream<S, D>
where
    S: Stream<Item = Result<C, CE>> + Unpin,
    C: StreamChunk,
    D: FnMut(&CE) -> ErrorInfo,
{
    type Item = Result<C, CE>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            ready!(this.generation.poll_pending(cx));
            if let Some(item) = this.held.take() {
                return Poll::Ready(item);
            }
            if this.ended {
                return Poll::Ready(None);
            }
            let polled = {
                // Attached only for this synchronous poll, never across an await.
                let _attached = this.cx.clone().map(Context::attach);
                Pin::new(&mut this.inner).poll_next(cx)
            };
            match ready!(polled) {
                Some(Ok(chunk)) => {
                    let started = this.started;
                    if !this.chunk_events {
                        // The clock is read for the first chunk only (time to first chunk).
                        this.accumulated.add(&chunk, || started.elapsed());
                        return Poll::Ready(Some(Ok(chunk)));
                    }
                    let now = Instant::now();
                    let index = this.accumulated.chunks();
                    let added = this.accumulated.add(&chunk, || now - started);
                    let since_last = this.last_chunk.replace(now).map(|last| now - last);
                    let mut data = JsonMap::new();
                    data.insert("chunk_index".into(), index.into());
                    data.insert("chunk_text_length".into(), added.into());
                    data.insert(
                        "time_since_last_chunk_ms".into(),
                        since_last.map_or(Value::Null, |d| (d.as_secs_f64() * 1000.0).into()),
                    );
                    this.generation.fire_event("chunk_processed", data);
                    this.held = Some(Some(Ok(chunk)));
                }
                Some(Err(error)) => {
                    let info = (this.describe)(&error);
                    this.generation
                        .fire_failure(info, Some(this.accumulated.view()));
                    this.held = Some(Some(Err(error)));
                    this.ended = true;
                }
                None => {
                    this.generation.fire_success(this.accumulated.view());
                    this.ended = true;
                }
            }
        }
    }
}

impl<S: Stream, D> Drop for InstrumentedStream<S, D> {
    fn drop(&mut self) {
        if !self.ended {
            // Dropped before its end: the consumer stopped reading.
            self.generation
                .fire_failure(ErrorInfo::cancelled(), Some(self.accumulated.view()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::chunk_events_flag;

    #[test]
    fn chunk_events_flag_accepts_the_reference_truthy_values() {
        for on in ["1", "true", "TRUE", " yes ", "Yes"] {
            assert!(chunk_events_flag(Some(on)), "{on:?} should turn events on");
        }
        for off in [
            None,
            Some(""),
            Some("0"),
            Some("false"),
            Some("no"),
            Some("on"),
        ] {
            assert!(!chunk_events_flag(off), "{off:?} should leave events off");
        }
    }
}
