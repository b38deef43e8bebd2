//! The tracing plugin's own allocations per generation, isolated (counts, not time): a
//! generation traced by `BackendTracingPlugin`, minus the same generation with a no-op plugin
//! subscribed to the same hooks in the same way (the machinery every plugin pays), minus the
//! same span written by hand on the same provider (what the OpenTelemetry SDK itself
//! allocates for it). What is left is the plugin's own work: naming the span, building its
//! attributes, marking it as the generation's, keeping it until the end.
//!
//! In the `process` binary (its counting allocator, one test at a time).

use crate::generation_alloc::{TestError, allocations_per_call, poll_once};

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use mellea::generation::{BackendIdentity, GenerationRequest, Message, ServerAddress};
use mellea::hooks::{
    GenerationBatchError, GenerationBatchPostCall, GenerationBatchPreCall, GenerationError,
    GenerationEvent, GenerationOutput, GenerationPostCall, GenerationPreCall, Usage,
};
use mellea::plugin::{BoxFuture, HookAction, HookResult, Plugin, PluginHooks, PluginMode};
use mellea::telemetry::BackendTracingPlugin;
use opentelemetry::trace::{SpanKind, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanData, SpanExporter};

/// The tracing plugin's own allocations per generation, over the no-op plugin and the span by
/// hand. It was 10: the span name, the model id and server address copied into attribute
/// values, the response model copied, a vector for the end attributes, three to mark the
/// context with the span's id, and a boxed future per handler call (two).
const TRACING_PLUGIN_OWN: f64 = 0.0;

struct Reply;

impl GenerationOutput for Reply {
    fn usage(&self) -> Option<Usage> {
        Some(Usage::new(12, 3))
    }
    fn response_model(&self) -> Option<&str> {
        Some("own-model-2026")
    }
    fn finish_reasons(&self) -> Vec<String> {
        Vec::new()
    }
}

struct Own;

impl BackendIdentity for Own {
    fn model_id(&self) -> &str {
        "own-model"
    }
    fn server(&self) -> Option<ServerAddress<'_>> {
        Some(ServerAddress {
            host: "llm.own",
            port: 8000,
        })
    }
}

impl Own {
    async fn bare(&self, request: &GenerationRequest) -> Result<Reply, TestError> {
        std::hint::black_box(request);
        Ok(Reply)
    }
}

#[mellea::backend(provider = "own")]
impl Own {
    #[mellea::generation_hook(chat)]
    async fn generate(&self, request: GenerationRequest) -> Result<Reply, TestError> {
        std::hint::black_box(&request);
        Ok(Reply)
    }
}

/// Ready at once with "go on"; zero-sized, so its box allocates nothing.
struct Ready<P>(PhantomData<fn() -> P>);

impl<P> Future for Ready<P> {
    type Output = HookResult<P>;
    fn poll(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Self::Output> {
        Poll::Ready(Ok(HookAction::Continue))
    }
}

fn proceed<'a, P: Send + 'a>() -> BoxFuture<'a, HookResult<P>> {
    Box::pin(Ready(PhantomData))
}

/// Subscribed to every hook the tracing plugin handles, as it is (SEQUENTIAL, its priority),
/// and does nothing.
struct Quiet;

impl Plugin for Quiet {
    fn name(&self) -> &str {
        "alloc_quiet"
    }
    fn priority(&self) -> i32 {
        BackendTracingPlugin::PRIORITY
    }
    fn hooks(self: Arc<Self>, hooks: &mut PluginHooks) {
        let mode = PluginMode::Sequential;
        hooks
            .method::<GenerationPreCall, _, _>(mode, None, self.clone(), |_, _, _| proceed())
            .method::<GenerationPostCall, _, _>(mode, None, self.clone(), |_, _, _| proceed())
            .method::<GenerationError, _, _>(mode, None, self.clone(), |_, _, _| proceed())
            .method::<GenerationEvent, _, _>(mode, None, self.clone(), |_, _, _| proceed())
            .method::<GenerationBatchPreCall, _, _>(mode, None, self.clone(), |_, _, _| proceed())
            .method::<GenerationBatchPostCall, _, _>(mode, None, self.clone(), |_, _, _| proceed())
            .method::<GenerationBatchError, _, _>(mode, None, self, |_, _, _| proceed());
    }
}

/// Drops what it exports, unless asked to keep it (outside the counted runs).
#[derive(Debug, Default)]
struct Spans {
    keep: AtomicBool,
    kept: Mutex<Vec<SpanData>>,
}

#[derive(Debug)]
struct Exporter(Arc<Spans>);

impl SpanExporter for Exporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if self.0.keep.load(Ordering::Relaxed) {
            self.0.kept.lock().unwrap().extend(batch);
        }
        Ok(())
    }
}

impl Spans {
    /// The one span `f` ends, as exported.
    fn one(&self, f: impl FnOnce()) -> SpanData {
        self.keep.store(true, Ordering::Relaxed);
        f();
        self.keep.store(false, Ordering::Relaxed);
        let mut kept = std::mem::take(&mut *self.kept.lock().unwrap());
        assert_eq!(kept.len(), 1, "one span");
        kept.pop().unwrap()
    }
}

/// The plugin's span written by hand: same name, kind and attributes, on the same provider.
fn by_hand(tracer: &SdkTracer, request: &GenerationRequest) {
    let parent = Context::current();
    // Room for the end attributes too, as the plugin makes: the vector never regrows.
    let mut attributes = Vec::with_capacity(11);
    attributes.extend([
        KeyValue::new("gen_ai.provider.name", "own"),
        KeyValue::new("gen_ai.request.model", "own-model"),
        KeyValue::new("gen_ai.operation.name", "chat"),
        KeyValue::new("server.address", "llm.own"),
        KeyValue::new("server.port", 8000i64),
        KeyValue::new("mellea.action.tool_calls", false),
        KeyValue::new("mellea.request.context_size", 0i64),
    ]);
    let span = tracer
        .span_builder("chat own-model")
        .with_kind(SpanKind::Client)
        .with_attributes(attributes)
        .start_with_context(tracer, &parent);
    let cx = parent.with_span(span);
    let reply = poll_once(Own.bare(request));
    let span = cx.span();
    if let Ok(reply) = &reply {
        let usage = reply.usage().unwrap_or_default();
        span.set_attributes([
            KeyValue::new("gen_ai.response.model", "own-model-2026"),
            KeyValue::new(
                "gen_ai.usage.input_tokens",
                usage.input_tokens.unwrap_or(0) as i64,
            ),
            KeyValue::new(
                "gen_ai.usage.output_tokens",
                usage.output_tokens.unwrap_or(0) as i64,
            ),
            KeyValue::new(
                "mellea.usage.total_tokens",
                usage.total_tokens.unwrap_or(0) as i64,
            ),
        ]);
    }
    span.end();
}

fn sorted(span: &SpanData) -> Vec<(String, String)> {
    let mut attributes: Vec<_> = span
        .attributes
        .iter()
        .map(|kv| (kv.key.to_string(), kv.value.to_string()))
        .collect();
    attributes.sort();
    attributes
}

#[test]
fn the_tracing_plugin_allocates_nothing_of_its_own() {
    let _exclusive = crate::support::exclusive();
    let spans = Arc::new(Spans::default());
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(Exporter(spans.clone()))
        .build();
    let tracer = provider.tracer("alloc.own");
    let request = GenerationRequest::new([Message::user("hello")]);
    let generation = || {
        poll_once(Own.generate(request.clone())).unwrap();
    };

    let bare = allocations_per_call(100, || {
        poll_once(Own.bare(&request)).unwrap();
    });
    // The request is cloned into the instrumented method; that is the caller's, not ours.
    let clone = allocations_per_call(100, || drop(std::hint::black_box(request.clone())));
    let quiet = {
        let _quiet = mellea::scoped(Quiet).unwrap();
        allocations_per_call(100, generation) - clone - bare
    };
    let hand = allocations_per_call(100, || by_hand(&tracer, &request)) - bare;
    let hand_span = spans.one(|| by_hand(&tracer, &request));

    let plugin = BackendTracingPlugin::from_provider(&provider);
    let traced = {
        let _tracing = mellea::scoped(plugin).unwrap();
        // More generations than the table of open generation spans has slots (4,096): were a
        // span's id not removed when it ends, the table would fill and later spans would be
        // marked in their context instead, at three allocations each.
        let traced = allocations_per_call(10_000, generation) - clone - bare;
        let plugin_span = spans.one(generation);
        // The comparison is fair only if the plugin's span is the one written by hand.
        assert_eq!(plugin_span.name, hand_span.name);
        assert_eq!(plugin_span.span_kind, hand_span.span_kind);
        assert_eq!(sorted(&plugin_span), sorted(&hand_span));
        traced
    };
    provider.shutdown().unwrap();

    let own = traced - quiet - hand;
    eprintln!(
        "tracing plugin: {traced} allocations per generation; a no-op plugin on the same hooks \
         {quiet}, the span by hand {hand}: {own} of its own"
    );
    assert!(
        own <= TRACING_PLUGIN_OWN,
        "the tracing plugin allocates {own} times per generation of its own ({traced} traced, \
         {quiet} with a no-op plugin, {hand} for the span by hand); budget {TRACING_PLUGIN_OWN}"
    );
}
