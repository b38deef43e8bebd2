//! Spans and metrics share one OTLP configuration reader and one export accounting; what each
//! message counts is named after the signal it is about: `span(s)`, `metric data point(s)`,
//! or both.

use crate::support::echo_backend;
use crate::support::otlp_collector;

use std::time::Duration;

use echo_backend::Echo;
use mellea::generation::{GenerationRequest, Message};
use mellea::telemetry::{MetricsConfig, TelemetryBuilder, TelemetryError, TracingConfig};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use otlp_collector::{Behaviour, HttpCollector, warnings_containing};

fn hello() -> GenerationRequest {
    GenerationRequest::new([Message::user("hello")])
}

/// Refuses every metric export; `ID` tells the tests' exporters (and their warnings) apart.
#[derive(Debug)]
struct RefusingMetrics<const ID: u8>;

impl<const ID: u8> PushMetricExporter for RefusingMetrics<ID> {
    async fn export(&self, _metrics: &ResourceMetrics) -> OTelSdkResult {
        Err(OTelSdkError::InternalFailure("metrics refused".into()))
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

/// Refuses every span export.
#[derive(Debug)]
struct RefusingSpans;

impl SpanExporter for RefusingSpans {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        Err(OTelSdkError::InternalFailure("spans refused".into()))
    }
}

fn undelivered(result: Result<mellea::telemetry::ExportStats, TelemetryError>) -> String {
    match result {
        Err(error @ TelemetryError::Undelivered { .. }) => error.to_string(),
        other => panic!("expected Undelivered, got {other:?}"),
    }
}

#[tokio::test]
async fn lost_metric_data_points_are_called_metric_data_points() {
    otlp_collector::install_warning_capture();
    let telemetry = TelemetryBuilder::from_config(TracingConfig::default())
        .with_metric_exporter(RefusingMetrics::<0>)
        .for_session("signals-metrics")
        .install()
        .unwrap();
    mellea::session::in_session("signals-metrics", Echo::new().generate(hello()))
        .await
        .unwrap();
    let text = undelivered(telemetry.shutdown());
    assert!(
        text.starts_with("3 metric data point(s) were not delivered"),
        "{text}"
    );
    let warned = warnings_containing("RefusingMetrics<0>");
    assert_eq!(warned.len(), 1, "{warned:#?}");
    assert!(
        warned[0].contains("metric data point(s) could not be exported")
            && !warned[0].contains("span"),
        "{warned:#?}"
    );
}

#[tokio::test]
async fn losing_both_signals_names_both() {
    otlp_collector::install_warning_capture();
    let mut config = TracingConfig::default();
    config.enabled = true;
    let telemetry = TelemetryBuilder::from_config(config)
        .with_simple_exporter(RefusingSpans)
        .with_metric_exporter(RefusingMetrics::<1>)
        .for_session("signals-both")
        .install()
        .unwrap();
    mellea::session::in_session("signals-both", Echo::new().generate(hello()))
        .await
        .unwrap();
    let text = undelivered(telemetry.shutdown());
    assert!(
        text.contains("span(s) and metric data point(s) were not delivered"),
        "{text}"
    );
    let warned = warnings_containing("RefusingSpans");
    assert!(
        warned
            .iter()
            .any(|w| w.contains("1 span(s) could not be exported")),
        "{warned:#?}"
    );
}

#[tokio::test]
async fn a_wrong_metrics_path_is_explained_with_the_metrics_path_and_variable() {
    otlp_collector::install_warning_capture();
    let collector = HttpCollector::start(Behaviour::Fail(404)).await;
    let telemetry = TelemetryBuilder::from_config(TracingConfig::default())
        .with_metrics_otlp_endpoint(format!("{}/v1/metrics", collector.endpoint))
        .for_session("signals-404")
        .install()
        .unwrap();
    assert!(
        telemetry.warnings().is_empty(),
        "{:?}",
        telemetry.warnings()
    );
    mellea::session::in_session("signals-404", Echo::new().generate(hello()))
        .await
        .unwrap();
    let result = tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .unwrap();
    let cause = match result {
        Err(TelemetryError::Undelivered { stats, .. }) => stats.last_failure.unwrap(),
        other => panic!("expected Undelivered, got {other:?}"),
    };
    assert!(
        cause.contains("take metrics at /v1/metrics")
            && cause.contains("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
            && !cause.contains("traces"),
        "{cause}"
    );
}

fn metrics_config(pairs: &[(&str, &str)]) -> MetricsConfig {
    MetricsConfig::from_lookup(|name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

fn tracing_config(pairs: &[(&str, &str)]) -> TracingConfig {
    TracingConfig::from_lookup(|name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

/// The same general variables mean the same to both signals, with each signal's own path and
/// its own variables winning.
#[test]
fn both_signals_read_the_general_otlp_variables_the_same_way() {
    let general = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", " http://collector:4318/ "),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-team=a%20b"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
    ];
    let traces = tracing_config(&general);
    let metrics = metrics_config(&general);
    assert_eq!(
        traces.otlp_endpoint.as_deref(),
        Some("http://collector:4318/v1/traces")
    );
    assert_eq!(
        metrics.otlp_endpoint.as_deref(),
        Some("http://collector:4318/v1/metrics")
    );
    assert_eq!(traces.otlp_headers, metrics.otlp_headers);
    assert_eq!(traces.otlp_timeout, Some(Duration::from_millis(2500)));
    assert_eq!(traces.otlp_timeout, metrics.otlp_timeout);
    assert!(traces.otlp_gzip && metrics.otlp_gzip);

    let metrics = metrics_config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "http://m:9090/api/v1/otlp/v1/metrics",
        ),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "100"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
    ]);
    assert_eq!(
        metrics.otlp_endpoint.as_deref(),
        Some("http://m:9090/api/v1/otlp/v1/metrics")
    );
    assert_eq!(metrics.otlp_timeout, Some(Duration::from_millis(100)));
}

/// A malformed value gives the same warning whichever signal reads it; a base URL that
/// already ends in the signal's path is used as given, with a warning naming the signal's
/// own variable.
#[test]
fn both_signals_warn_alike_about_malformed_values() {
    let bad = [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "udp"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
    ];
    assert_eq!(
        tracing_config(&bad).warnings(),
        metrics_config(&bad).warnings()
    );
    let metrics = metrics_config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/v1/metrics")]);
    assert_eq!(
        metrics.otlp_endpoint.as_deref(),
        Some("http://c:4318/v1/metrics")
    );
    assert_eq!(metrics.warnings().len(), 1, "{:?}", metrics.warnings());
    assert!(
        metrics.warnings()[0].contains("did you mean OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?"),
        "{:?}",
        metrics.warnings()
    );
}
