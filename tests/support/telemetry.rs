//! Shared by the telemetry tests: in-memory exporters, isolated installations, backends of
//! several kinds, and span lookups.
//!
//! Isolation: generations always dispatch to the process-wide registry, and the tests of one
//! binary run in parallel. Each test therefore installs tracing *for its own session*
//! (`TelemetryBuilder::for_session`), which registers a plugin named
//! `backend_tracing.session.{id}` that fires only for generations run under
//! `in_session(id, ...)`, and exports into the test's own `InMemorySpanExporter`. Handler-level
//! tests bypass generations entirely and dispatch payloads through a private `PluginRegistry`.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream;
use mellea::PluginViolation;
use mellea::generation::{
    BackendIdentity, BatchGenerationRequest, ChunkStream, GenerationInfo, GenerationKind,
    GenerationRequest, ServerAddress,
};
use mellea::hooks::{GenerationOutput, Usage};
use mellea::plugin::{BackendInfo, HookContext, PluginRegistry};
use mellea::telemetry::{BackendTracingPlugin, Telemetry, TelemetryBuilder};
use opentelemetry::Value;
use opentelemetry::trace::{SpanId, SpanKind, Status, Tracer as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracer, SdkTracerProvider, SpanData};

/// An installation for one session, exporting synchronously into memory.
pub struct Traced {
    pub session: String,
    pub exporter: InMemorySpanExporter,
    pub telemetry: Telemetry,
}

impl Traced {
    pub fn new(session: &str) -> Self {
        Self::with(session, |builder| builder)
    }

    pub fn with(
        session: &str,
        configure: impl FnOnce(TelemetryBuilder) -> TelemetryBuilder,
    ) -> Self {
        let exporter = InMemorySpanExporter::default();
        let telemetry = configure(
            TelemetryBuilder::new()
                .with_simple_exporter(exporter.clone())
                .for_session(session),
        )
        .install()
        .expect("session installation registers");
        Self {
            session: session.to_owned(),
            exporter,
            telemetry,
        }
    }

    pub fn spans(&self) -> Vec<SpanData> {
        self.exporter.get_finished_spans().unwrap()
    }

    pub fn plugin(&self) -> &BackendTracingPlugin {
        self.telemetry.backend_plugin().expect("enabled")
    }

    /// A tracer of this installation's provider, for the test's own spans.
    pub fn tracer(&self, name: &'static str) -> SdkTracer {
        use opentelemetry::trace::TracerProvider as _;
        self.telemetry.tracer_provider().unwrap().tracer(name)
    }

    /// Runs `future` as part of this test's session.
    pub async fn run<F: Future>(&self, future: F) -> F::Output {
        mellea::session::in_session(self.session.clone(), future).await
    }
}

/// A tracing plugin in a private registry, for handler-level tests with hand-built payloads.
pub struct Direct {
    pub exporter: InMemorySpanExporter,
    pub plugin: Arc<BackendTracingPlugin>,
    pub registry: PluginRegistry,
    _provider: SdkTracerProvider,
}

impl Direct {
    pub fn new() -> Self {
        Self::with_content(false)
    }

    pub fn with_content(capture: bool) -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let plugin =
            Arc::new(BackendTracingPlugin::from_provider(&provider).with_content_capture(capture));
        let registry = PluginRegistry::new();
        let _registration = registry.register(plugin.clone()).unwrap();
        Self {
            exporter,
            plugin,
            registry,
            _provider: provider,
        }
    }

    pub fn spans(&self) -> Vec<SpanData> {
        self.exporter.get_finished_spans().unwrap()
    }

    pub async fn dispatch<H: mellea::hooks::Hook>(&self, payload: H::Payload, call: &Call) {
        let _dispatched = self
            .registry
            .dispatch::<H>(payload, call.ctx())
            .await
            .expect("the tracing plugin never blocks");
    }
}

/// The per-generation part of a hand-driven dispatch: the generation whose hooks are fired,
/// with its backend and session.
pub struct Call {
    pub generation: Arc<GenerationInfo>,
    backend: BackendInfo,
    session: Option<String>,
}

impl Default for Call {
    fn default() -> Self {
        Self::new()
    }
}

impl Call {
    pub fn new() -> Self {
        Self::of(BackendInfo::default(), None)
    }

    fn of(backend: BackendInfo, session: Option<String>) -> Self {
        let mut generation = GenerationInfo::new(GenerationKind::Chat, backend.clone());
        if let Some(session) = &session {
            generation = generation.with_session_id(session.as_str());
        }
        Self {
            generation: Arc::new(generation),
            backend,
            session,
        }
    }

    pub fn backend(self, backend: BackendInfo) -> Self {
        Self::of(backend, self.session)
    }

    pub fn session(self, session: &str) -> Self {
        Self::of(self.backend, Some(session.to_owned()))
    }

    pub fn ctx(&self) -> HookContext {
        HookContext::new().with_generation(self.generation.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// Span lookups.

pub fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

pub fn str_attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a str> {
    match attr(span, key)? {
        Value::String(s) => Some(s.as_str()),
        other => panic!("{key} is not a string: {other:?}"),
    }
}

pub fn int_attr(span: &SpanData, key: &str) -> Option<i64> {
    match attr(span, key)? {
        Value::I64(i) => Some(*i),
        other => panic!("{key} is not an integer: {other:?}"),
    }
}

pub fn float_attr(span: &SpanData, key: &str) -> Option<f64> {
    match attr(span, key)? {
        Value::F64(f) => Some(*f),
        other => panic!("{key} is not a float: {other:?}"),
    }
}

pub fn bool_attr(span: &SpanData, key: &str) -> Option<bool> {
    match attr(span, key)? {
        Value::Bool(b) => Some(*b),
        other => panic!("{key} is not a bool: {other:?}"),
    }
}

pub fn string_array_attr(span: &SpanData, key: &str) -> Option<Vec<String>> {
    match attr(span, key)? {
        Value::Array(opentelemetry::Array::String(items)) => {
            Some(items.iter().map(|s| s.as_str().to_owned()).collect())
        }
        other => panic!("{key} is not a string array: {other:?}"),
    }
}

pub fn attr_keys(span: &SpanData) -> Vec<String> {
    let mut keys: Vec<String> = span
        .attributes
        .iter()
        .map(|kv| kv.key.to_string())
        .collect();
    keys.sort();
    keys
}

pub fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one span named {name:?}, got {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    found[0]
}

pub fn is_root(span: &SpanData) -> bool {
    span.parent_span_id == SpanId::INVALID
}

pub fn is_child_of(child: &SpanData, parent: &SpanData) -> bool {
    child.parent_span_id == parent.span_context.span_id()
        && child.span_context.trace_id() == parent.span_context.trace_id()
}

pub fn is_error(span: &SpanData) -> bool {
    matches!(span.status, Status::Error { .. })
}

pub fn error_description(span: &SpanData) -> String {
    match &span.status {
        Status::Error { description } => description.to_string(),
        other => panic!("span {:?} is not an error: {other:?}", span.name),
    }
}

pub fn exception_events(span: &SpanData) -> Vec<&opentelemetry::trace::Event> {
    span.events
        .iter()
        .filter(|e| e.name == "exception")
        .collect()
}

pub fn assert_kind(span: &SpanData, kind: SpanKind) {
    assert_eq!(span.span_kind, kind, "kind of {:?}", span.name);
}

/// Everything a span carries, as text: name, attributes, events, status.
pub fn everything_in(span: &SpanData) -> String {
    format!(
        "{} {:?} {:?} {:?} {:?}",
        span.name, span.attributes, span.events.events, span.status, span.links.links
    )
}

// ---------------------------------------------------------------------------------------------
// Backends.

#[derive(Debug)]
pub struct ModelError(pub String);

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ModelError {}

impl From<PluginViolation> for ModelError {
    fn from(v: PluginViolation) -> Self {
        ModelError(v.to_string())
    }
}

/// A reply with configurable metadata.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    pub text: String,
    pub usage: Option<Usage>,
    pub response_model: Option<String>,
    pub response_id: Option<String>,
    pub finish_reasons: Vec<String>,
}

impl GenerationOutput for Answer {
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
    fn text(&self) -> Option<&str> {
        Some(&self.text)
    }
}

/// An in-process model (`huggingface`, no server: spans of kind INTERNAL). Its body creates
/// spans with `tracer`, when given, on its own task and in a spawned task, and waits
/// `delay` if set.
pub struct LocalModel {
    pub model: String,
    pub tracer: Option<SdkTracer>,
    pub delay: Option<Duration>,
    pub answer: Answer,
}

impl LocalModel {
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_owned(),
            tracer: None,
            delay: None,
            answer: Answer {
                text: "local answer".into(),
                usage: Some(Usage::new(10, 5)),
                ..Answer::default()
            },
        }
    }
}

impl BackendIdentity for LocalModel {
    fn model_id(&self) -> &str {
        &self.model
    }
}

#[mellea::backend(provider = "huggingface")]
impl LocalModel {
    #[mellea::generation_hook(chat)]
    pub async fn generate(&self, _request: GenerationRequest) -> Result<Answer, ModelError> {
        if let Some(tracer) = &self.tracer {
            use opentelemetry::context::FutureExt as _;
            use opentelemetry::trace::Span as _;
            tracer.start("nested-caller-task").end();
            let background = tracer.clone();
            tokio::spawn(
                async move {
                    background.start("nested-background-task").end();
                }
                .with_current_context(),
            )
            .await
            .unwrap();
        }
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        Ok(self.answer.clone())
    }

    #[mellea::generation_hook(stream)]
    pub async fn generate_stream(
        &self,
        _request: GenerationRequest,
    ) -> Result<ChunkStream<'static, String, ModelError>, ModelError> {
        let delay = self.delay.unwrap_or_default();
        let chunks = ["1", " 2", " 3"].map(String::from);
        Ok(Box::pin(futures_util::StreamExt::then(
            stream::iter(chunks),
            move |chunk| async move {
                tokio::time::sleep(delay).await;
                Ok(chunk)
            },
        )))
    }
}

/// A remote batch backend declared as `watsonx`.
pub struct Watsonx {
    pub model: String,
}

impl BackendIdentity for Watsonx {
    fn model_id(&self) -> &str {
        &self.model
    }
    fn server(&self) -> Option<ServerAddress<'_>> {
        Some(ServerAddress {
            host: "us-south.ml.cloud.ibm.com",
            port: 443,
        })
    }
}

#[mellea::backend(provider = "watsonx")]
impl Watsonx {
    #[mellea::generation_hook(batch)]
    pub async fn generate_batch(
        &self,
        request: BatchGenerationRequest,
    ) -> Result<Vec<Answer>, ModelError> {
        if request.model_options.contains_key("fail") {
            return Err(ModelError("boom".into()));
        }
        Ok(request
            .prompts
            .iter()
            .map(|p| Answer {
                text: format!("{p}!"),
                usage: Some(Usage::new(10, 5)),
                ..Answer::default()
            })
            .collect())
    }
}

/// A remote chat backend that holds an API key in its configuration.
pub struct KeyedRemote {
    pub api_key: String,
    pub seen_prompts: Arc<Mutex<Vec<String>>>,
}

impl BackendIdentity for KeyedRemote {
    fn model_id(&self) -> &str {
        "gpt-4o"
    }
    fn server(&self) -> Option<ServerAddress<'_>> {
        Some(ServerAddress {
            host: "api.openai.com",
            port: 443,
        })
    }
}

#[mellea::backend(provider = "openai")]
impl KeyedRemote {
    #[mellea::generation_hook(chat)]
    pub async fn generate(&self, request: GenerationRequest) -> Result<Answer, ModelError> {
        // A real client would send the key in a header; it must never reach a span.
        let _authorization = format!("Bearer {}", self.api_key);
        let prompt = request
            .messages
            .iter()
            .map(|m| m.content.clone())
            .collect::<Vec<_>>()
            .join("\n");
        self.seen_prompts.lock().unwrap().push(prompt.clone());
        Ok(Answer {
            text: format!("I read {} characters", prompt.len()),
            usage: Some(Usage::new(7, 4)),
            response_model: Some("gpt-4o-2024-08-06".into()),
            response_id: Some("chatcmpl-abc123".into()),
            finish_reasons: vec!["stop".into()],
        })
    }
}
