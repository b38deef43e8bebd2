//! What one generation costs, against an in-process backend that returns at once:
//!
//! - (a) the bare async method;
//! - (b) the same method under `#[backend]` with no plugins;
//! - (c) with one no-op SEQUENTIAL plugin on pre- and post-call;
//! - (d) with `BackendTracingPlugin` on an SDK provider (always-on sampler, an exporter that
//!   drops spans);
//! - (e) the bare method inside a hand-written OpenTelemetry span with the same name, kind and
//!   attributes — the floor;
//! - (f) the bare method under `#[tracing::instrument]` with `tracing-opentelemetry` recording
//!   the same fields — the path users take today;
//! - (g) as (d) plus `BackendMetricsPlugin` (its ratio to (d) is the cost of metrics).
//!
//! Every case runs on a current-thread tokio runtime, so dispatch pays what it pays in
//! applications (handler timeouts included). `BENCHMARKS.md` holds the figures.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mellea::generation::{
    BackendIdentity, BatchGenerationRequest, ChunkStream, GenerationRequest, Message, ServerAddress,
};
use mellea::hooks::{
    GenerationOutput, GenerationPostCallPayload, GenerationPreCallPatch, GenerationPreCallPayload,
    Usage,
};
use mellea::{HookAction, HookContext, HookResult, PluginViolation};
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};

/// An exporter that drops every span: the benches measure span work, not I/O.
#[derive(Debug)]
struct DropSpans;

impl SpanExporter for DropSpans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

fn provider() -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
        .with_simple_exporter(DropSpans)
        .build()
}

#[derive(Debug)]
struct BenchError;

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bench error")
    }
}

impl std::error::Error for BenchError {}

impl From<PluginViolation> for BenchError {
    fn from(_: PluginViolation) -> Self {
        BenchError
    }
}

struct Reply {
    text: String,
}

impl GenerationOutput for Reply {
    fn usage(&self) -> Option<Usage> {
        Some(Usage::new(12, 3))
    }
    fn response_model(&self) -> Option<&str> {
        Some("bench-model-2026")
    }
    fn response_id(&self) -> Option<&str> {
        Some("resp-bench")
    }
    fn finish_reasons(&self) -> Vec<String> {
        vec!["stop".into()]
    }
    fn text(&self) -> Option<&str> {
        Some(&self.text)
    }
}

/// Answers at once.
struct Instant;

impl BackendIdentity for Instant {
    fn model_id(&self) -> &str {
        "bench-model"
    }
    fn server(&self) -> Option<ServerAddress<'_>> {
        Some(ServerAddress {
            host: "llm.bench",
            port: 8000,
        })
    }
}

impl Instant {
    async fn bare(&self, request: GenerationRequest) -> Result<Reply, BenchError> {
        Ok(Reply {
            text: format!("{} messages", request.messages.len()),
        })
    }

    #[tracing::instrument(
        name = "chat bench-model",
        skip_all,
        fields(
            otel.kind = "client",
            gen_ai.operation.name = "chat",
            gen_ai.provider.name = "bench",
            gen_ai.request.model = "bench-model",
            server.address = "llm.bench",
            server.port = 8000,
            mellea.action.tool_calls = false,
            gen_ai.usage.input_tokens = tracing::field::Empty,
            gen_ai.usage.output_tokens = tracing::field::Empty,
            mellea.usage.total_tokens = tracing::field::Empty,
            gen_ai.response.model = tracing::field::Empty,
            gen_ai.response.id = tracing::field::Empty,
            gen_ai.response.finish_reasons = tracing::field::Empty,
        )
    )]
    async fn traced(&self, request: GenerationRequest) -> Result<Reply, BenchError> {
        let reply = self.bare(request).await?;
        let span = tracing::Span::current();
        let usage = reply.usage().unwrap_or_default();
        span.record("gen_ai.usage.input_tokens", usage.input_tokens.unwrap_or(0));
        span.record(
            "gen_ai.usage.output_tokens",
            usage.output_tokens.unwrap_or(0),
        );
        span.record("mellea.usage.total_tokens", usage.total_tokens.unwrap_or(0));
        span.record(
            "gen_ai.response.model",
            reply.response_model().unwrap_or_default(),
        );
        span.record(
            "gen_ai.response.id",
            reply.response_id().unwrap_or_default(),
        );
        span.record("gen_ai.response.finish_reasons", "[\"stop\"]");
        Ok(reply)
    }
}

#[mellea::backend(provider = "bench")]
impl Instant {
    #[mellea::generation_hook(chat)]
    async fn instrumented(&self, request: GenerationRequest) -> Result<Reply, BenchError> {
        Ok(Reply {
            text: format!("{} messages", request.messages.len()),
        })
    }

    /// Four prompts answered at once.
    #[mellea::generation_hook(batch)]
    async fn batch(&self, request: BatchGenerationRequest) -> Result<Vec<Reply>, BenchError> {
        Ok(request
            .prompts
            .iter()
            .map(|p| Reply { text: p.clone() })
            .collect())
    }

    /// A hundred chunks, all ready at once.
    #[mellea::generation_hook(stream)]
    async fn stream(
        &self,
        _request: GenerationRequest,
    ) -> Result<ChunkStream<'static, String, BenchError>, BenchError> {
        Ok(Box::pin(futures_util::stream::iter(
            (0..100).map(|i| Ok(format!("chunk {i} "))),
        )))
    }
}

async fn drain(stream: ChunkStream<'static, String, BenchError>) -> usize {
    use futures_util::StreamExt as _;
    stream
        .fold(
            0,
            |n, chunk| async move { n + chunk.map_or(0, |c| c.len()) },
        )
        .await
}

fn batch_request() -> BatchGenerationRequest {
    BatchGenerationRequest::new(["one", "two", "three", "four"])
}

/// (e): what a hand-instrumented backend would write.
async fn hand_written(
    backend: &Instant,
    tracer: &opentelemetry_sdk::trace::SdkTracer,
    request: GenerationRequest,
) -> Result<Reply, BenchError> {
    use opentelemetry::context::FutureExt as _;
    let parent = Context::current();
    let span = tracer
        .span_builder("chat bench-model")
        .with_kind(SpanKind::Client)
        .with_attributes([
            KeyValue::new("gen_ai.operation.name", "chat"),
            KeyValue::new("gen_ai.provider.name", "bench"),
            KeyValue::new("gen_ai.request.model", "bench-model"),
            KeyValue::new("server.address", "llm.bench"),
            KeyValue::new("server.port", 8000i64),
            KeyValue::new("mellea.action.tool_calls", false),
        ])
        .start_with_context(tracer, &parent);
    let cx = parent.with_span(span);
    let result = backend.bare(request).with_context(cx.clone()).await;
    let span = cx.span();
    if let Ok(reply) = &result {
        let usage = reply.usage().unwrap_or_default();
        span.set_attributes([
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
            KeyValue::new("gen_ai.response.model", "bench-model-2026"),
            KeyValue::new("gen_ai.response.id", "resp-bench"),
            KeyValue::new(
                "gen_ai.response.finish_reasons",
                opentelemetry::Value::Array(vec![opentelemetry::StringValue::from("stop")].into()),
            ),
        ]);
    }
    span.end();
    result
}

/// (c): one no-op SEQUENTIAL plugin on pre- and post-call.
struct NoOp;

#[mellea::plugin(name = "bench_noop")]
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

fn request() -> GenerationRequest {
    GenerationRequest::new([Message::user("hello")])
}

fn generation(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let backend = Instant;
    let mut group = c.benchmark_group("generation");

    assert!(!mellea::has_any_listener(
        mellea::hooks::HookMask::CHAT_GENERATION
    ));
    group.bench_function("a_bare", |b| {
        b.to_async(&runtime)
            .iter(|| backend.bare(black_box(request())))
    });
    group.bench_function("b_backend_no_plugins", |b| {
        b.to_async(&runtime)
            .iter(|| backend.instrumented(black_box(request())))
    });

    let provider = provider();
    let tracer = provider.tracer("mellea.bench");
    group.bench_function("e_hand_written_otel_span", |b| {
        b.to_async(&runtime)
            .iter(|| hand_written(&backend, &tracer, black_box(request())))
    });

    {
        use tracing_subscriber::layer::SubscriberExt as _;
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("tracing.bench")));
        let _default = tracing::subscriber::set_default(subscriber);
        group.bench_function("f_tracing_instrument_otel_layer", |b| {
            b.to_async(&runtime)
                .iter(|| backend.traced(black_box(request())))
        });
    }

    {
        let _noop = mellea::scoped(NoOp).unwrap();
        group.bench_function("c_one_noop_plugin", |b| {
            b.to_async(&runtime)
                .iter(|| backend.instrumented(black_box(request())))
        });
    }

    group.bench_function("batch_of_4_no_plugins", |b| {
        b.to_async(&runtime)
            .iter(|| backend.batch(black_box(batch_request())))
    });
    group.bench_function("stream_of_100_no_plugins", |b| {
        b.to_async(&runtime)
            .iter(|| async { drain(backend.stream(black_box(request())).await.unwrap()).await })
    });

    {
        let telemetry = mellea::telemetry::TelemetryBuilder::new()
            .with_simple_exporter(DropSpans)
            .install()
            .unwrap();
        group.bench_function("d_backend_tracing_plugin", |b| {
            b.to_async(&runtime)
                .iter(|| backend.instrumented(black_box(request())))
        });
        group.bench_function("batch_of_4_tracing_plugin", |b| {
            b.to_async(&runtime)
                .iter(|| backend.batch(black_box(batch_request())))
        });
        group.bench_function("stream_of_100_tracing_plugin", |b| {
            b.to_async(&runtime)
                .iter(|| async { drain(backend.stream(black_box(request())).await.unwrap()).await })
        });
        telemetry.shutdown().unwrap();
    }

    {
        // (g) tracing and metrics: both plugins, metrics read by a periodic reader whose
        // exporter drops them (interval long enough that export is not measured).
        let telemetry = mellea::telemetry::TelemetryBuilder::new()
            .with_simple_exporter(DropSpans)
            .with_metric_exporter(DropMetrics)
            .with_metric_export_interval(Duration::from_secs(3600))
            .install()
            .unwrap();
        group.bench_function("g_backend_tracing_and_metrics_plugins", |b| {
            b.to_async(&runtime)
                .iter(|| backend.instrumented(black_box(request())))
        });
        telemetry.shutdown().unwrap();
    }
    group.finish();
}

/// A metric exporter that drops every collection.
#[derive(Debug)]
struct DropMetrics;

impl opentelemetry_sdk::metrics::exporter::PushMetricExporter for DropMetrics {
    async fn export(
        &self,
        metrics: &opentelemetry_sdk::metrics::data::ResourceMetrics,
    ) -> OTelSdkResult {
        black_box(metrics);
        Ok(())
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> opentelemetry_sdk::metrics::Temporality {
        opentelemetry_sdk::metrics::Temporality::Cumulative
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = generation
}
criterion_main!(benches);
