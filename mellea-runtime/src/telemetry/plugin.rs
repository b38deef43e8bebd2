//! `BackendTracingPlugin`: one OpenTelemetry GenAI span per generation, held from pre-call to
//! post-call / error.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use opentelemetry::trace::{Span as _, SpanBuilder, SpanKind, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use serde_json::Value as Json;

use super::attributes::{
    self, DEFAULT_CONTENT_VALUE_LIMIT, context_size, count, push_model_option_attributes,
    response_attribute_slots, usage_attribute_slots,
};
use super::generation_spans::{GENERATION_SPANS, mark};
use super::{backend_tracer, semconv};
use crate::hooks::{
    ErrorInfo, Format, GenerationEventPayload, ModelOptions, Object, OutputView, Prompt, Usage,
};
use crate::plugin::HookContext;

/// Attributes a span gets at creation in the common case (operation, provider, model,
/// server address and port, stream, tool calls, component type, context size, conversation
/// id, a few sampling parameters).
const START_ATTRIBUTES: usize = 16;
/// Attributes a successful chat span gets at its end (response model, id, finish reasons,
/// time to first chunk, six usage counters) and the backend's count of HTTP attempts.
const END_ATTRIBUTES: usize = 11;

mod backend_values;
mod hooks;
mod span_slot;

use span_slot::OpenSpan;
pub(crate) use span_slot::{SpanSlot, record_failure};

/// Distinguishes plugin instances, so two tracing plugins that both see one generation (say a
/// process-wide one and a session-scoped one) each find their own span.
static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

/// Emits one OpenTelemetry GenAI span per generation of every `#[backend]`.
///
/// - **Name** `"{gen_ai.operation.name} {model}"` (`chat …` for chat and streamed
///   generations, `text_completion …` for batches), the bare operation when the model is
///   unknown. **Kind** CLIENT for remote backends, INTERNAL for in-process ones.
/// - **Parent**: the caller's current span when the generation began (its first poll). The
///   span is put in the context the backend's body runs under, so spans created inside the
///   body — on its task or in tasks spawned with [`propagate`](super::propagate) — are its
///   children, while sequential generations stay siblings.
/// - **Attributes** (see [`semconv`]): at creation the operation, provider, request model,
///   stream flag, output type and format, tool calls, component type, number of actions,
///   context size, conversation id, sampling parameters and server address; at the end the
///   usage counters and response model, id, finish reasons and time to first chunk. Prompts and
///   completions only with content capture on, each cut to
///   [`with_content_limit`](Self::with_content_limit) characters.
/// - **Status** stays unset on success; a failure (also a cancelled or panicking generation)
///   records an `exception` event, status ERROR and `error.type`. The status description and
///   `exception.message` are the error's content-free
///   [`description`](crate::hooks::ErrorInfo::description) — never the request or a server's
///   words — unless content capture is on, which records the error's full message.
///
/// Its open span lives in a typed slot of the generation (no search by id), so it is dropped
/// with the generation and cannot leak; [`open_spans`](Self::open_spans) counts spans started and not yet ended.
/// Should a generation end without its end hook reaching this plugin (the plugin was
/// unregistered meanwhile), its span is ended with `error.type = "abandoned"` when the
/// generation's state is dropped.
///
/// All handlers are SEQUENTIAL with priority [`PRIORITY`](Self::PRIORITY) (1040): after user
/// plugins, so the span records the final patched request, and before metrics plugins.
///
/// ```
/// use mellea_runtime::plugin::PluginRegistry;
/// use mellea_runtime::telemetry::BackendTracingPlugin;
/// use opentelemetry_sdk::trace::SdkTracerProvider;
///
/// let provider = SdkTracerProvider::builder().build();
/// let registry = PluginRegistry::new();
/// let plugin = BackendTracingPlugin::from_provider(&provider);
/// let _registration = registry.register(plugin).unwrap();
/// assert!(registry.handler_names().contains(&"backend_tracing.generation_pre_call".to_owned()));
/// ```
pub struct BackendTracingPlugin {
    name: String,
    instance: u64,
    tracer: SdkTracer,
    capture_content: bool,
    content_limit: usize,
    open: Arc<AtomicUsize>,
}

impl fmt::Debug for BackendTracingPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendTracingPlugin")
            .field("name", &self.name)
            .field("capture_content", &self.capture_content)
            .field("content_limit", &self.content_limit)
            .field("open_spans", &self.open_spans())
            .finish()
    }
}

impl BackendTracingPlugin {
    /// The plugin's registry name unless renamed with [`with_name`](Self::with_name).
    pub const NAME: &'static str = "backend_tracing";

    /// Priority of every handler: after user plugins (default 50), before metrics (1050+).
    pub const PRIORITY: i32 = 1040;

    /// A plugin creating its spans with `tracer`; content capture off.
    pub fn new(tracer: SdkTracer) -> Self {
        Self {
            name: Self::NAME.to_owned(),
            instance: NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed),
            tracer,
            capture_content: false,
            content_limit: DEFAULT_CONTENT_VALUE_LIMIT,
            open: Arc::default(),
        }
    }

    /// A plugin creating its spans with `provider`'s `mellea.backend` tracer.
    pub fn from_provider(provider: &SdkTracerProvider) -> Self {
        Self::new(backend_tracer(provider))
    }

    /// Renames the plugin; registries need unique names (e.g. one plugin per session).
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Records `gen_ai.input.messages` and `gen_ai.output.messages` (may contain PII).
    #[must_use]
    pub fn with_content_capture(mut self, capture: bool) -> Self {
        self.capture_content = capture;
        self
    }

    /// The longest captured prompt or completion attribute, in characters; longer ones are cut
    /// and end in [`TRUNCATION_MARKER`](super::attributes::TRUNCATION_MARKER). Defaults to
    /// [`DEFAULT_CONTENT_VALUE_LIMIT`](super::attributes::DEFAULT_CONTENT_VALUE_LIMIT);
    /// [`TracingConfig`](super::TracingConfig) reads
    /// `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT` / `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`.
    #[must_use]
    pub fn with_content_limit(mut self, limit: usize) -> Self {
        self.content_limit = limit;
        self
    }

    /// The longest captured content attribute, in characters.
    pub fn content_limit(&self) -> usize {
        self.content_limit
    }

    /// Whether prompts and completions are recorded.
    pub fn captures_content(&self) -> bool {
        self.capture_content
    }

    /// Spans this plugin started and has not ended yet.
    pub fn open_spans(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    fn start(&self, ctx: &HookContext, request: Start<'_>) {
        let Some(generation) = ctx.generation() else {
            tracing::debug!(
                "backend_tracing: a pre-call dispatch without a generation scope is not traced"
            );
            return;
        };
        let backend = generation.shared_backend();
        let (name, values) = backend_values::span_values(backend, request.operation);

        // The SDK keeps this vector as the span's attributes: sized for what a span usually
        // gets at creation and at its end, it never regrows and the end needs no vector of
        // its own.
        let mut attributes = Vec::with_capacity(START_ATTRIBUTES + END_ATTRIBUTES);
        if let Some(provider) = values.provider {
            attributes.push(KeyValue::new(semconv::GEN_AI_PROVIDER_NAME, provider));
        }
        if let Some(model) = values.model {
            attributes.push(KeyValue::new(semconv::GEN_AI_REQUEST_MODEL, model));
        }
        attributes.push(KeyValue::new(
            semconv::GEN_AI_OPERATION_NAME,
            request.operation,
        ));
        if let Some(address) = values.server_address {
            attributes.push(KeyValue::new(semconv::SERVER_ADDRESS, address));
        }
        if let Some(port) = backend.server_port {
            attributes.push(KeyValue::new(semconv::SERVER_PORT, i64::from(port)));
        }
        if request.stream {
            attributes.push(KeyValue::new(semconv::GEN_AI_REQUEST_STREAM, true));
        }
        if let Some(format) = request.format {
            attributes.push(KeyValue::new(
                semconv::GEN_AI_OUTPUT_TYPE,
                semconv::OUTPUT_TYPE_JSON,
            ));
            attributes.push(KeyValue::new(
                semconv::MELLEA_REQUEST_FORMAT_TYPE,
                format.name.clone(),
            ));
        }
        attributes.push(KeyValue::new(
            semconv::MELLEA_ACTION_TOOL_CALLS,
            request.tool_calls,
        ));
        if let Some(action) = request.action {
            attributes.push(KeyValue::new(
                semconv::MELLEA_COMPONENT_TYPE,
                action.type_name(),
            ));
        }
        if let Some(num_actions) = request.num_actions {
            attributes.push(KeyValue::new(
                semconv::MELLEA_REQUEST_NUM_ACTIONS,
                count(num_actions),
            ));
        }
        if let Some(context) = request.context
            && let Some(size) = context_size(context)
        {
            attributes.push(KeyValue::new(semconv::MELLEA_REQUEST_CONTEXT_SIZE, size));
        }
        if let Some(session) = generation.shared_session_id().filter(|s| !s.is_empty()) {
            attributes.push(KeyValue::new(
                semconv::GEN_AI_CONVERSATION_ID,
                Arc::clone(session),
            ));
        }
        push_model_option_attributes(&mut attributes, request.model_options);
        if self.capture_content
            && let Some(messages) = request.prompt.and_then(attributes::input_messages)
        {
            attributes.push(KeyValue::new(
                semconv::GEN_AI_INPUT_MESSAGES,
                attributes::truncate_content(messages, self.content_limit),
            ));
        }

        let parent = generation.body_context();
        let builder = SpanBuilder::from_name(name)
            .with_kind(if backend.remote {
                SpanKind::Client
            } else {
                SpanKind::Internal
            })
            .with_attributes(attributes);
        let span = self.tracer.build_with_context(builder, &parent);
        let span_id = span.span_context().span_id();
        // So that the backend's body can find its generation's span (`with_generation_span`)
        // and tell it from spans it did not open.
        let (cx, registered) = mark(&GENERATION_SPANS, parent.with_span(span), span_id);
        // The body of the generation runs under this context.
        generation.set_body_context(cx.clone());
        self.open.fetch_add(1, Ordering::Relaxed);
        generation.spans.put(OpenSpan {
            instance: self.instance,
            cx,
            registered,
            open: self.open.clone(),
            ended: false,
        });
    }

    /// Takes this plugin's open span out of the generation's slot.
    fn take(&self, ctx: &HookContext) -> Option<OpenSpan> {
        ctx.generation()?.spans.take(self.instance)
    }

    /// The context holding this plugin's open span, without ending it.
    fn peek(&self, ctx: &HookContext) -> Option<Context> {
        ctx.generation()?.spans.peek(self.instance)
    }

    fn succeed(&self, ctx: &HookContext, output: Success<'_>) {
        let Some(open) = self.take(ctx) else {
            return;
        };
        {
            let span = open.cx.span();
            match output {
                Success::Chat(Some(view)) => {
                    // Straight into the span's own attributes, which have room for them.
                    span.set_attributes(
                        response_attribute_slots(view)
                            .into_iter()
                            .chain(usage_attribute_slots(view.usage.as_ref()))
                            .flatten(),
                    );
                    if self.capture_content
                        && let Some(messages) = attributes::output_messages(view)
                    {
                        span.set_attribute(KeyValue::new(
                            semconv::GEN_AI_OUTPUT_MESSAGES,
                            attributes::truncate_content(messages, self.content_limit),
                        ));
                    }
                }
                Success::Chat(None) => {}
                Success::Batch(usage) => {
                    span.set_attributes(usage_attribute_slots(usage).into_iter().flatten());
                }
            }
        }
        open.end();
    }

    fn fail(&self, ctx: &HookContext, error: &ErrorInfo) {
        let Some(open) = self.take(ctx) else {
            return;
        };
        record_failure(&open.cx, error, self.capture_content);
        open.end();
    }

    fn event(&self, ctx: &HookContext, payload: &GenerationEventPayload) {
        if payload.event_name != semconv::CHUNK_PROCESSED_EVENT {
            return;
        }
        let Some(cx) = self.peek(ctx) else {
            return;
        };
        let data = &payload.data;
        let mut attributes = Vec::with_capacity(3);
        if let Some(index) = data.get("chunk_index").and_then(Json::as_i64) {
            attributes.push(KeyValue::new(semconv::MELLEA_GENERATION_CHUNK_INDEX, index));
        }
        if let Some(length) = data.get("chunk_text_length").and_then(Json::as_i64) {
            attributes.push(KeyValue::new(
                semconv::MELLEA_GENERATION_CHUNK_TEXT_LENGTH,
                length,
            ));
        }
        if let Some(ms) = data.get("time_since_last_chunk_ms").and_then(Json::as_f64) {
            attributes.push(KeyValue::new(
                semconv::MELLEA_GENERATION_TIME_SINCE_LAST_CHUNK_MS,
                ms,
            ));
        }
        cx.span()
            .add_event(semconv::CHUNK_PROCESSED_EVENT, attributes);
    }
}

/// What pre-call tells the span about the request.
struct Start<'a> {
    operation: &'static str,
    stream: bool,
    format: Option<&'a Format>,
    tool_calls: bool,
    action: Option<&'a Object>,
    /// `Some(context)` for chat (whose context size is recorded), `None` for batches.
    context: Option<Option<&'a Object>>,
    num_actions: Option<u64>,
    model_options: &'a ModelOptions,
    prompt: Option<&'a Prompt>,
}

/// What the end of a successful generation tells the span.
enum Success<'a> {
    Chat(Option<&'a OutputView>),
    Batch(Option<&'a Usage>),
}
