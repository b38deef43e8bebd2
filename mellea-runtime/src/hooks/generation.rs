//! Generation hooks: chat path, batch path and streaming events (reference §3.4).

use std::sync::Arc;
use std::time::Duration;

use super::{ErrorInfo, Format, JsonMap, ModelOptions, Object, Prompt, patch, payload};
use crate::tools::ToolCall;

/// Token counts of one generation (or the aggregate of one batch).
///
/// Cache and reasoning counts are *included* in the input / output totals, as in the GenAI
/// semantic conventions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: Option<u64>,
    /// Completion tokens.
    pub output_tokens: Option<u64>,
    /// Total tokens as reported by the provider.
    pub total_tokens: Option<u64>,
    /// Prompt tokens served from the provider's cache.
    pub cache_read_input_tokens: Option<u64>,
    /// Prompt tokens written to the provider's cache.
    pub cache_creation_input_tokens: Option<u64>,
    /// Completion tokens spent on reasoning.
    pub reasoning_tokens: Option<u64>,
}

impl Usage {
    /// Input, output and total counts.
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Self {
            input_tokens: Some(input_tokens),
            output_tokens: Some(output_tokens),
            total_tokens: Some(input_tokens + output_tokens),
            ..Self::default()
        }
    }

    /// Sets the cache-read count.
    #[must_use]
    pub fn with_cache_read_input_tokens(mut self, tokens: u64) -> Self {
        self.cache_read_input_tokens = Some(tokens);
        self
    }

    /// Sets the cache-creation count.
    #[must_use]
    pub fn with_cache_creation_input_tokens(mut self, tokens: u64) -> Self {
        self.cache_creation_input_tokens = Some(tokens);
        self
    }

    /// Sets the reasoning count.
    #[must_use]
    pub fn with_reasoning_tokens(mut self, tokens: u64) -> Self {
        self.reasoning_tokens = Some(tokens);
        self
    }

    /// Sets the total count.
    #[must_use]
    pub fn with_total_tokens(mut self, tokens: u64) -> Self {
        self.total_tokens = Some(tokens);
        self
    }
}

/// Field-wise sum (the usage of a whole batch); a field is `Some` when either side has it.
///
/// ```
/// use mellea_runtime::hooks::Usage;
/// let total = Usage::new(10, 5) + Usage::new(1, 2).with_reasoning_tokens(2);
/// assert_eq!(total.input_tokens, Some(11));
/// assert_eq!(total.reasoning_tokens, Some(2));
/// assert_eq!(total.cache_read_input_tokens, None);
/// ```
impl std::ops::Add for Usage {
    type Output = Usage;

    fn add(self, other: Usage) -> Usage {
        fn sum(a: Option<u64>, b: Option<u64>) -> Option<u64> {
            match (a, b) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
            }
        }
        Usage {
            input_tokens: sum(self.input_tokens, other.input_tokens),
            output_tokens: sum(self.output_tokens, other.output_tokens),
            total_tokens: sum(self.total_tokens, other.total_tokens),
            cache_read_input_tokens: sum(
                self.cache_read_input_tokens,
                other.cache_read_input_tokens,
            ),
            cache_creation_input_tokens: sum(
                self.cache_creation_input_tokens,
                other.cache_creation_input_tokens,
            ),
            reasoning_tokens: sum(self.reasoning_tokens, other.reasoning_tokens),
        }
    }
}

/// How a backend's output reads to hooks: usage, response metadata, timing and text.
///
/// Backends implement it for the `Ok` type of their `#[generation_hook]` methods; every method
/// has a default, so an output type only reports what it knows.
///
/// ```
/// use mellea_runtime::hooks::{GenerationOutput, Usage};
/// struct Reply { text: String, usage: Usage }
/// impl GenerationOutput for Reply {
///     fn usage(&self) -> Option<Usage> { Some(self.usage) }
///     fn text(&self) -> Option<&str> { Some(&self.text) }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not say what the generation produced",
    label = "the `Ok` type of a `#[generation_hook(chat)]` method must implement `mellea::hooks::GenerationOutput`",
    note = "implement `mellea::hooks::GenerationOutput` for `{Self}` (every method has a default: report what you know, e.g. `usage` and `text`)"
)]
pub trait GenerationOutput {
    /// Token counts.
    fn usage(&self) -> Option<Usage> {
        None
    }
    /// Model that answered, as the provider names it.
    fn response_model(&self) -> Option<&str> {
        None
    }
    /// Provider-assigned response id (not the Mellea `generation_id`).
    fn response_id(&self) -> Option<&str> {
        None
    }
    /// Why generation stopped, one entry per choice (`"stop"`, `"length"`, ...).
    fn finish_reasons(&self) -> Vec<String> {
        Vec::new()
    }
    /// Time from the request to the first streamed chunk.
    fn time_to_first_chunk(&self) -> Option<Duration> {
        None
    }
    /// The generated text, for content capture.
    fn text(&self) -> Option<&str> {
        None
    }
    /// The tool calls the model asked for (read only when a hook listens).
    fn tool_calls(&self) -> Vec<ToolCall> {
        Vec::new()
    }
}

impl<T: GenerationOutput + ?Sized> GenerationOutput for &T {
    fn usage(&self) -> Option<Usage> {
        (**self).usage()
    }
    fn response_model(&self) -> Option<&str> {
        (**self).response_model()
    }
    fn response_id(&self) -> Option<&str> {
        (**self).response_id()
    }
    fn finish_reasons(&self) -> Vec<String> {
        (**self).finish_reasons()
    }
    fn time_to_first_chunk(&self) -> Option<Duration> {
        (**self).time_to_first_chunk()
    }
    fn text(&self) -> Option<&str> {
        (**self).text()
    }
    fn tool_calls(&self) -> Vec<ToolCall> {
        (**self).tool_calls()
    }
}

/// A snapshot of a [`GenerationOutput`], carried by post-call payloads.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct OutputView {
    /// Token counts.
    pub usage: Option<Usage>,
    /// Model that answered. Shared: one thread's recent views of the same model hold one copy
    /// of its name (see [`OutputView::of`]).
    pub response_model: Option<Arc<str>>,
    /// Provider-assigned response id.
    pub response_id: Option<String>,
    /// Why generation stopped.
    pub finish_reasons: Vec<String>,
    /// Time to the first streamed chunk.
    pub time_to_first_chunk: Option<Duration>,
    /// The generated text.
    pub text: Option<String>,
    /// The tool calls the model asked for (of a stream: its pieces put back together).
    pub tool_calls: Vec<ToolCall>,
}

impl OutputView {
    /// Reads every field of `output`. The response model's name is shared with this thread's
    /// recent views and spans that name the same model, so it is not copied per generation.
    pub fn of<O: GenerationOutput + ?Sized>(output: &O) -> Self {
        Self {
            usage: output.usage(),
            response_model: output.response_model().map(crate::recent_texts::shared),
            response_id: output.response_id().map(str::to_owned),
            finish_reasons: output.finish_reasons(),
            time_to_first_chunk: output.time_to_first_chunk(),
            text: output.text().map(str::to_owned),
            tool_calls: output.tool_calls(),
        }
    }
}

impl GenerationOutput for OutputView {
    fn usage(&self) -> Option<Usage> {
        self.usage
    }
    fn response_model(&self) -> Option<&str> {
        self.response_model.as_deref()
    }
    fn response_id(&self) -> Option<&str> {
        self.response_id.as_deref()
    }
    fn finish_reasons(&self) -> Vec<String> {
        self.finish_reasons.clone()
    }
    fn time_to_first_chunk(&self) -> Option<Duration> {
        self.time_to_first_chunk
    }
    fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }
    fn tool_calls(&self) -> Vec<ToolCall> {
        self.tool_calls.clone()
    }
}

payload! {
    /// `generation_pre_call`: a chat generation is about to call the backend.
    pub struct GenerationPreCallPayload {
        /// The action being generated for.
        pub action: Option<Object> = None,
        /// The conversation context.
        pub context: Option<Object> = None,
        /// Model options. Writable.
        pub model_options: ModelOptions = ModelOptions::new(),
        /// Requested structured output format. Writable.
        pub format: Option<Format> = None,
        /// Whether tool calls are enabled. Writable.
        pub tool_calls: bool = false,
        /// The prompt, when the backend exposes it.
        pub prompt: Option<Prompt> = None,
        /// Whether the call streams its output (beyond the reference, which reads
        /// `model_options["stream"]`; either one marks a streaming call).
        pub stream: bool = false,
    }
}

impl GenerationPreCallPayload {
    /// The text of every prompt message, one per line (empty when the backend exposes no
    /// prompt). Reads both the GenAI message shape (`{"role", "parts": [{"content"}]}`) and
    /// plain strings.
    ///
    /// ```
    /// use mellea_runtime::hooks::GenerationPreCallPayload;
    /// let mut payload = GenerationPreCallPayload::default();
    /// payload.prompt = Some(serde_json::json!([
    ///     {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
    ///     {"role": "user", "parts": [{"type": "text", "content": "Hello"}]},
    /// ]).into());
    /// assert_eq!(payload.prompt_text(), "Be brief.\nHello");
    /// ```
    pub fn prompt_text(&self) -> String {
        self.prompt.as_ref().map(Prompt::text).unwrap_or_default()
    }
}

patch! {
    /// Writable fields of `generation_pre_call`.
    ///
    /// ```
    /// use mellea_runtime::hooks::{GenerationPreCallPatch, ModelOptions};
    /// let mut options = ModelOptions::new();
    /// options.insert("temperature".into(), 0.0.into());
    /// let patch = GenerationPreCallPatch::new().with_model_options(options).with_tool_calls(false);
    /// assert!(!patch.is_empty());
    /// ```
    pub struct GenerationPreCallPatch for GenerationPreCallPayload {
        /// New model options.
        model_options: ModelOptions, with with_model_options,
        /// New format (`None` clears it).
        format: Option<Format>, with with_format,
        /// Enables or disables tool calls.
        tool_calls: bool, with with_tool_calls,
    }
}

payload! {
    /// `generation_post_call`: a chat generation finished successfully.
    pub struct GenerationPostCallPayload {
        /// The prompt, when the backend exposes it.
        pub prompt: Option<Prompt> = None,
        /// What the backend returned, as hooks read it.
        pub model_output: Option<OutputView> = None,
        /// Wall time from pre-call to the end of the output, in milliseconds.
        pub latency_ms: f64 = 0.0,
    }
}

payload! {
    /// `generation_error`: a chat generation failed, was cancelled or panicked.
    pub struct GenerationErrorPayload {
        /// What went wrong.
        pub exception: ErrorInfo = ErrorInfo::new("_OTHER", "", ""),
        /// Partial output, when the error came mid-stream.
        pub model_output: Option<OutputView> = None,
        /// Wall time until the failure, in milliseconds.
        pub latency_ms: f64 = 0.0,
    }
}

payload! {
    /// `generation_event`: something happened inside a running generation (`chunk_processed`).
    pub struct GenerationEventPayload {
        /// Event name, e.g. `"chunk_processed"`.
        pub event_name: String = String::new(),
        /// Event data, e.g. `chunk_index`, `chunk_text_length`, `time_since_last_chunk_ms`.
        pub data: JsonMap = JsonMap::new(),
    }
}

payload! {
    /// `generation_batch_pre_call`: a batch (raw) generation is about to call the backend.
    pub struct GenerationBatchPreCallPayload {
        /// The actions of the batch.
        pub actions: Vec<Object> = Vec::new(),
        /// Model options. Writable.
        pub model_options: ModelOptions = ModelOptions::new(),
        /// Requested structured output format. Writable.
        pub format: Option<Format> = None,
        /// Whether tool calls are enabled. Writable.
        pub tool_calls: bool = false,
        /// Number of actions.
        pub num_actions: u64 = 0,
    }
}

patch! {
    /// Writable fields of `generation_batch_pre_call`.
    pub struct GenerationBatchPreCallPatch for GenerationBatchPreCallPayload {
        /// New model options.
        model_options: ModelOptions, with with_model_options,
        /// New format (`None` clears it).
        format: Option<Format>, with with_format,
        /// Enables or disables tool calls.
        tool_calls: bool, with with_tool_calls,
    }
}

payload! {
    /// `generation_batch_post_call`: a batch generation finished successfully.
    pub struct GenerationBatchPostCallPayload {
        /// One view per output.
        pub model_outputs: Vec<OutputView> = Vec::new(),
        /// Aggregate usage of the whole batch.
        pub usage: Option<Usage> = None,
        /// Wall time of the batch in milliseconds.
        pub latency_ms: f64 = 0.0,
    }
}

payload! {
    /// `generation_batch_error`: a batch generation failed, was cancelled or panicked.
    pub struct GenerationBatchErrorPayload {
        /// What went wrong.
        pub exception: ErrorInfo = ErrorInfo::new("_OTHER", "", ""),
        /// Wall time until the failure, in milliseconds.
        pub latency_ms: f64 = 0.0,
    }
}
