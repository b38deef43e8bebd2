//! Metrics by OTLP to loopback collectors over HTTP (`/v1/metrics`) and gRPC
//! (`MetricsService`), decoded with the official protobuf types; traces and metrics through
//! one guard; and the environment configuration of metrics.

use crate::support::echo_backend;
use crate::support::otlp_collector;

use std::time::Duration;

use echo_backend::Echo;
use mellea::generation::{GenerationRequest, Message};
use mellea::telemetry::metrics::MetricsConfig;
use mellea::telemetry::{
    ExportStats, OtlpProtocol, Telemetry, TelemetryBuilder, TelemetryError, TracingConfig,
};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{HistogramDataPoint, Metric};
use opentelemetry_sdk::metrics::Temporality;
use otlp_collector::{Behaviour, GrpcCollector, HttpCollector, MetricsInbox, string};

fn lookup(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }
}

fn metrics_env(pairs: &[(&'static str, &str)]) -> MetricsConfig {
    MetricsConfig::from_lookup(lookup(
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
    ))
}

async fn traffic(session: &str) {
    let echo = Echo::new();
    for _ in 0..2 {
        mellea::session::in_session(
            session,
            echo.generate(GenerationRequest::new([Message::user("hello world")])),
        )
        .await
        .unwrap();
    }
    let failed = mellea::session::in_session(
        session,
        echo.generate(GenerationRequest::new([Message::user("x")]).with_option("fail", true)),
    )
    .await;
    assert!(failed.is_err());
}

async fn shutdown(telemetry: Telemetry) -> Result<ExportStats, TelemetryError> {
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .unwrap()
}

fn histogram_points<'a>(
    metrics: &'a [(String, Metric)],
    name: &str,
) -> Vec<&'a HistogramDataPoint> {
    metrics
        .iter()
        .filter(|(scope, m)| scope == "mellea.metrics" && m.name == name)
        .flat_map(|(_, m)| match &m.data {
            Some(Data::Histogram(h)) => h.data_points.iter().collect::<Vec<_>>(),
            other => panic!("{name} is not a histogram: {other:?}"),
        })
        .collect()
}

/// What every transport must deliver after `traffic`: durations with and without an error,
/// token usage per type, the errors counter, with semconv units and boundaries.
fn assert_delivered(inbox: &MetricsInbox) {
    let metrics = inbox.metrics();
    // One export (at shutdown) of the cumulative totals.
    assert_eq!(inbox.requests(), 1);
    let last_export = metrics;
    let duration = histogram_points(&last_export, "gen_ai.client.operation.duration");
    let ok = duration
        .iter()
        .rev()
        .find(|p| string(&p.attributes, "error.type").is_none())
        .unwrap();
    assert_eq!(ok.count, 2);
    assert_eq!(
        string(&ok.attributes, "gen_ai.request.model").as_deref(),
        Some("echo-model")
    );
    assert_eq!(
        string(&ok.attributes, "gen_ai.provider.name").as_deref(),
        Some("echo")
    );
    assert_eq!(
        string(&ok.attributes, "gen_ai.operation.name").as_deref(),
        Some("chat")
    );
    assert_eq!(
        ok.explicit_bounds,
        mellea::telemetry::metrics::DURATION_BOUNDARIES.to_vec()
    );
    let failed = duration
        .iter()
        .rev()
        .find(|p| string(&p.attributes, "error.type").as_deref() == Some("EchoError"))
        .unwrap();
    assert_eq!(failed.count, 1);
    let tokens = histogram_points(&last_export, "gen_ai.client.token.usage");
    let input = tokens
        .iter()
        .rev()
        .find(|p| string(&p.attributes, "gen_ai.token.type").as_deref() == Some("input"))
        .unwrap();
    assert_eq!((input.count, input.sum), (2, Some(6.0)));
    let units: Vec<(String, String)> = last_export
        .iter()
        .map(|(_, m)| (m.name.clone(), m.unit.clone()))
        .collect();
    assert!(units.contains(&("gen_ai.client.token.usage".into(), "{token}".into())));
    assert!(units.contains(&("gen_ai.client.operation.duration".into(), "s".into())));
    assert!(units.iter().any(|(n, _)| n == "mellea.llm.errors"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_reach_an_otlp_http_collector_at_v1_metrics() {
    let collector = HttpCollector::start(Behaviour::Accept).await;
    let config = metrics_env(&[
        ("MELLEA_METRICS_ENABLED", "1"),
        ("MELLEA_METRICS_OTLP", "1"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.endpoint),
        ("OTEL_METRIC_EXPORT_INTERVAL", "600000"),
    ]);
    let telemetry = TelemetryBuilder::from_config(TracingConfig::default())
        .with_metrics_config(config)
        .for_session("metrics-otlp-http")
        .install()
        .unwrap();
    assert!(
        telemetry.warnings().is_empty(),
        "{:?}",
        telemetry.warnings()
    );
    traffic("metrics-otlp-http").await;
    let stats = shutdown(telemetry).await.unwrap();
    assert!(stats.exported > 0 && stats.all_delivered(), "{stats}");
    assert_eq!(collector.metrics.requests(), 1, "one export, at shutdown");
    assert!(collector.metrics.paths().iter().all(|p| p == "/v1/metrics"));
    assert_delivered(&collector.metrics);
}

#[cfg(feature = "otlp-grpc")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_reach_an_otlp_grpc_collector_with_traces_through_one_guard() {
    let collector = GrpcCollector::start(Behaviour::Accept).await;
    let telemetry = TelemetryBuilder::new()
        .with_otlp_endpoint(collector.endpoint.clone())
        .with_otlp_protocol(OtlpProtocol::Grpc)
        .with_metrics_otlp_endpoint(collector.endpoint.clone())
        .with_metrics_otlp_protocol(OtlpProtocol::Grpc)
        .with_metric_export_interval(Duration::from_secs(600))
        .for_session("metrics-otlp-grpc")
        .install()
        .unwrap();
    assert!(
        telemetry.warnings().is_empty(),
        "{:?}",
        telemetry.warnings()
    );
    traffic("metrics-otlp-grpc").await;
    let stats = shutdown(telemetry).await.unwrap();
    assert!(stats.all_delivered(), "{stats}");
    // Three spans and the metric data points, counted together.
    assert!(stats.exported > 3, "{stats}");
    assert_eq!(collector.inbox.spans().len(), 3);
    assert_delivered(&collector.metrics);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_collector_makes_shutdown_report_undelivered_data_points() {
    otlp_collector::install_warning_capture();
    let collector = HttpCollector::start(Behaviour::Fail(503)).await;
    let telemetry = TelemetryBuilder::from_config(TracingConfig::default())
        .with_metrics_otlp_endpoint(format!("{}/v1/metrics", collector.endpoint))
        .with_metrics(true)
        .for_session("metrics-otlp-refused")
        .install()
        .unwrap();
    traffic("metrics-otlp-refused").await;
    match shutdown(telemetry).await {
        Err(TelemetryError::Undelivered { stats, .. }) => {
            assert!(stats.failed > 0, "{stats}");
            let cause = stats.last_failure.unwrap();
            assert!(
                cause.contains("/v1/metrics (OTLP http/protobuf metrics)"),
                "{cause}"
            );
        }
        other => panic!("expected Undelivered, got {other:?}"),
    }
}

#[test]
fn the_metrics_environment_is_read_with_its_fallbacks_and_warnings() {
    // Nothing set: off, cumulative, 60 s, HTTP.
    let config = metrics_env(&[]);
    assert!(!config.enabled && !config.console && !config.otlp);
    assert_eq!(config.export_interval, Duration::from_secs(60));
    assert_eq!(config.temporality, Temporality::Cumulative);
    assert_eq!(config.otlp_transport, OtlpProtocol::HttpProtobuf);
    assert_eq!(config.otlp_endpoint, None);
    assert!(config.warnings().is_empty());

    // The metrics variables win over the general ones.
    let config = metrics_env(&[
        ("MELLEA_METRICS_ENABLED", "true"),
        ("MELLEA_METRICS_CONSOLE", "yes"),
        ("MELLEA_METRICS_OTLP", "1"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "http://metrics:9999/custom",
        ),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4318"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-team=metrics"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-team=general"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "2500"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
        ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "Delta"),
        ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "gzip"),
    ]);
    assert!(config.enabled && config.console && config.otlp);
    assert_eq!(
        config.otlp_endpoint.as_deref(),
        Some("http://metrics:9999/custom")
    );
    assert_eq!(config.otlp_transport, OtlpProtocol::Grpc);
    assert_eq!(
        config.otlp_headers,
        [("x-team".to_owned(), "metrics".to_owned())]
    );
    assert_eq!(config.otlp_timeout, Some(Duration::from_millis(2500)));
    assert_eq!(config.export_interval, Duration::from_secs(1));
    assert_eq!(config.temporality, Temporality::Delta);
    assert!(config.otlp_gzip);
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());

    // The general endpoint gets /v1/metrics over HTTP, stays as given over gRPC.
    let http = metrics_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4318/")]);
    assert_eq!(
        http.otlp_endpoint.as_deref(),
        Some("http://general:4318/v1/metrics")
    );
    let grpc = metrics_env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4317"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ]);
    assert_eq!(grpc.otlp_endpoint.as_deref(), Some("http://general:4317"));
    assert_eq!(grpc.otlp_transport, OtlpProtocol::Grpc);
    let low = metrics_env(&[(
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
        "lowmemory",
    )]);
    assert_eq!(low.temporality, Temporality::LowMemory);

    // Each malformed value is named once, and the default applies.
    let bad = metrics_env(&[
        ("MELLEA_METRICS_ENABLED", "on"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "soon"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "sometimes",
        ),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "carrier-pigeon"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "collector:4318"),
    ]);
    assert!(!bad.enabled);
    assert_eq!(bad.export_interval, Duration::from_secs(60));
    assert_eq!(bad.temporality, Temporality::Cumulative);
    assert_eq!(bad.otlp_transport, OtlpProtocol::HttpProtobuf);
    assert_eq!(bad.otlp_endpoint, None);
    let warnings = bad.warnings().join("\n");
    assert_eq!(bad.warnings().len(), 5, "{warnings}");
    for name in [
        "MELLEA_METRICS_ENABLED=`on`",
        "OTEL_METRIC_EXPORT_INTERVAL=`soon`",
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=`sometimes`",
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=`carrier-pigeon`",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=`collector:4318`",
    ] {
        assert!(warnings.contains(name), "{name} in {warnings}");
    }
    let zero = metrics_env(&[("OTEL_METRIC_EXPORT_INTERVAL", "0")]);
    assert_eq!(zero.export_interval, Duration::from_secs(60));
    assert!(zero.warnings()[0].contains("at least 1 millisecond"));

    // Header values (credentials) never show in Debug.
    let secret = metrics_env(&[(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "authorization=Bearer%20s3cr3t",
    )]);
    let shown = format!("{secret:?}");
    assert!(
        shown.contains("authorization") && !shown.contains("s3cr3t"),
        "{shown}"
    );
}

#[test]
fn metrics_off_in_the_environment_set_nothing_up() {
    let telemetry = TelemetryBuilder::from_config(TracingConfig::default())
        .with_metrics_config(metrics_env(&[("MELLEA_METRICS_CONSOLE", "1")]))
        .for_session("metrics-off")
        .install()
        .unwrap();
    assert!(!telemetry.metrics_enabled());
    assert!(telemetry.meter_provider().is_none());
}
