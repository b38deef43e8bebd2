//! How generation results read to hooks: batch outputs and streamed chunks.
//!
//! A chat method's `Ok` type implements [`GenerationOutput`]; a batch method's implements
//! [`BatchOutput`]; a streaming method returns a [`ChunkStream`] of [`StreamChunk`]s.

use std::pin::Pin;
use std::time::Duration;

use futures_util::Stream;

use crate::hooks::{GenerationOutput, OutputView, Usage};
use crate::tools::{ToolCallAssembler, ToolCallChunk};

/// The outputs of one batch call, as `generation_batch_post_call` hooks read them.
///
/// Implemented for `Vec<O>` of any [`GenerationOutput`] (usage is the sum of the outputs');
/// implement it for your own type when the provider reports one aggregate usage.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a batch output",
    label = "the `Ok` type of a `#[generation_hook(batch)]` method must implement `mellea::generation::BatchOutput`",
    note = "return a `Vec` of a type implementing `GenerationOutput`, or implement `BatchOutput` for `{Self}`"
)]
pub trait BatchOutput {
    /// One view per output, in request order.
    fn output_views(&self) -> Vec<OutputView>;
    /// Aggregate usage of the whole call.
    fn total_usage(&self) -> Option<Usage>;
}

impl<O: GenerationOutput> BatchOutput for Vec<O> {
    fn output_views(&self) -> Vec<OutputView> {
        self.iter().map(OutputView::of).collect()
    }
    fn total_usage(&self) -> Option<Usage> {
        self.iter()
            .filter_map(GenerationOutput::usage)
            .reduce(|total, usage| total + usage)
    }
}

impl GenerationOutput for String {
    fn text(&self) -> Option<&str> {
        Some(self)
    }
}

/// One piece of a streamed answer.
///
/// Every method has a default, so a chunk type only reports what it carries; providers
/// usually send usage, finish reason and response metadata on some chunks only, and the
/// generation keeps the latest value of each.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a stream chunk",
    label = "items of the stream a `#[generation_hook(stream)]` method returns must be `Result<C, E>` with `C: mellea::generation::StreamChunk`",
    note = "implement `mellea::generation::StreamChunk` for `{Self}`"
)]
pub trait StreamChunk {
    /// Text this chunk adds to the answer.
    fn text(&self) -> Option<&str> {
        None
    }
    /// Usage so far, when the provider reports it on this chunk.
    fn usage(&self) -> Option<Usage> {
        None
    }
    /// Model that answers.
    fn response_model(&self) -> Option<&str> {
        None
    }
    /// Provider-assigned response id.
    fn response_id(&self) -> Option<&str> {
        None
    }
    /// Why generation stopped, on the last chunk.
    fn finish_reason(&self) -> Option<&str> {
        None
    }
    /// Pieces of tool calls this chunk carries; the generation puts them back together into
    /// the output view's `tool_calls`.
    fn tool_call_chunks(&self) -> Vec<ToolCallChunk<'_>> {
        Vec::new()
    }
}

impl StreamChunk for String {
    fn text(&self) -> Option<&str> {
        Some(self)
    }
}

/// The stream a `#[generation_hook(stream)]` method returns: chunks or errors.
pub type ChunkStream<'a, C, E> = Pin<Box<dyn Stream<Item = Result<C, E>> + Send + 'a>>;

/// What a stream has produced so far, folded into the view post-call hooks read.
#[derive(Debug, Default)]
pub(crate) struct StreamAccumulator {
    view: OutputView,
    chunks: u64,
    tool_calls: ToolCallAssembler,
}

impl StreamAccumulator {
    /// Folds one chunk in; returns the number of text bytes it added. `since_start` is read
    /// only for the first chunk (the clock is not read per chunk).
    pub(crate) fn add<C: StreamChunk + ?Sized>(
        &mut self,
        chunk: &C,
        since_start: impl FnOnce() -> Duration,
    ) -> usize {
        if self.chunks == 0 {
            self.view.time_to_first_chunk = Some(since_start());
        }
        self.chunks += 1;
        let added = chunk.text().map_or(0, str::len);
        if let Some(text) = chunk.text() {
            self.view
                .text
                .get_or_insert_with(String::new)
                .push_str(text);
        }
        if let Some(usage) = chunk.usage() {
            self.view.usage = Some(usage);
        }
        // Providers repeat the model and the response id on every chunk: copied once.
        if let Some(model) = chunk.response_model()
            && self.view.response_model.as_deref() != Some(model)
        {
            self.view.response_model = Some(crate::recent_texts::shared(model));
        }
        if let Some(id) = chunk.response_id()
            && self.view.response_id.as_deref() != Some(id)
        {
            self.view.response_id = Some(id.to_owned());
        }
        if let Some(reason) = chunk.finish_reason() {
            self.view.finish_reasons = vec![reason.to_owned()];
        }
        for piece in chunk.tool_call_chunks() {
            self.tool_calls.add(piece);
        }
        added
    }

    /// Chunks folded in so far.
    pub(crate) fn chunks(&self) -> u64 {
        self.chunks
    }

    /// The view of everything so far.
    pub(crate) fn view(&self) -> OutputView {
        let mut view = self.view.clone();
        if !self.tool_calls.is_empty() {
            view.tool_calls = self.tool_calls.calls();
        }
        view
    }
}
