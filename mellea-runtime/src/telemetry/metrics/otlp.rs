//! The OTLP metric exporter, over the same transports as spans: HTTP through the diagnosing
//! blocking client, gRPC through tonic on a runtime of its own.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;

use crate::telemetry::OtlpProtocol;
use crate::telemetry::otlp::configure_http;

/// What one OTLP metric exporter is built from.
pub(super) struct Settings<'a> {
    pub(super) protocol: OtlpProtocol,
    pub(super) endpoint: &'a str,
    pub(super) timeout: Duration,
    pub(super) headers: &'a [(String, String)],
    pub(super) gzip: bool,
    pub(super) temporality: Temporality,
    pub(super) transport_error: Arc<Mutex<Option<String>>>,
}

/// An OTLP metric exporter, with the runtime its gRPC channel lives on.
#[derive(Debug)]
pub(super) struct OtlpMetricExporter {
    inner: opentelemetry_otlp::MetricExporter,
    /// Dropped after `inner`, so the channel's tasks outlive it.
    #[cfg(feature = "otlp-grpc")]
    _runtime: Option<crate::telemetry::otlp::grpc::ExportRuntime>,
}

impl PushMetricExporter for OtlpMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        self.inner.export(metrics).await
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

/// Builds the exporter; the error says why it could not be built.
pub(super) fn exporter(settings: Settings<'_>) -> Result<OtlpMetricExporter, String> {
    match settings.protocol {
        OtlpProtocol::Grpc => grpc_exporter(settings),
        _ => http_exporter(settings),
    }
}

fn http_exporter(settings: Settings<'_>) -> Result<OtlpMetricExporter, String> {
    let builder = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_temporality(settings.temporality);
    let inner = configure_http(
        builder,
        settings.protocol,
        settings.endpoint,
        settings.timeout,
        settings.headers,
        settings.gzip,
        settings.transport_error,
    )?
    .build()
    .map_err(|e| e.to_string())?;
    Ok(OtlpMetricExporter {
        inner,
        #[cfg(feature = "otlp-grpc")]
        _runtime: None,
    })
}

#[cfg(feature = "otlp-grpc")]
fn grpc_exporter(settings: Settings<'_>) -> Result<OtlpMetricExporter, String> {
    use crate::telemetry::otlp::grpc;

    let runtime = grpc::ExportRuntime::start()
        .map_err(|e| format!("cannot start the gRPC export thread: {e}"))?;
    // The channel spawns its connection tasks on the runtime current while it is built.
    let entered = runtime.handle().enter();
    let builder = opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .with_temporality(settings.temporality);
    let inner = grpc::configure(
        builder,
        settings.endpoint,
        settings.timeout,
        settings.headers,
        settings.gzip,
    )?
    .build()
    .map_err(|e| e.to_string())?;
    drop(entered);
    Ok(OtlpMetricExporter {
        inner,
        _runtime: Some(runtime),
    })
}

#[cfg(not(feature = "otlp-grpc"))]
fn grpc_exporter(_settings: Settings<'_>) -> Result<OtlpMetricExporter, String> {
    Err(
        "mellea was built without its `otlp-grpc` cargo feature; enable it, or set \
         OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=http/protobuf and point the endpoint at the \
         collector's OTLP/HTTP port (usually 4318)"
            .to_owned(),
    )
}
