//! What a generation is asked to do: the request types `#[generation_hook]` methods take.
//!
//! The first parameter after the receiver of a `#[generation_hook(chat)]` or
//! `#[generation_hook(stream)]` method implements [`ChatRequest`]; of a
//! `#[generation_hook(batch)]` method, [`BatchRequest`]. Pre-call hooks read the request and
//! may patch its writable fields (`model_options`, `format`, `tool_calls`) before the body
//! runs. Most backends use the ready-made [`GenerationRequest`] / [`BatchGenerationRequest`].

use serde_json::Value;

use crate::hooks::{Format, Message, Messages, ModelOptions, Object, Prompt, model_option};
use crate::tools::ToolDefinition;

/// Whether `model_options` asks for a streamed answer.
pub(crate) fn stream_requested(model_options: &ModelOptions) -> bool {
    model_options
        .get(model_option::STREAM)
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The request of a chat (or streaming) generation, as pre-call hooks see and patch it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a chat request",
    label = "the first parameter after `self` of a `#[generation_hook(chat)]` or `#[generation_hook(stream)]` method must implement `mellea::generation::ChatRequest`",
    note = "use `mellea::generation::GenerationRequest`, or implement `ChatRequest` for `{Self}`"
)]
pub trait ChatRequest: Send {
    /// The action being generated for.
    fn action(&self) -> Option<Object> {
        None
    }
    /// The conversation context.
    fn context(&self) -> Option<Object> {
        None
    }
    /// Provider options of the call.
    fn model_options(&self) -> &ModelOptions;
    /// Requested structured output format.
    fn format(&self) -> Option<&Format> {
        None
    }
    /// Whether tool calls are enabled.
    fn tool_calls(&self) -> bool {
        false
    }
    /// Whether the answer is streamed (by default: `model_options["stream"]`).
    fn stream(&self) -> bool {
        stream_requested(self.model_options())
    }
    /// The prompt, for hooks and content capture; asked for only when a hook listens.
    fn prompt(&self) -> Option<Prompt> {
        None
    }
    /// Takes the writable fields back after pre-call hooks ran (patched or not).
    fn apply_patch(
        &mut self,
        model_options: ModelOptions,
        format: Option<Format>,
        tool_calls: bool,
    );

    /// Lends the model options to the pre-call payload, which hands them back through
    /// [`apply_patch`](Self::apply_patch). The default copies them; requests that own their
    /// options move them out instead.
    fn lend_model_options(&mut self) -> ModelOptions {
        self.model_options().clone()
    }
}

/// The request of a batch generation, as pre-call hooks see and patch it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a batch request",
    label = "the first parameter after `self` of a `#[generation_hook(batch)]` method must implement `mellea::generation::BatchRequest`",
    note = "use `mellea::generation::BatchGenerationRequest`, or implement `BatchRequest` for `{Self}`"
)]
pub trait BatchRequest: Send {
    /// The actions of the batch.
    fn actions(&self) -> Vec<Object> {
        Vec::new()
    }
    /// Number of outputs the batch asks for.
    fn num_actions(&self) -> usize;
    /// Provider options of the call.
    fn model_options(&self) -> &ModelOptions;
    /// Requested structured output format.
    fn format(&self) -> Option<&Format> {
        None
    }
    /// Whether tool calls are enabled.
    fn tool_calls(&self) -> bool {
        false
    }
    /// Takes the writable fields back after pre-call hooks ran (patched or not).
    fn apply_patch(
        &mut self,
        model_options: ModelOptions,
        format: Option<Format>,
        tool_calls: bool,
    );
}

/// Forwards the request traits through `&mut`, so a method may take `&mut Request`.
impl<R: ChatRequest + ?Sized> ChatRequest for &mut R {
    fn action(&self) -> Option<Object> {
        (**self).action()
    }
    fn context(&self) -> Option<Object> {
        (**self).context()
    }
    fn model_options(&self) -> &ModelOptions {
        (**self).model_options()
    }
    fn format(&self) -> Option<&Format> {
        (**self).format()
    }
    fn tool_calls(&self) -> bool {
        (**self).tool_calls()
    }
    fn stream(&self) -> bool {
        (**self).stream()
    }
    fn prompt(&self) -> Option<Prompt> {
        (**self).prompt()
    }
    fn apply_patch(
        &mut self,
        model_options: ModelOptions,
        format: Option<Format>,
        tool_calls: bool,
    ) {
        (**self).apply_patch(model_options, format, tool_calls)
    }
    fn lend_model_options(&mut self) -> ModelOptions {
        (**self).lend_model_options()
    }
}

impl<R: BatchRequest + ?Sized> BatchRequest for &mut R {
    fn actions(&self) -> Vec<Object> {
        (**self).actions()
    }
    fn num_actions(&self) -> usize {
        (**self).num_actions()
    }
    fn model_options(&self) -> &ModelOptions {
        (**self).model_options()
    }
    fn format(&self) -> Option<&Format> {
        (**self).format()
    }
    fn tool_calls(&self) -> bool {
        (**self).tool_calls()
    }
    fn apply_patch(
        &mut self,
        model_options: ModelOptions,
        format: Option<Format>,
        tool_calls: bool,
    ) {
        (**self).apply_patch(model_options, format, tool_calls)
    }
}

/// A ready-made chat request: messages plus the writable fields.
///
/// ```
/// use mellea_runtime::generation::{GenerationRequest, Message};
/// let request = GenerationRequest::new([Message::user("Hello")])
///     .with_option("temperature", 0.2)
///     .with_stream(true);
/// assert!(request.stream());
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct GenerationRequest {
    /// The prompt. Shared with the hooks that read it, not copied: see [`Messages`].
    pub messages: Messages,
    /// The action being generated for.
    pub action: Option<Object>,
    /// The conversation context.
    pub context: Option<Object>,
    /// Provider options (`temperature`, `max_tokens`, `stream`, ...). Writable by pre-call hooks.
    pub model_options: ModelOptions,
    /// Requested structured output format. Writable by pre-call hooks.
    pub format: Option<Format>,
    /// Whether tool calls are enabled. Writable by pre-call hooks.
    pub tool_calls: bool,
    /// Tools offered to the model; sent only while [`tool_calls`](Self::tool_calls) is on, so
    /// a pre-call hook that turns tool calls off withdraws them.
    pub tools: Vec<ToolDefinition>,
}

impl GenerationRequest {
    /// A request for `messages` with no options.
    pub fn new(messages: impl IntoIterator<Item = Message>) -> Self {
        Self {
            messages: messages.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Sets one model option.
    #[must_use]
    pub fn with_option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.model_options.insert(key.into(), value.into());
        self
    }

    /// Asks for (or against) a streamed answer.
    #[must_use]
    pub fn with_stream(self, stream: bool) -> Self {
        self.with_option(model_option::STREAM, stream)
    }

    /// Sets the structured output format.
    #[must_use]
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// Enables or disables tool calls.
    #[must_use]
    pub fn with_tool_calls(mut self, enabled: bool) -> Self {
        self.tool_calls = enabled;
        self
    }

    /// Offers `tools` to the model and enables tool calls.
    ///
    /// ```
    /// use mellea_runtime::generation::{GenerationRequest, Message};
    /// use mellea_runtime::tools::ToolDefinition;
    /// let tool = ToolDefinition::new("now", "The time.", serde_json::json!({"type": "object"}));
    /// let request = GenerationRequest::new([Message::user("Time?")]).with_tools([tool]);
    /// assert!(request.tool_calls && request.tools.len() == 1);
    /// ```
    #[must_use]
    pub fn with_tools(mut self, tools: impl IntoIterator<Item = ToolDefinition>) -> Self {
        self.tools.extend(tools);
        self.tool_calls = true;
        self
    }

    /// Sets the action.
    #[must_use]
    pub fn with_action(mut self, action: Object) -> Self {
        self.action = Some(action);
        self
    }

    /// Sets the context.
    #[must_use]
    pub fn with_context(mut self, context: Object) -> Self {
        self.context = Some(context);
        self
    }

    /// Whether the answer is streamed.
    pub fn stream(&self) -> bool {
        stream_requested(&self.model_options)
    }
}

impl ChatRequest for GenerationRequest {
    fn action(&self) -> Option<Object> {
        self.action.clone()
    }
    fn context(&self) -> Option<Object> {
        self.context.clone()
    }
    fn model_options(&self) -> &ModelOptions {
        &self.model_options
    }
    fn format(&self) -> Option<&Format> {
        self.format.as_ref()
    }
    fn tool_calls(&self) -> bool {
        self.tool_calls
    }
    fn prompt(&self) -> Option<Prompt> {
        Some(Prompt::Messages(self.messages.clone()))
    }
    fn apply_patch(
        &mut self,
        model_options: ModelOptions,
        format: Option<Format>,
        tool_calls: bool,
    ) {
        self.model_options = model_options;
        self.format = format;
        self.tool_calls = tool_calls;
    }
    fn lend_model_options(&mut self) -> ModelOptions {
        std::mem::take(&mut self.model_options)
    }
}

/// A ready-made batch request: several prompts answered in one call.
///
/// ```
/// use mellea_runtime::generation::BatchGenerationRequest;
/// let request = BatchGenerationRequest::new(["1 + 1 =", "2 + 2 ="]);
/// assert_eq!(request.prompts.len(), 2);
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct BatchGenerationRequest {
    /// One prompt per output.
    pub prompts: Vec<String>,
    /// The actions the prompts were rendered from, when there are any.
    pub actions: Vec<Object>,
    /// Provider options. Writable by pre-call hooks.
    pub model_options: ModelOptions,
    /// Requested structured output format. Writable by pre-call hooks.
    pub format: Option<Format>,
    /// Whether tool calls are enabled. Writable by pre-call hooks.
    pub tool_calls: bool,
}

impl BatchGenerationRequest {
    /// A batch of `prompts` with no options.
    pub fn new<S: Into<String>>(prompts: impl IntoIterator<Item = S>) -> Self {
        Self {
            prompts: prompts.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Sets one model option.
    #[must_use]
    pub fn with_option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.model_options.insert(key.into(), value.into());
        self
    }

    /// Sets the actions.
    #[must_use]
    pub fn with_actions(mut self, actions: impl IntoIterator<Item = Object>) -> Self {
        self.actions = actions.into_iter().collect();
        self
    }
}

impl BatchRequest for BatchGenerationRequest {
    fn actions(&self) -> Vec<Object> {
        self.actions.clone()
    }
    fn num_actions(&self) -> usize {
        self.prompts.len().max(self.actions.len())
    }
    fn model_options(&self) -> &ModelOptions {
        &self.model_options
    }
    fn format(&self) -> Option<&Format> {
        self.format.as_ref()
    }
    fn tool_calls(&self) -> bool {
        self.tool_calls
    }
    fn apply_patch(
        &mut self,
        model_options: ModelOptions,
        format: Option<Format>,
        tool_calls: bool,
    ) {
        self.model_options = model_options;
        self.format = format;
        self.tool_calls = tool_calls;
    }
}
