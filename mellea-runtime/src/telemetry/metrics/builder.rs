//! The metrics methods of [`TelemetryBuilder`] and [`Telemetry`].

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;

use super::super::builder::type_name_of;
use super::super::export::PipelineKind;
use super::super::{OtlpProtocol, Telemetry, TelemetryBuilder};
use super::{BackendMetricsPlugin, ConsoleMetricExporter, MetricsConfig, Pricing};

impl TelemetryBuilder {
    /// Switches metrics on or off (overriding `MELLEA_METRICS_ENABLED`).
    pub fn with_metrics(mut self, enabled: bool) -> Self {
        self.metrics.config.enabled = enabled;
        self
    }

    /// Uses `config` for metrics (e.g. [`MetricsConfig::from_lookup`]).
    pub fn with_metrics_config(mut self, config: MetricsConfig) -> Self {
        self.metrics.config = config;
        self
    }

    /// The metrics configuration so far.
    pub fn metrics_config(&self) -> &MetricsConfig {
        &self.metrics.config
    }

    /// Measures with the application's meter provider instead of building one (implies
    /// metrics on): its readers and resource apply, exporters asked for here or by the
    /// environment are not added (with a warning), and dropping the guard flushes the provider
    /// but does not shut it down.
    pub fn with_meter_provider(mut self, provider: SdkMeterProvider) -> Self {
        self.metrics.config.enabled = true;
        self.metrics.provider = Some(provider);
        self
    }

    /// Exports metrics with `exporter` every export interval and at shutdown (implies metrics
    /// on). What it exports is counted in [`Telemetry::stats`].
    pub fn with_metric_exporter(mut self, exporter: impl PushMetricExporter) -> Self {
        self.metrics.config.enabled = true;
        self.metrics.steps.push(Box::new(move |builder, setup| {
            let name = type_name_of(&exporter);
            builder.with_reader(setup.periodic(exporter, name, PipelineKind::Other, None, None))
        }));
        self
    }

    /// Prints a metrics summary at every export (overriding `MELLEA_METRICS_CONSOLE`);
    /// `true` implies metrics on.
    pub fn with_metrics_console(mut self, console: bool) -> Self {
        self.metrics.config.enabled |= console;
        self.metrics.config.console = console;
        self
    }

    /// Prints the metrics summary with `exporter`; implies
    /// [`with_metrics_console(true)`](Self::with_metrics_console).
    pub fn with_metrics_console_exporter(mut self, exporter: ConsoleMetricExporter) -> Self {
        self.metrics.config.enabled = true;
        self.metrics.config.console = true;
        self.metrics.console = Some(exporter);
        self
    }

    /// Exports metrics by OTLP to `endpoint`, used as given (e.g.
    /// `http://localhost:4318/v1/metrics` for OTLP/HTTP, `http://localhost:4317` for gRPC);
    /// implies metrics on.
    pub fn with_metrics_otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.metrics.config.enabled = true;
        self.metrics.config.otlp = true;
        self.metrics.config.otlp_endpoint = Some(endpoint.into());
        self
    }

    /// Exports metrics by OTLP with `protocol` (overriding
    /// `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL`).
    pub fn with_metrics_otlp_protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.metrics.config.otlp_transport = protocol;
        self
    }

    /// How often metrics are exported (overriding `OTEL_METRIC_EXPORT_INTERVAL`).
    pub fn with_metric_export_interval(mut self, interval: Duration) -> Self {
        self.metrics.config.export_interval = interval;
        self
    }

    /// Records `mellea.llm.cost.usd` with these prices (overriding `MELLEA_PRICING_FILE`).
    pub fn with_pricing(mut self, pricing: Pricing) -> Self {
        self.metrics.pricing = Some(pricing);
        self
    }
}

impl Telemetry {
    /// Whether metrics are set up.
    pub fn metrics_enabled(&self) -> bool {
        self.inner.metrics.is_some()
    }

    /// The meter provider generations are measured with.
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.inner.metrics.as_ref().and_then(|m| m.provider())
    }

    /// The registered backend metrics plugin.
    pub fn metrics_plugin(&self) -> Option<&Arc<BackendMetricsPlugin>> {
        self.inner.metrics.as_ref().map(|m| m.plugin())
    }
}
