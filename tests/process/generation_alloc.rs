//! The allocation budget of one instrumented generation, counted with a counting global
//! allocator (counts, not time): nothing with no listener, a bounded handful with one no-op
//! plugin, and with the tracing plugin a bounded handful over what the OpenTelemetry SDK
//! allocates for the same span written by hand.
//!
//! In the `process` binary, which runs its tests one at a time and counts allocations with
//! its global allocator; this file registers process-wide plugins, so its phases run in one
//! test, one after the other.

use crate::support::counting_alloc;

use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};

use counting_alloc::allocations;
use mellea::generation::{BackendIdentity, GenerationRequest, Message, ServerAddress};
use mellea::hooks::{
    GenerationOutput, GenerationPostCallPayload, GenerationPreCallPatch, GenerationPreCallPayload,
    Usage,
};
use mellea::{HookAction, HookContext, HookResult, PluginViolation};
use opentelemetry::trace::{SpanKind, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};

/// Allocations made on this thread while `f` runs, averaged over `runs` calls (after one call
/// to warm up lazily initialised statics).
pub(super) fn allocations_per_call(runs: u64, mut f: impl FnMut()) -> f64 {
    f();
    let before = allocations();
    for _ in 0..runs {
        f();
    }
    (allocations() - before) as f64 / runs as f64
}

/// Polls a future that finishes without waiting, without a runtime (one would allocate).
pub(super) fn poll_once<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut TaskContext::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the generation should finish without waiting"),
    }
}

#[derive(Debug)]
pub(super) struct TestError;

impl std::fmt::Display for TestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("alloc test error")
    }
}

impl std::error::Error for TestError {}

impl From<PluginViolation> for TestError {
    fn from(_: PluginViolation) -> Self {
        TestError
    }
}

struct Reply;

impl GenerationOutput for Reply {
    fn usage(&self) -> Option<Usage> {
        Some(Usage::new(12, 3))
    }
    fn response_model(&self) -> Option<&str> {
        Some("alloc-model-2026")
    }
}

struct Answers;

impl BackendIdentity for Answers {
    fn model_id(&self) -> &str {
        "alloc-model"
    }
    fn server(&self) -> Option<ServerAddress<'_>> {
        Some(ServerAddress {
            host: "llm.alloc",
            port: 8000,
        })
    }
}

impl Answers {
    async fn bare(&self, request: &GenerationRequest) -> Result<Reply, TestError> {
        std::hint::black_box(request);
        Ok(Reply)
    }
}

#[mellea::backend(provider = "alloc")]
impl Answers {
    #[mellea::generation_hook(chat)]
    async fn generate(&self, request: GenerationRequest) -> Result<Reply, TestError> {
        std::hint::black_box(&request);
        Ok(Reply)
    }
}

struct NoOp;

#[mellea::plugin(name = "alloc_noop")]
impl NoOp {
    #[hook("generation_pre_call")]
    async fn pre(
        &self,
        _p: &GenerationPreCallPayload,
        _c: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        Ok(HookAction::Continue)
    }

    #[hook("generation_post_call")]
    async fn post(&self, _p: &GenerationPostCallPayload, _c: &HookContext) -> HookResult {
        Ok(HookAction::Continue)
    }
}

#[derive(Debug)]
struct DropSpans;

impl SpanExporter for DropSpans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(batch);
        Ok(())
    }
}

/// The same span written by hand: what the OpenTelemetry SDK itself allocates for it.
fn hand_written_span(tracer: &opentelemetry_sdk::trace::SdkTracer, request: &GenerationRequest) {
    let parent = Context::current();
    let span = tracer
        .span_builder("chat alloc-model")
        .with_kind(SpanKind::Client)
        .with_attributes([
            KeyValue::new("gen_ai.operation.name", "chat"),
            KeyValue::new("gen_ai.provider.name", "alloc"),
            KeyValue::new("gen_ai.request.model", "alloc-model"),
            KeyValue::new("server.address", "llm.alloc"),
            KeyValue::new("server.port", 8000i64),
            KeyValue::new("mellea.action.tool_calls", false),
        ])
        .start_with_context(tracer, &parent);
    let cx = parent.with_span(span);
    let reply = poll_once(Answers.bare(request));
    let span = cx.span();
    if let Ok(reply) = &reply {
        let usage = reply.usage().unwrap_or_default();
        span.set_attributes([
            KeyValue::new("gen_ai.usage.input_tokens", 12i64),
            KeyValue::new("gen_ai.usage.output_tokens", 3i64),
            KeyValue::new(
                "mellea.usage.total_tokens",
                usage.total_tokens.unwrap_or(0) as i64,
            ),
            KeyValue::new("gen_ai.response.model", "alloc-model-2026"),
        ]);
    }
    span.end();
}

/// With one no-op plugin on pre- and post-call, a generation allocates at most this many
/// times more than the bare method: the target, met. The two: the boxed listened-to
/// future (so that the no-listener future stays the bare method's size) and the boxed terminal
/// firing (it must outlive a caller that drops the generation mid-hook). No longer allocated:
/// the prompt (shared with the request), the `GenerationInfo` (its allocation reused per
/// thread), the output view's response model (shared with recent views) and the handler
/// futures (stored inline in a `HandlerFuture`).
const NOOP_PLUGIN_BUDGET: f64 = 2.0;
/// With the tracing plugin, at most this many allocations over the hand-written span: the
/// issue's target. Today it is 1 (the boxed listened-to future and the boxed terminal firing,
/// less the attribute vector the hand-written span allocates and the plugin's span shares);
/// the plugin's own part is 0 (`tracing_plugin_alloc.rs`).
const TRACING_PLUGIN_BUDGET: f64 = 2.0;

#[test]
fn a_generation_allocates_within_its_budget() {
    let _exclusive = crate::support::exclusive();
    let request = GenerationRequest::new([Message::user("hello")]);
    let bare = allocations_per_call(100, || {
        poll_once(Answers.bare(&request)).unwrap();
    });
    let generation = || {
        poll_once(Answers.generate(request.clone())).unwrap();
    };
    // The request is cloned into the instrumented method; that is the caller's, not ours.
    let clone = allocations_per_call(100, || drop(std::hint::black_box(request.clone())));

    assert!(!mellea::has_any_listener(
        mellea::hooks::HookMask::CHAT_GENERATION
    ));
    let unheard = allocations_per_call(100, generation) - clone - bare;
    assert_eq!(
        unheard, 0.0,
        "no listener: the generation allocates nothing"
    );

    let noop = {
        let _noop = mellea::scoped(NoOp).unwrap();
        allocations_per_call(100, generation) - clone - bare
    };
    eprintln!("one no-op plugin: {noop} allocations per generation");
    assert!(
        noop <= NOOP_PLUGIN_BUDGET,
        "one no-op plugin: {noop} allocations per generation, budget {NOOP_PLUGIN_BUDGET}"
    );

    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(DropSpans)
        .build();
    let tracer = provider.tracer("alloc.hand");
    let by_hand = allocations_per_call(100, || hand_written_span(&tracer, &request)) - bare;
    let telemetry = mellea::telemetry::TelemetryBuilder::new()
        .with_simple_exporter(DropSpans)
        .install()
        .unwrap();
    let traced = allocations_per_call(100, generation) - clone - bare;
    telemetry.shutdown().unwrap();
    eprintln!("tracing plugin: {traced} allocations per generation, by hand {by_hand}");
    assert!(
        traced - by_hand <= TRACING_PLUGIN_BUDGET,
        "tracing plugin: {traced} allocations per generation, {by_hand} for the same span by \
         hand; budget {TRACING_PLUGIN_BUDGET} over it"
    );
}
