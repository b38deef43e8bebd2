//! Building the tracer provider of one installation: its accounted exporters and the
//! tracing plugin.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, OTEL_BSP_MAX_EXPORT_BATCH_SIZE_DEFAULT,
    OTEL_BSP_MAX_QUEUE_SIZE_DEFAULT, OTEL_BSP_SCHEDULE_DELAY_DEFAULT, SdkTracer, SdkTracerProvider,
    SpanExporter, TracerProviderBuilder,
};

use super::builder::BatchSettings;
use super::export::{BoundedQueue, CountingExporter, Pipeline, PipelineKind};
use super::guard::Inner;
use super::install::{NEXT_INSTALLATION, companion_name};
use super::signal::Signal;
#[cfg(feature = "otlp")]
use super::warnings::build_failed;
use super::warnings::{exporters_not_added, warn};
#[cfg(not(feature = "otlp"))]
use super::warnings::{no_endpoint, otlp_unavailable};
use super::{
    AgentTracingPlugin, BackendTracingPlugin, TelemetryBuilder, ToolTracingPlugin, TracingConfig,
    ViewerHints, semconv,
};
#[cfg(feature = "otlp")]
use super::{otlp, otlp_target, redact_userinfo};

/// The `mellea.backend` tracer of `provider`.
pub fn backend_tracer(provider: &SdkTracerProvider) -> SdkTracer {
    scoped_tracer(provider, semconv::BACKEND_TRACER)
}

/// The `mellea.application` tracer of `provider`.
pub fn application_tracer(provider: &SdkTracerProvider) -> SdkTracer {
    scoped_tracer(provider, semconv::APPLICATION_TRACER)
}

fn scoped_tracer(provider: &SdkTracerProvider, name: &'static str) -> SdkTracer {
    provider.tracer_with_scope(
        InstrumentationScope::builder(name)
            .with_version(env!("CARGO_PKG_VERSION"))
            .build(),
    )
}

/// The application's provider when it supplied one (with a warning if exporters were asked
/// for too: they cannot be added to it), else the one `build` makes; `true` when built here,
/// and so shut down here.
pub(super) fn given_or_built<P>(
    given: Option<P>,
    asked_for_exporters: bool,
    signal: Signal,
    warnings: &mut Vec<String>,
    build: impl FnOnce() -> P,
) -> (P, bool) {
    let Some(provider) = given else {
        return (build(), true);
    };
    if asked_for_exporters {
        warn(warnings, exporters_not_added(signal));
    }
    (provider, false)
}

/// The resource of every provider built here: `service.name`.
pub(super) fn service_resource(service_name: String) -> Resource {
    Resource::builder().with_service_name(service_name).build()
}

/// How long one OTLP export request may take when nothing says otherwise (the OTLP default).
pub(super) const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Added to the export timeout when flushing and shutting down wait for exports, so that an
/// export that times out is still counted as failed rather than left unconfirmed.
pub(super) const WAIT_GRACE: Duration = Duration::from_secs(1);

/// Builds the accounted pipelines of one installation and keeps their counts.
pub(super) struct Pipelines {
    pub(super) batch: BatchSettings,
    /// How long flushing and shutting down wait for the exports.
    pub(super) wait: Duration,
    pub(super) all: Vec<Arc<Pipeline>>,
}

impl Pipelines {
    pub(super) fn max_queue_size(&self) -> usize {
        self.batch
            .max_queue_size
            .unwrap_or(OTEL_BSP_MAX_QUEUE_SIZE_DEFAULT)
            .max(1)
    }

    pub(super) fn new_pipeline(
        &mut self,
        destination: impl Into<String>,
        kind: PipelineKind,
        batched: bool,
        request_timeout: Option<Duration>,
        transport_error: Option<Arc<Mutex<Option<String>>>>,
    ) -> Arc<Pipeline> {
        let max_queue = batched.then(|| self.max_queue_size());
        let pipeline = Pipeline::new(
            Signal::Traces,
            destination,
            kind,
            max_queue,
            request_timeout,
            transport_error,
        );
        self.all.push(pipeline.clone());
        pipeline
    }

    /// The pipeline of an exporter the application added, named after its type.
    pub(super) fn application_pipeline<E>(
        &mut self,
        _exporter: &E,
        batched: bool,
    ) -> Arc<Pipeline> {
        self.new_pipeline(
            std::any::type_name::<E>(),
            PipelineKind::Other,
            batched,
            None,
            None,
        )
    }

    /// A batch processor exporting with `exporter`, counted as `pipeline`.
    pub(super) fn batch(
        &self,
        exporter: impl SpanExporter + 'static,
        pipeline: Arc<Pipeline>,
    ) -> BoundedQueue<BatchSpanProcessor> {
        // Every setting is passed explicitly: they were read (and checked) through the same
        // lookup as the rest of the configuration, which need not be the process environment
        // the SDK's own defaults come from.
        let queue = self.max_queue_size();
        let config = BatchConfigBuilder::default()
            .with_max_queue_size(queue)
            .with_max_export_batch_size(
                self.batch
                    .max_export_batch_size
                    .unwrap_or(OTEL_BSP_MAX_EXPORT_BATCH_SIZE_DEFAULT)
                    .clamp(1, queue),
            )
            .with_scheduled_delay(
                self.batch
                    .scheduled_delay
                    .unwrap_or(OTEL_BSP_SCHEDULE_DELAY_DEFAULT),
            )
            .build();
        let processor =
            BatchSpanProcessor::builder(CountingExporter::new(exporter, pipeline.clone()))
                .with_batch_config(config)
                .build();
        BoundedQueue::new(processor, pipeline, self.wait)
    }
}

impl TelemetryBuilder {
    /// Builds the provider and the plugin; registers nothing.
    pub(super) fn build(self, plugin_name: String) -> Inner {
        let mut warnings = Vec::new();
        for problem in self.config.warnings() {
            warn(&mut warnings, problem.clone());
        }
        let from_env = self.config.batch;
        let batch = BatchSettings {
            max_queue_size: self.batch.max_queue_size.or(from_env.max_queue_size),
            max_export_batch_size: self
                .batch
                .max_export_batch_size
                .or(from_env.max_export_batch_size),
            scheduled_delay: self.batch.scheduled_delay.or(from_env.scheduled_delay),
        };
        let request_timeout = self
            .otlp_timeout
            .or(self.config.otlp_timeout)
            .unwrap_or(DEFAULT_EXPORT_TIMEOUT);
        let wait = self
            .export_timeout
            .or(from_env.export_timeout)
            .unwrap_or(request_timeout + WAIT_GRACE);
        let mut pipelines = Pipelines {
            batch,
            wait,
            all: Vec::new(),
        };
        let mut warnings_built = Vec::new();
        let asked_for_exporters = self.config.console || self.config.otlp || !self.steps.is_empty();
        let service_name = self.config.service_name.clone();
        let (provider, owns_provider) = given_or_built(
            self.provider,
            asked_for_exporters,
            Signal::Traces,
            &mut warnings,
            || {
                let mut builder =
                    SdkTracerProvider::builder().with_resource(service_resource(service_name));
                if self.config.otlp {
                    builder = add_otlp(
                        builder,
                        &self.config,
                        request_timeout,
                        &mut pipelines,
                        &mut warnings_built,
                    );
                }
                if self.config.console {
                    let console = self.console.unwrap_or_default();
                    let pipeline = pipelines.new_pipeline(
                        "the console",
                        PipelineKind::Other,
                        true,
                        None,
                        None,
                    );
                    builder = builder.with_span_processor(pipelines.batch(console, pipeline));
                }
                for step in self.steps {
                    builder = step(builder, &mut pipelines);
                }
                builder.build()
            },
        );
        warnings.append(&mut warnings_built);
        let hints = ViewerHints::from_env();
        let tool_plugin = ToolTracingPlugin::from_provider(&provider)
            .with_name(companion_name(&plugin_name, ToolTracingPlugin::NAME))
            .with_content_capture(self.config.capture_content)
            .with_content_limit(self.config.content_value_limit)
            .with_viewer_hints(hints);
        let agent_plugin = AgentTracingPlugin::from_provider(&provider)
            .with_name(companion_name(&plugin_name, AgentTracingPlugin::NAME))
            .with_content_capture(self.config.capture_content)
            .with_content_limit(self.config.content_value_limit)
            .with_viewer_hints(hints);
        let plugin = BackendTracingPlugin::from_provider(&provider)
            .with_name(plugin_name)
            .with_content_capture(self.config.capture_content)
            .with_content_limit(self.config.content_value_limit);
        Inner {
            id: NEXT_INSTALLATION.fetch_add(1, Ordering::Relaxed),
            config: self.config,
            warnings,
            pipelines: pipelines.all,
            wait,
            application_tracer: Some(application_tracer(&provider)),
            provider: Some(provider),
            owns_provider,
            plugin: Some(Arc::new(plugin)),
            invocation_plugins: Some((Arc::new(tool_plugin), Arc::new(agent_plugin))),
            invocation_registrations: Vec::new(),
            registration: None,
            global: false,
            metrics: None,
        }
    }
}

#[cfg(feature = "otlp")]
fn add_otlp(
    builder: TracerProviderBuilder,
    config: &TracingConfig,
    timeout: Duration,
    pipelines: &mut Pipelines,
    warnings: &mut Vec<String>,
) -> TracerProviderBuilder {
    let Some(target) = otlp_target::resolve(
        Signal::Traces,
        config.otlp_transport,
        config.otlp_endpoint.as_deref(),
        warnings,
    ) else {
        return builder;
    };
    let transport_error = Arc::default();
    let built = otlp::exporter(target.settings(
        timeout,
        &config.otlp_headers,
        config.otlp_gzip,
        &transport_error,
    ));
    match built {
        Ok(exporter) => {
            let pipeline = pipelines.new_pipeline(
                target.destination,
                target.kind,
                true,
                Some(timeout),
                Some(transport_error),
            );
            builder.with_span_processor(pipelines.batch(exporter, pipeline))
        }
        Err(error) => {
            let error = redact_userinfo(&error);
            warn(
                warnings,
                build_failed(Signal::Traces, &target.destination, &error),
            );
            builder
        }
    }
}

#[cfg(not(feature = "otlp"))]
fn add_otlp(
    builder: TracerProviderBuilder,
    config: &TracingConfig,
    _timeout: Duration,
    _pipelines: &mut Pipelines,
    warnings: &mut Vec<String>,
) -> TracerProviderBuilder {
    if config.otlp_endpoint.is_none() {
        warn(warnings, no_endpoint(Signal::Traces, None));
    }
    warn(warnings, otlp_unavailable(Signal::Traces));
    builder
}
