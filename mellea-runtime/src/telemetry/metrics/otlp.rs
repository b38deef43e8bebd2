//! The OTLP metric exporter, over the same transports and with the same configuration as
//! spans: HTTP through the diagnosing blocking client, gRPC through tonic on a runtime of its
//! own.

use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;

use crate::telemetry::OtlpProtocol;
use crate::telemetry::otlp::{OtlpSettings, build_http};

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
pub(super) fn exporter(
    settings: OtlpSettings<'_>,
    temporality: Temporality,
) -> Result<OtlpMetricExporter, String> {
    match settings.protocol {
        OtlpProtocol::Grpc => grpc_exporter(settings, temporality),
        _ => {
            let builder = opentelemetry_otlp::MetricExporter::builder()
                .with_http()
                .with_temporality(temporality);
            Ok(OtlpMetricExporter {
                inner: build_http(builder, &settings, |b| b.build())?,
                #[cfg(feature = "otlp-grpc")]
                _runtime: None,
            })
        }
    }
}

#[cfg(feature = "otlp-grpc")]
fn grpc_exporter(
    settings: OtlpSettings<'_>,
    temporality: Temporality,
) -> Result<OtlpMetricExporter, String> {
    let (inner, runtime) = crate::telemetry::otlp::build_grpc(
        || {
            opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_temporality(temporality)
        },
        &settings,
        |b| b.build(),
    )?;
    Ok(OtlpMetricExporter {
        inner,
        _runtime: Some(runtime),
    })
}

#[cfg(not(feature = "otlp-grpc"))]
fn grpc_exporter(
    _settings: OtlpSettings<'_>,
    _temporality: Temporality,
) -> Result<OtlpMetricExporter, String> {
    Err(crate::telemetry::otlp::grpc_unavailable(
        super::OTLP_METRICS_PROTOCOL_ENV,
    ))
}
