//! [`TelemetryBuilder`]: what the environment says plus the application's own choices.

use std::fmt;
use std::time::Duration;

use opentelemetry_sdk::trace::{
    SdkTracerProvider, SpanExporter, SpanProcessor, TracerProviderBuilder,
};

#[cfg(doc)]
use super::Telemetry;
use super::export::CountingExporter;
use super::metrics::{self, MetricsConfig};
use super::provider::Pipelines;
use super::{ConsoleSpanExporter, OtlpProtocol, TracingConfig};

pub(super) type ProviderStep =
    Box<dyn FnOnce(TracerProviderBuilder, &mut Pipelines) -> TracerProviderBuilder + Send>;

/// Overrides of the batch processor settings, by the builder or `OTEL_BSP_*`.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct BatchSettings {
    pub(super) max_queue_size: Option<usize>,
    pub(super) max_export_batch_size: Option<usize>,
    pub(super) scheduled_delay: Option<Duration>,
}

pub(super) fn type_name_of<T>(_: &T) -> &'static str {
    std::any::type_name::<T>()
}

/// Configures tracing: what the environment says plus the application's own choices.
///
/// ```
/// use mellea_runtime::telemetry::TelemetryBuilder;
/// use opentelemetry_sdk::trace::InMemorySpanExporter;
///
/// let exporter = InMemorySpanExporter::default();
/// let telemetry = TelemetryBuilder::new()
///     .with_simple_exporter(exporter.clone())
///     .for_session("doc-example")
///     .install()
///     .unwrap();
/// assert!(telemetry.is_enabled());
/// // Generations run with `mellea_runtime::session::in_session("doc-example", ...)` are traced
/// // into `exporter`.
/// ```
#[must_use = "nothing is set up until `install` is called"]
pub struct TelemetryBuilder {
    pub(super) config: TracingConfig,
    pub(super) provider: Option<SdkTracerProvider>,
    pub(super) steps: Vec<ProviderStep>,
    pub(super) batch: BatchSettings,
    pub(super) otlp_timeout: Option<Duration>,
    pub(super) export_timeout: Option<Duration>,
    pub(super) console: Option<ConsoleSpanExporter>,
    pub(super) session: Option<String>,
    pub(super) plugin_name: Option<String>,
    pub(super) metrics: metrics::MetricsSetup,
}

impl fmt::Debug for TelemetryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryBuilder")
            .field("config", &self.config)
            .field("own_provider", &self.provider.is_some())
            .field("extra_processors", &self.steps.len())
            .field("session", &self.session)
            .field("metrics", &self.metrics)
            .finish()
    }
}

impl Default for TelemetryBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TelemetryBuilder {
    /// Tracing on, no exporter yet, nothing read from the environment.
    pub fn new() -> Self {
        Self::from_config(TracingConfig {
            enabled: true,
            ..TracingConfig::default()
        })
    }

    /// What the process environment says ([`TracingConfig::from_env`],
    /// [`MetricsConfig::from_env`]).
    pub fn from_env() -> Self {
        Self::from_config(TracingConfig::from_env()).with_metrics_config(MetricsConfig::from_env())
    }

    /// What `config` says.
    pub fn from_config(config: TracingConfig) -> Self {
        Self {
            config,
            provider: None,
            steps: Vec::new(),
            batch: BatchSettings::default(),
            otlp_timeout: None,
            export_timeout: None,
            console: None,
            session: None,
            plugin_name: None,
            metrics: metrics::MetricsSetup::default(),
        }
    }

    /// The configuration so far.
    pub fn config(&self) -> &TracingConfig {
        &self.config
    }

    /// Exports each span as it ends, on the thread that ends it (tests, debugging). What it
    /// exports is counted in [`Telemetry::stats`].
    pub fn with_simple_exporter(mut self, exporter: impl SpanExporter + 'static) -> Self {
        self.steps
            .push(Box::new(move |builder, pipelines: &mut Pipelines| {
                let pipeline = pipelines.application_pipeline(&exporter, false);
                builder.with_simple_exporter(CountingExporter::new(exporter, pipeline))
            }));
        self
    }

    /// Exports spans in batches from a background thread (production). What it exports and
    /// drops is counted in [`Telemetry::stats`].
    pub fn with_batch_exporter(mut self, exporter: impl SpanExporter + 'static) -> Self {
        self.steps
            .push(Box::new(move |builder, pipelines: &mut Pipelines| {
                let pipeline = pipelines.application_pipeline(&exporter, true);
                builder.with_span_processor(pipelines.batch(exporter, pipeline))
            }));
        self
    }

    /// Adds a span processor of the application's own (not counted in
    /// [`Telemetry::stats`]: only the processor knows what it does with spans).
    pub fn with_span_processor(mut self, processor: impl SpanProcessor + 'static) -> Self {
        self.steps.push(Box::new(move |builder, _| {
            builder.with_span_processor(processor)
        }));
        self
    }

    /// Uses the application's tracer provider instead of building one: its processors and
    /// resource apply, exporters asked for here or by the environment are not added (with a
    /// warning), and dropping the guard flushes the provider but does not shut it down.
    pub fn with_provider(mut self, provider: SdkTracerProvider) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Sets `service.name` (overriding `OTEL_SERVICE_NAME`).
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.config.service_name = name.into();
        self
    }

    /// Prints finished spans to standard output (or [`with_console_exporter`]'s writer).
    ///
    /// [`with_console_exporter`]: Self::with_console_exporter
    pub fn with_console(mut self, console: bool) -> Self {
        self.config.console = console;
        self
    }

    /// Prints finished spans with `exporter` (e.g. to a file); implies
    /// [`with_console(true)`](Self::with_console).
    pub fn with_console_exporter(mut self, exporter: ConsoleSpanExporter) -> Self {
        self.config.console = true;
        self.console = Some(exporter);
        self
    }

    /// Exports by OTLP to `endpoint`, used as given (e.g. `http://localhost:4318/v1/traces`
    /// for OTLP/HTTP, `http://localhost:4317` for gRPC).
    pub fn with_otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.config.otlp = true;
        self.config.otlp_endpoint = Some(endpoint.into());
        self
    }

    /// Exports by OTLP with `protocol` (overriding `OTEL_EXPORTER_OTLP_PROTOCOL`).
    pub fn with_otlp_protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.config.otlp_transport = protocol;
        self.config.otlp_protocol = Some(protocol.as_str().to_owned());
        self
    }

    /// How long one OTLP export request may take (default: `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`,
    /// else `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10 s).
    pub fn with_otlp_timeout(mut self, timeout: Duration) -> Self {
        self.otlp_timeout = Some(timeout);
        self
    }

    /// How long [`Telemetry::force_flush`] and [`Telemetry::shutdown`] (and dropping the
    /// guard) wait for the exports they trigger (default: `OTEL_BSP_EXPORT_TIMEOUT`, else the
    /// OTLP export timeout plus one second, so that an export that times out is still counted
    /// as failed).
    pub fn with_export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = Some(timeout);
        self
    }

    /// How many finished spans each batch processor this builder adds may hold while its
    /// exporter is busy or failing (default `OTEL_BSP_MAX_QUEUE_SIZE`, else 2048); spans beyond
    /// it are dropped, so the memory tracing takes stays bounded when a collector is down.
    pub fn with_max_queue_size(mut self, size: usize) -> Self {
        self.batch.max_queue_size = Some(size);
        self
    }

    /// How many spans go into one export (default `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, else 512).
    pub fn with_max_export_batch_size(mut self, size: usize) -> Self {
        self.batch.max_export_batch_size = Some(size);
        self
    }

    /// How long a batch processor waits before exporting what it holds (default
    /// `OTEL_BSP_SCHEDULE_DELAY`, else 5 s).
    pub fn with_scheduled_delay(mut self, delay: Duration) -> Self {
        self.batch.scheduled_delay = Some(delay);
        self
    }

    /// Records prompts and completions on backend spans (overriding `MELLEA_TRACES_CONTENT`).
    pub fn with_content_capture(mut self, capture: bool) -> Self {
        self.config.capture_content = capture;
        self
    }

    /// Registers the backend tracing plugin for the generations of one session only (those run
    /// under [`session::in_session`](crate::session::in_session) with that id), under the
    /// name `backend_tracing.session.{session_id}`. Such installations are independent of the
    /// process-wide one and of each other: each test can have its own exporter.
    pub fn for_session(mut self, session_id: impl Into<String>) -> Self {
        self.session = Some(session_id.into());
        self
    }

    /// Registers the plugin under `name` instead of `backend_tracing` (or
    /// `backend_tracing.session.{id}`).
    pub fn with_plugin_name(mut self, name: impl Into<String>) -> Self {
        self.plugin_name = Some(name.into());
        self
    }
}
