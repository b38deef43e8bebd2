//! Every example traces: run with tracing on, exporting by OTLP to a loopback collector, each
//! delivers its spans and its `shutdown` says so; the `otlp` example reports lost spans as an
//! error (its `main` exits with status 1 on it).
//!
//! Each example is compiled in as a module and driven the way its `main` drives it, with the
//! environment supplied through a lookup instead of the process's. The OpenAI and Ollama
//! examples are traced in `tests/process/backend_examples.rs`, next to their fake servers.
// Each example is compiled in as its own module tree, as in its own binary, so the examples'
// shared `support/traced.rs` is compiled once per example.
#![allow(clippy::duplicate_mod)]

use crate::support::otlp_collector;

#[allow(dead_code)] // `main` is the example's entry point, unused here.
#[path = "../../examples/otlp.rs"]
mod otlp_example;
#[allow(dead_code)]
#[path = "../../examples/plugins.rs"]
mod plugins_example;
#[allow(dead_code)]
#[path = "../../examples/quickstart.rs"]
mod quickstart;
#[allow(dead_code)]
#[path = "../../examples/support/traced.rs"]
mod traced;
#[allow(dead_code)]
#[path = "../../examples/tracing.rs"]
mod tracing_example;

use mellea::telemetry::{TelemetryBuilder, TelemetryError, TracingConfig};
use otlp_collector::{Behaviour, GrpcCollector, HttpCollector, closed_port};

/// The examples install tracing process-wide: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `MELLEA_TRACES_ENABLED=1 MELLEA_TRACES_OTLP=1 OTEL_EXPORTER_OTLP_ENDPOINT=endpoint`, plus
/// `extra`.
fn env(endpoint: &str, extra: &[(&'static str, &'static str)]) -> TracingConfig {
    let mut pairs = vec![
        ("MELLEA_TRACES_ENABLED", "1".to_owned()),
        ("MELLEA_TRACES_OTLP", "1".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.to_owned()),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000".to_owned()),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    TracingConfig::from_lookup(move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
}

fn names(
    collector_spans: Vec<(String, opentelemetry_proto::tonic::trace::v1::Span)>,
) -> Vec<String> {
    let mut names: Vec<String> = collector_spans.into_iter().map(|(_, s)| s.name).collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_exports_its_spans() {
    let _exclusive = crate::support::exclusive();
    let _turn = ONE_AT_A_TIME.lock().await;
    let collector = HttpCollector::start(Behaviour::Accept).await;
    let tree = quickstart::run_traced_with(env(&collector.endpoint, &[]))
        .await
        .expect("every span delivered");
    assert!(tree.starts_with("quickstart ["), "{tree}");
    assert_eq!(
        names(collector.inbox.spans()),
        ["chat echo-1", "quickstart"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_prints_a_metrics_summary_and_exports_the_histograms() {
    let _exclusive = crate::support::exclusive();
    let _turn = ONE_AT_A_TIME.lock().await;
    let collector = HttpCollector::start(Behaviour::Accept).await;
    let endpoint = collector.endpoint.clone();
    let metrics = mellea::telemetry::metrics::MetricsConfig::from_lookup(move |name| match name {
        "MELLEA_METRICS_ENABLED" | "MELLEA_METRICS_OTLP" | "MELLEA_METRICS_CONSOLE" => {
            Some("1".to_owned())
        }
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.clone()),
        "OTEL_METRIC_EXPORT_INTERVAL" => Some("1000".to_owned()),
        _ => None,
    });
    let (tree, summary) = quickstart::run_observed(env(&collector.endpoint, &[]), metrics)
        .await
        .expect("every span and data point delivered");
    assert!(tree.starts_with("quickstart ["), "{tree}");
    assert!(summary.starts_with("mellea metrics:\n"), "{summary}");
    assert!(
        summary.contains("gen_ai.client.operation.duration [s] {gen_ai.operation.name=chat, gen_ai.provider.name=echo, gen_ai.request.model=echo-1} count=1"),
        "{summary}"
    );
    assert!(
        summary.contains("gen_ai.token.type=input} count=1 sum=8"),
        "{summary}"
    );
    // The blocked generation ended in the guard's violation: measured as a failed operation.
    assert!(
        summary.contains(
            "mellea.llm.errors [{error}] {error.type=PluginViolation, gen_ai.operation.name=chat"
        ),
        "{summary}"
    );
    // No prompt text in the metrics.
    assert!(
        !summary.contains("haiku") && !summary.contains("password"),
        "{summary}"
    );
    let names: Vec<String> = collector
        .metrics
        .metrics()
        .into_iter()
        .map(|(_, m)| m.name)
        .collect();
    assert!(
        names.contains(&"gen_ai.client.token.usage".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"gen_ai.client.operation.duration".to_owned()),
        "{names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_otlp_example_reports_what_it_delivered_over_http_and_grpc() {
    let _exclusive = crate::support::exclusive();
    let _turn = ONE_AT_A_TIME.lock().await;
    let http = HttpCollector::start(Behaviour::Accept).await;
    let (endpoint, stats) = otlp_example::run(env(&http.endpoint, &[]))
        .await
        .expect("delivered");
    assert_eq!(endpoint, format!("{}/v1/traces", http.endpoint));
    assert_eq!((stats.exported, stats.failed, stats.dropped), (2, 0, 0));
    assert_eq!(names(http.inbox.spans()), ["chat echo-1", "otlp-example"]);

    let grpc = GrpcCollector::start(Behaviour::Accept).await;
    let (_, stats) = otlp_example::run(env(
        &grpc.endpoint,
        &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")],
    ))
    .await
    .expect("delivered over gRPC");
    assert_eq!(stats.exported, 2);
    assert_eq!(names(grpc.inbox.spans()), ["chat echo-1", "otlp-example"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_otlp_example_fails_when_its_spans_are_lost() {
    let _exclusive = crate::support::exclusive();
    let _turn = ONE_AT_A_TIME.lock().await;
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let error = otlp_example::run(env(&endpoint, &[("OTEL_EXPORTER_OTLP_TIMEOUT", "300")]))
        .await
        .expect_err("nothing listens there");
    let TelemetryError::Undelivered { stats, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!((stats.exported, stats.failed), (0, 2), "{stats:?}");
    assert!(error.to_string().contains("cannot connect"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tracing_example_exports_its_session_and_chat_spans() {
    let _exclusive = crate::support::exclusive();
    let _turn = ONE_AT_A_TIME.lock().await;
    let collector = HttpCollector::start(Behaviour::Accept).await;
    let telemetry =
        traced::start(TelemetryBuilder::from_config(env(&collector.endpoint, &[]))).unwrap();
    tracing_example::run(&telemetry).await.unwrap();
    let stats = traced::finish(telemetry).expect("delivered");
    assert_eq!(stats.exported, 3);
    assert_eq!(
        names(collector.inbox.spans()),
        ["chat granite4:micro", "chat granite4:micro", "session"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugins_example_exports_the_generation_its_guard_let_through() {
    let _exclusive = crate::support::exclusive();
    let _turn = ONE_AT_A_TIME.lock().await;
    let collector = HttpCollector::start(Behaviour::Accept).await;
    let telemetry =
        traced::start(TelemetryBuilder::from_config(env(&collector.endpoint, &[]))).unwrap();
    let lines = plugins_example::run().await;
    assert!(!lines.is_empty());
    traced::finish(telemetry).expect("delivered");
    let spans = names(collector.inbox.spans());
    assert!(
        !spans.is_empty() && spans.iter().all(|n| n.starts_with("chat ")),
        "{spans:?}"
    );
}
