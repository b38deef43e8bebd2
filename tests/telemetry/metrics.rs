//! Metrics of real generations through `#[backend]` / `#[generation_hook]`, read back with the
//! SDK's in-memory metric exporter: exact histogram counts, sums, boundaries and labels after
//! chat, streamed, batch, failed and cancelled generations; error categories; cost; session
//! scoping; export accounting; the console summary.
//!
//! Each test installs metrics for its own session, so tests running in parallel never see each
//! other's measurements.

use crate::support::echo_backend;
use crate::support::telemetry as telemetry_support;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use echo_backend::Echo;
use futures_util::StreamExt as _;
use mellea::PluginViolation;
use mellea::generation::{
    BackendIdentity, BatchGenerationRequest, ClassifyError, GenerationRequest, Message,
    ServerAddress,
};
use mellea::telemetry::metrics::{
    ConsoleMetricExporter, DURATION_BOUNDARIES, MetricsConfig, ModelPrice, Pricing,
    TOKEN_USAGE_BOUNDARIES,
};
use mellea::telemetry::{Telemetry, TelemetryBuilder, TelemetryError, TracingConfig};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, Temporality};
use telemetry_support::{Answer, LocalModel, Watsonx};

fn hello() -> GenerationRequest {
    GenerationRequest::new([Message::user("hello world")])
}

/// A metrics installation for one session, exporting into memory on every flush.
struct Metered {
    session: String,
    exporter: InMemoryMetricExporter,
    telemetry: Telemetry,
}

impl Metered {
    fn new(session: &str) -> Self {
        Self::with(session, |builder| builder)
    }

    fn with(session: &str, configure: impl FnOnce(TelemetryBuilder) -> TelemetryBuilder) -> Self {
        let exporter = InMemoryMetricExporter::default();
        // Tracing off: metrics stand on their own.
        let telemetry = configure(
            TelemetryBuilder::from_config(TracingConfig::default())
                .with_metric_exporter(exporter.clone())
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

    async fn run<F: Future>(&self, future: F) -> F::Output {
        mellea::session::in_session(self.session.clone(), future).await
    }

    /// Exports now and returns the latest (cumulative) collection.
    fn collect(&self) -> ResourceMetrics {
        self.telemetry
            .force_flush()
            .expect("every data point delivered");
        self.exporter
            .get_finished_metrics()
            .unwrap()
            .pop()
            .expect("one collection per flush")
    }
}

/// One data point of a histogram or sum, with its labels.
#[derive(Debug)]
struct Point {
    labels: BTreeMap<String, String>,
    count: u64,
    sum: f64,
    bounds: Vec<f64>,
}

fn points(metrics: &ResourceMetrics, name: &str) -> Vec<Point> {
    fn of<T: Copy>(data: &MetricData<T>, f: impl Fn(T) -> f64) -> Vec<Point> {
        let labels = |attrs: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
            attrs
                .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                .collect()
        };
        match data {
            MetricData::Histogram(h) => h
                .data_points()
                .map(|p| Point {
                    labels: labels(&mut p.attributes()),
                    count: p.count(),
                    sum: f(p.sum()),
                    bounds: p.bounds().collect(),
                })
                .collect(),
            MetricData::Sum(s) => s
                .data_points()
                .map(|p| Point {
                    labels: labels(&mut p.attributes()),
                    count: 0,
                    sum: f(p.value()),
                    bounds: Vec::new(),
                })
                .collect(),
            _ => panic!("no gauges here"),
        }
    }
    let mut out = Vec::new();
    for scope in metrics.scope_metrics() {
        for metric in scope.metrics() {
            if metric.name() != name {
                continue;
            }
            assert_eq!(scope.scope().name(), "mellea.metrics");
            match metric.data() {
                AggregatedMetrics::F64(data) => out.extend(of(data, |v| v)),
                AggregatedMetrics::U64(data) => out.extend(of(data, |v| v as f64)),
                AggregatedMetrics::I64(_) => panic!("{name} is not an i64 instrument"),
            }
        }
    }
    out
}

fn unit(metrics: &ResourceMetrics, name: &str) -> String {
    metrics
        .scope_metrics()
        .flat_map(|s| s.metrics())
        .find(|m| m.name() == name)
        .map(|m| m.unit().to_owned())
        .unwrap_or_else(|| panic!("no metric {name}"))
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn echo_labels(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut all = labels(&[
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.provider.name", "echo"),
        ("gen_ai.request.model", "echo-model"),
        ("server.address", "echo.local"),
        ("server.port", "8080"),
    ]);
    all.extend(labels(extra));
    all
}

fn only<'a>(points: &'a [Point], want: &BTreeMap<String, String>) -> &'a Point {
    let found: Vec<&Point> = points.iter().filter(|p| &p.labels == want).collect();
    assert_eq!(
        found.len(),
        1,
        "one point labelled {want:?} among {points:#?}"
    );
    found[0]
}

#[tokio::test]
async fn chat_generations_record_duration_and_token_usage_with_semconv_labels() {
    let metered = Metered::new("metrics-chat");
    for _ in 0..3 {
        metered.run(Echo::new().generate(hello())).await.unwrap();
    }
    let metrics = metered.collect();

    let duration = points(&metrics, "gen_ai.client.operation.duration");
    let point = only(
        &duration,
        &echo_labels(&[("gen_ai.response.model", "echo-1")]),
    );
    assert_eq!(point.count, 3);
    assert!(point.sum >= 0.0);
    assert_eq!(point.bounds, DURATION_BOUNDARIES.to_vec());
    assert_eq!(unit(&metrics, "gen_ai.client.operation.duration"), "s");

    let tokens = points(&metrics, "gen_ai.client.token.usage");
    assert_eq!(tokens.len(), 2);
    let input = only(
        &tokens,
        &echo_labels(&[
            ("gen_ai.response.model", "echo-1"),
            ("gen_ai.token.type", "input"),
        ]),
    );
    assert_eq!((input.count, input.sum), (3, 9.0));
    let output = only(
        &tokens,
        &echo_labels(&[
            ("gen_ai.response.model", "echo-1"),
            ("gen_ai.token.type", "output"),
        ]),
    );
    // "hello world": two output tokens each time.
    assert_eq!((output.count, output.sum), (3, 6.0));
    assert_eq!(output.bounds, TOKEN_USAGE_BOUNDARIES.to_vec());
    assert_eq!(unit(&metrics, "gen_ai.client.token.usage"), "{token}");

    // Not streamed: no chunk timings. No failure: no errors. No prices: no cost.
    assert!(points(&metrics, "gen_ai.client.operation.time_to_first_chunk").is_empty());
    assert!(points(&metrics, "gen_ai.client.operation.time_per_output_chunk").is_empty());
    assert!(points(&metrics, "mellea.llm.errors").is_empty());
    assert!(points(&metrics, "mellea.llm.cost.usd").is_empty());
}

#[tokio::test]
async fn an_in_process_backend_has_no_server_labels_and_a_missing_model_is_unknown() {
    let metered = Metered::new("metrics-local");
    let mut model = LocalModel::new("");
    model.answer = Answer {
        text: "x".into(),
        usage: None,
        ..Answer::default()
    };
    metered.run(model.generate(hello())).await.unwrap();
    let metrics = metered.collect();
    let duration = points(&metrics, "gen_ai.client.operation.duration");
    only(
        &duration,
        &labels(&[
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.provider.name", "huggingface"),
            ("gen_ai.request.model", "unknown"),
        ]),
    );
    // The backend reported no usage: no token histogram at all.
    assert!(points(&metrics, "gen_ai.client.token.usage").is_empty());
}

#[tokio::test]
async fn streams_record_time_to_first_chunk() {
    let metered = Metered::new("metrics-stream");
    let mut stream = metered
        .run(Echo::new().generate_stream(hello().with_option("chunks", 4)))
        .await
        .unwrap();
    while let Some(chunk) = metered.run(stream.next()).await {
        chunk.unwrap();
    }
    drop(stream);
    let metrics = metered.collect();
    let ttfc = points(&metrics, "gen_ai.client.operation.time_to_first_chunk");
    assert_eq!(ttfc.len(), 1);
    assert_eq!(ttfc[0].count, 1);
    assert_eq!(ttfc[0].bounds, DURATION_BOUNDARIES.to_vec());
    assert_eq!(
        unit(&metrics, "gen_ai.client.operation.time_to_first_chunk"),
        "s"
    );
    // Chunk events are off (`MELLEA_GENERATION_CHUNK_EVENTS`): no per-chunk timings; see
    // tests/process/telemetry_metrics_chunks.rs.
    assert!(points(&metrics, "gen_ai.client.operation.time_per_output_chunk").is_empty());
    let duration = points(&metrics, "gen_ai.client.operation.duration");
    assert_eq!(duration.iter().map(|p| p.count).sum::<u64>(), 1);
}

#[tokio::test]
async fn batches_record_text_completion_duration_and_usage() {
    let metered = Metered::new("metrics-batch");
    let watsonx = Watsonx {
        model: "ibm/granite-3-8b-instruct".into(),
    };
    metered
        .run(watsonx.generate_batch(BatchGenerationRequest::new(["a", "b"])))
        .await
        .unwrap();
    let metrics = metered.collect();
    let base = [
        ("gen_ai.operation.name", "text_completion"),
        ("gen_ai.provider.name", "ibm.watsonx.ai"),
        ("gen_ai.request.model", "ibm/granite-3-8b-instruct"),
        ("server.address", "us-south.ml.cloud.ibm.com"),
        ("server.port", "443"),
    ];
    let duration = points(&metrics, "gen_ai.client.operation.duration");
    assert_eq!(only(&duration, &labels(&base)).count, 1);
    let tokens = points(&metrics, "gen_ai.client.token.usage");
    let mut input = base.to_vec();
    input.push(("gen_ai.token.type", "input"));
    let input = only(&tokens, &labels(&input));
    assert_eq!(input.count, 1);
    assert!(input.sum > 0.0);
}

#[tokio::test]
async fn a_failed_generation_records_its_duration_with_error_type_and_counts_an_error() {
    let metered = Metered::new("metrics-fail");
    metered
        .run(Echo::new().generate(hello().with_option("fail", true)))
        .await
        .unwrap_err();
    let metrics = metered.collect();
    let duration = points(&metrics, "gen_ai.client.operation.duration");
    assert_eq!(
        only(&duration, &echo_labels(&[("error.type", "EchoError")])).count,
        1
    );
    let errors = points(&metrics, "mellea.llm.errors");
    let error = only(
        &errors,
        &echo_labels(&[
            ("error.type", "EchoError"),
            ("mellea.error.category", "unknown"),
        ]),
    );
    assert_eq!(error.sum, 1.0);
    assert!(points(&metrics, "gen_ai.client.token.usage").is_empty());
}

#[tokio::test]
async fn a_cancelled_generation_records_its_duration_as_cancelled() {
    let metered = Metered::new("metrics-cancel");
    let echo = Echo::new();
    let timed_out = tokio::time::timeout(
        Duration::from_millis(20),
        metered.run(echo.generate(hello().with_option("hang", true))),
    )
    .await;
    assert!(timed_out.is_err());
    let metrics = metered.collect();
    let duration = points(&metrics, "gen_ai.client.operation.duration");
    let point = only(&duration, &echo_labels(&[("error.type", "cancelled")]));
    assert_eq!(point.count, 1);
}

#[tokio::test]
async fn a_failed_batch_counts_an_error() {
    let metered = Metered::new("metrics-batch-fail");
    metered
        .run(
            Echo::new()
                .generate_batch(BatchGenerationRequest::new(["a"]).with_option("fail", true)),
        )
        .await
        .unwrap_err();
    let metrics = metered.collect();
    let errors = points(&metrics, "mellea.llm.errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0]
            .labels
            .get("gen_ai.operation.name")
            .map(String::as_str),
        Some("text_completion")
    );
    assert_eq!(errors[0].sum, 1.0);
}

/// An error with a class, as the backends' `BackendError` has (`mellea-backends` classes).
#[derive(Debug)]
struct Classified(String);

impl std::fmt::Display for Classified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "failed with class {}", self.0)
    }
}

impl std::error::Error for Classified {}

impl ClassifyError for Classified {
    fn error_type(&self) -> Cow<'static, str> {
        Cow::Owned(self.0.clone())
    }
}

impl From<PluginViolation> for Classified {
    fn from(v: PluginViolation) -> Self {
        Classified(v.to_string())
    }
}

/// A remote OpenAI-like backend failing with the class its request names.
struct Failing;

impl BackendIdentity for Failing {
    fn model_id(&self) -> &str {
        "gpt-test"
    }
    fn server(&self) -> Option<ServerAddress<'_>> {
        Some(ServerAddress {
            host: "api.example.test",
            port: 443,
        })
    }
}

#[mellea::backend(provider = "openai")]
impl Failing {
    #[mellea::generation_hook(chat)]
    pub async fn generate(&self, request: GenerationRequest) -> Result<Answer, Classified> {
        let class = request.model_options["class"].as_str().unwrap().to_owned();
        Err(Classified(class))
    }
}

#[tokio::test]
async fn every_backend_error_class_has_its_category() {
    let metered = Metered::new("metrics-classes");
    // The classes of mellea-backends' `BackendError`, and a content-policy class.
    let cases = [
        ("rate_limit", "rate_limit"),
        ("timeout", "timeout"),
        ("auth", "auth"),
        ("invalid_request", "invalid_request"),
        ("transport", "transport_error"),
        ("server_error", "server_error"),
        ("content_policy", "content_policy"),
        ("malformed_response", "unknown"),
        ("response_too_large", "unknown"),
    ];
    for (class, _) in cases {
        metered
            .run(Failing.generate(hello().with_option("class", class)))
            .await
            .unwrap_err();
    }
    let metrics = metered.collect();
    let errors = points(&metrics, "mellea.llm.errors");
    assert_eq!(errors.len(), cases.len());
    for (class, category) in cases {
        let want = labels(&[
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.provider.name", "openai"),
            ("gen_ai.request.model", "gpt-test"),
            ("server.address", "api.example.test"),
            ("server.port", "443"),
            ("error.type", class),
            ("mellea.error.category", category),
        ]);
        assert_eq!(only(&errors, &want).sum, 1.0, "{class}");
    }
}

#[tokio::test]
async fn cost_is_counted_from_the_prices_given() {
    let pricing = Pricing::new().with_model(
        "echo-model",
        ModelPrice {
            input: 0.5,
            output: 2.0,
        },
    );
    let metered = Metered::with("metrics-cost", |b| b.with_pricing(pricing));
    metered.run(Echo::new().generate(hello())).await.unwrap();
    metered.run(Echo::new().generate(hello())).await.unwrap();
    let metrics = metered.collect();
    let cost = points(&metrics, "mellea.llm.cost.usd");
    assert_eq!(cost.len(), 1);
    // Twice 3 input tokens at 0.5 and 2 output tokens at 2.0.
    assert_eq!(cost[0].sum, 2.0 * (3.0 * 0.5 + 2.0 * 2.0));
    assert_eq!(unit(&metrics, "mellea.llm.cost.usd"), "USD");
}

fn temp_file(name: &str, content: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("mellea-{}-{name}", uuid::Uuid::new_v4()));
    std::fs::write(&path, content).unwrap();
    path
}

fn config_with(pairs: Vec<(&'static str, String)>) -> MetricsConfig {
    MetricsConfig::from_lookup(move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
}

#[tokio::test]
async fn a_pricing_file_prices_its_models() {
    let path = temp_file(
        "pricing.json",
        r#"{"echo-model": {"input": 0.001, "output": 0.01}, "other": {"input": 1, "output": 1}}"#,
    );
    let config = config_with(vec![
        ("MELLEA_METRICS_ENABLED", "1".into()),
        ("MELLEA_PRICING_FILE", path.display().to_string()),
    ]);
    let metered = Metered::with("metrics-pricing-file", |b| b.with_metrics_config(config));
    assert!(metered.telemetry.warnings().is_empty());
    metered.run(Echo::new().generate(hello())).await.unwrap();
    let metrics = metered.collect();
    let cost = points(&metrics, "mellea.llm.cost.usd");
    assert!((cost[0].sum - (3.0 * 0.001 + 2.0 * 0.01)).abs() < 1e-12);
    std::fs::remove_file(path).unwrap();
}

#[tokio::test]
async fn a_malformed_pricing_file_is_a_setup_warning_and_no_cost() {
    let path = temp_file("bad-pricing.json", r#"{"echo-model": {"input": "cheap"}}"#);
    let config = config_with(vec![
        ("MELLEA_METRICS_ENABLED", "1".into()),
        ("MELLEA_PRICING_FILE", path.display().to_string()),
    ]);
    let metered = Metered::with("metrics-pricing-bad", |b| b.with_metrics_config(config));
    let warnings = metered.telemetry.warnings().join("\n");
    assert!(warnings.contains("pricing file"), "{warnings}");
    assert!(warnings.contains("echo-model"), "{warnings}");
    assert!(warnings.contains("`input`"), "{warnings}");
    metered.run(Echo::new().generate(hello())).await.unwrap();
    let metrics = metered.collect();
    assert!(points(&metrics, "mellea.llm.cost.usd").is_empty());
    // Everything else is still measured.
    assert_eq!(
        points(&metrics, "gen_ai.client.operation.duration")[0].count,
        1
    );
    std::fs::remove_file(path).unwrap();

    let missing = config_with(vec![
        ("MELLEA_METRICS_ENABLED", "1".into()),
        (
            "MELLEA_PRICING_FILE",
            "/nonexistent/mellea-prices.json".into(),
        ),
    ]);
    let metered = Metered::with("metrics-pricing-missing", |b| {
        b.with_metrics_config(missing)
    });
    let warnings = metered.telemetry.warnings().join("\n");
    assert!(
        warnings.contains("cannot read the pricing file /nonexistent/mellea-prices.json"),
        "{warnings}"
    );
}

#[tokio::test]
async fn session_scoped_metrics_count_only_their_session() {
    let a = Metered::new("metrics-session-a");
    let b = Metered::new("metrics-session-b");
    a.run(Echo::new().generate(hello())).await.unwrap();
    a.run(Echo::new().generate(hello())).await.unwrap();
    b.run(Echo::new().generate(hello())).await.unwrap();
    // Outside any session: neither counts it.
    Echo::new().generate(hello()).await.unwrap();
    let count = |m: &Metered| {
        points(&m.collect(), "gen_ai.client.operation.duration")
            .iter()
            .map(|p| p.count)
            .sum::<u64>()
    };
    assert_eq!(count(&a), 2);
    assert_eq!(count(&b), 1);
    assert_eq!(
        mellea::plugin::Plugin::name(a.telemetry.metrics_plugin().unwrap().as_ref()),
        "backend_metrics.session.metrics-session-a"
    );
}

#[tokio::test]
async fn metrics_and_tracing_share_one_guard_and_its_accounting() {
    let spans = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let exporter = InMemoryMetricExporter::default();
    let telemetry = TelemetryBuilder::new()
        .with_simple_exporter(spans.clone())
        .with_metric_exporter(exporter.clone())
        .for_session("metrics-with-tracing")
        .install()
        .unwrap();
    assert!(telemetry.is_enabled() && telemetry.metrics_enabled());
    mellea::session::in_session("metrics-with-tracing", Echo::new().generate(hello()))
        .await
        .unwrap();
    let stats = telemetry.force_flush().unwrap();
    // One span, and the duration point plus two token points.
    assert_eq!(stats.handed, 1 + 3);
    assert_eq!(stats.exported, stats.handed);
    assert_eq!(spans.get_finished_spans().unwrap().len(), 1);
    let stats = telemetry.shutdown().unwrap();
    // Shutting down exports the cumulative points once more.
    assert_eq!(stats.exported, 1 + 3 + 3);
    assert!(stats.all_delivered());
}

/// Refuses every export.
#[derive(Debug)]
struct Refusing;

impl PushMetricExporter for Refusing {
    async fn export(&self, _metrics: &ResourceMetrics) -> OTelSdkResult {
        Err(OTelSdkError::InternalFailure("the test refuses".into()))
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

#[tokio::test]
async fn shutdown_says_when_metric_data_points_were_not_delivered() {
    let telemetry = TelemetryBuilder::from_config(TracingConfig::default())
        .with_metric_exporter(Refusing)
        .for_session("metrics-refused")
        .install()
        .unwrap();
    mellea::session::in_session("metrics-refused", Echo::new().generate(hello()))
        .await
        .unwrap();
    match telemetry.shutdown() {
        Err(TelemetryError::Undelivered { stats, .. }) => {
            assert_eq!(stats.failed, 3);
            assert_eq!(stats.exported, 0);
            let cause = stats.last_failure.unwrap();
            assert!(cause.contains("the test refuses"), "{cause}");
        }
        other => panic!("expected Undelivered, got {other:?}"),
    }
}

#[tokio::test]
async fn the_console_summary_names_each_metric_with_its_labels() {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let telemetry = TelemetryBuilder::from_config(TracingConfig::default())
        .with_metrics(true)
        .with_metrics_console_exporter(ConsoleMetricExporter::new(buffer.clone()))
        .for_session("metrics-console")
        .install()
        .unwrap();
    mellea::session::in_session("metrics-console", Echo::new().generate(hello()))
        .await
        .unwrap();
    telemetry.shutdown().unwrap();
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(text.starts_with("mellea metrics:\n"), "{text}");
    assert!(
        text.contains("gen_ai.client.operation.duration [s] {gen_ai.operation.name=chat"),
        "{text}"
    );
    assert!(
        text.contains(
            "gen_ai.token.type=input, server.address=echo.local, server.port=8080} count=1 sum=3"
        ),
        "{text}"
    );
    // The prompt never appears.
    assert!(!text.contains("hello world"), "{text}");
}
