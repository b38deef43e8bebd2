//! OpenTelemetry tracing of generations: GenAI semantic-convention spans, set up from the
//! environment, exported to the console or by OTLP.
//!
//! One call sets everything up; keep the guard until the program ends, so that the last spans
//! are flushed:
//!
//! ```no_run
//! # fn main() -> Result<(), mellea_runtime::telemetry::TelemetryError> {
//! // MELLEA_TRACES_ENABLED=1 MELLEA_TRACES_CONSOLE=1 cargo run
//! let _telemetry = mellea_runtime::telemetry::init_from_env()?;
//! // ... every generation of a `#[backend]` now emits a `chat {model}` span ...
//! # Ok(()) }
//! ```
//!
//! With `MELLEA_TRACES_ENABLED` on, [`init_from_env`] builds a tracer provider of its own
//! (tracers `mellea.backend` and `mellea.application`, resource `service.name` from
//! `OTEL_SERVICE_NAME`, default `mellea`), adds the exporters the environment asks for
//! (`MELLEA_TRACES_CONSOLE`, `MELLEA_TRACES_OTLP` with `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_ENDPOINT`, over HTTP or gRPC), and registers the
//! [`BackendTracingPlugin`] in the process-wide plugin registry. It does not touch
//! OpenTelemetry's global tracer provider: spans of other libraries still nest with ours
//! through the shared context. See [`TracingConfig`] for every variable.
//!
//! No span is lost without a word: every exporter added here is counted ([`Telemetry::stats`]),
//! the first failed export and the first span dropped from a full batch queue are logged at
//! WARN with the endpoint and what to check (then at most once a minute), and
//! [`Telemetry::shutdown`] returns [`TelemetryError::Undelivered`] unless every span was
//! delivered.
//!
//! Applications that configure OpenTelemetry themselves use [`TelemetryBuilder`]: their own
//! exporters or span processors, or their own provider, and optionally a registration scoped
//! to one session (which is also how tests each get their own exporter). [`ApplicationSpan`]
//! wraps the application's own operations in spans the backend spans nest under.

mod agent_plugin;
mod application;
pub mod attributes;
mod config;
mod console;
mod export;
mod invocation_span;
pub mod metrics;
#[cfg(feature = "otlp")]
mod otlp;
mod otlp_env;
mod plugin;
mod propagate;
mod redact;
pub mod semconv;
mod tool_plugin;
mod viewer_hints;

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, OTEL_BSP_MAX_EXPORT_BATCH_SIZE_DEFAULT,
    OTEL_BSP_MAX_QUEUE_SIZE_DEFAULT, OTEL_BSP_SCHEDULE_DELAY_DEFAULT, SdkTracer, SdkTracerProvider,
    SpanExporter, SpanProcessor, TracerProviderBuilder,
};

pub use agent_plugin::AgentTracingPlugin;
pub use application::ApplicationSpan;
pub use config::{
    BSP_EXPORT_TIMEOUT_ENV, BSP_MAX_EXPORT_BATCH_SIZE_ENV, BSP_MAX_QUEUE_SIZE_ENV,
    BSP_SCHEDULE_DELAY_ENV, BatchConfigFromEnv, CAPTURE_MESSAGE_CONTENT_ENV, DEFAULT_SERVICE_NAME,
    OTLP_COMPRESSION_ENV, OTLP_ENDPOINT_ENV, OTLP_HEADERS_ENV, OTLP_PROTOCOL_ENV,
    OTLP_PROTOCOL_HTTP_PROTOBUF, OTLP_TIMEOUT_ENV, OTLP_TRACES_COMPRESSION_ENV,
    OTLP_TRACES_ENDPOINT_ENV, OTLP_TRACES_HEADERS_ENV, OTLP_TRACES_PROTOCOL_ENV,
    OTLP_TRACES_TIMEOUT_ENV, OtlpProtocol, SERVICE_NAME_ENV, TRACES_CONSOLE_ENV,
    TRACES_CONTENT_ENV, TRACES_ENABLED_ENV, TRACES_OTLP_ENV, TracingConfig, truthy,
};
pub use console::ConsoleSpanExporter;
pub use export::ExportStats;
pub use metrics::{BackendMetricsPlugin, MetricsConfig};
pub use plugin::BackendTracingPlugin;
pub(crate) use plugin::SpanSlot;
pub use propagate::{Propagated, propagate};
pub use redact::redact_userinfo;
pub use tool_plugin::ToolTracingPlugin;
pub use viewer_hints::{TRACES_VIEWER_HINTS_ENV, ViewerHints};

use export::{BoundedQueue, CountingExporter, Pipeline, PipelineKind};

use crate::error::RegistrationError;
use crate::plugin::{Registration, global};

/// Sets up tracing as the environment says (see [`TracingConfig`]) and returns the guard
/// that keeps it running.
///
/// With `MELLEA_TRACES_ENABLED` off this does nothing and returns an inactive guard. Calling
/// it again while a guard of the first call lives returns another handle to the same setup:
/// the plugin is registered once per process. Problems with an exporter never fail the call;
/// they are logged as warnings (also kept in [`Telemetry::warnings`]) and those spans are not
/// exported.
pub fn init_from_env() -> Result<Telemetry, TelemetryError> {
    TelemetryBuilder::from_env().install()
}

/// What can go wrong setting up or tearing down tracing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// The tracing plugin could not be registered.
    #[error(
        "the backend tracing plugin could not be registered: {0}; drop the other plugin of that \
         name, or give this one another name (`TelemetryBuilder::with_plugin_name`)"
    )]
    Registration(#[from] RegistrationError),
    /// Flushing or shutting down the tracer provider failed.
    #[error("exporting the last spans failed: {0}; some spans may not have reached the exporter")]
    Export(String),
    /// Some spans were not delivered: dropped because a batch queue was full, refused by the
    /// collector, or not confirmed within the wait.
    #[error(
        "{lost} span(s) were not delivered ({stats}); waited up to {wait:?} for the exports",
        lost = .stats.lost() + .stats.queued + .stats.in_flight()
    )]
    Undelivered {
        /// What the exporters did with every span handed to them.
        stats: ExportStats,
        /// How long flushing or shutting down waited for exports.
        wait: Duration,
    },
}

impl TelemetryError {
    fn export(error: OTelSdkError) -> Self {
        Self::Export(redact_userinfo(&error.to_string()).into_owned())
    }
}

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

/// The process-wide installation and its registration, while it has not been torn down.
static GLOBAL_INSTALL: Mutex<Option<GlobalSlot>> = Mutex::new(None);

struct GlobalSlot {
    inner: Weak<Inner>,
    /// Kept here too, so that an installation made while the previous one is being dropped
    /// (its last handle gone, its teardown not yet run) can remove exactly that registration.
    registration: Registration,
}

/// The application tracer of the process-wide installation, with the installation's id.
static GLOBAL_APPLICATION_TRACER: RwLock<Option<(u64, SdkTracer)>> = RwLock::new(None);

static NEXT_INSTALLATION: AtomicU64 = AtomicU64::new(1);

/// The application tracer of the process-wide installation, if tracing is set up.
pub(crate) fn active_application_tracer() -> Option<SdkTracer> {
    GLOBAL_APPLICATION_TRACER
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map(|(_, tracer)| tracer.clone())
}

type ProviderStep =
    Box<dyn FnOnce(TracerProviderBuilder, &mut Pipelines) -> TracerProviderBuilder + Send>;

/// How long one OTLP export request may take when nothing says otherwise (the OTLP default).
const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Added to the export timeout when flushing and shutting down wait for exports, so that an
/// export that times out is still counted as failed rather than left unconfirmed.
const WAIT_GRACE: Duration = Duration::from_secs(1);

/// Overrides of the batch processor settings, by the builder or `OTEL_BSP_*`.
#[derive(Clone, Copy, Debug, Default)]
struct BatchSettings {
    max_queue_size: Option<usize>,
    max_export_batch_size: Option<usize>,
    scheduled_delay: Option<Duration>,
}

/// Builds the accounted pipelines of one installation and keeps their counts.
struct Pipelines {
    batch: BatchSettings,
    /// How long flushing and shutting down wait for the exports.
    wait: Duration,
    all: Vec<Arc<Pipeline>>,
}

impl Pipelines {
    fn max_queue_size(&self) -> usize {
        self.batch
            .max_queue_size
            .unwrap_or(OTEL_BSP_MAX_QUEUE_SIZE_DEFAULT)
            .max(1)
    }

    fn new_pipeline(
        &mut self,
        destination: impl Into<String>,
        kind: PipelineKind,
        batched: bool,
        request_timeout: Option<Duration>,
        transport_error: Option<Arc<Mutex<Option<String>>>>,
    ) -> Arc<Pipeline> {
        let max_queue = batched.then(|| self.max_queue_size());
        let pipeline = Pipeline::new(
            destination,
            kind,
            max_queue,
            request_timeout,
            transport_error,
        );
        self.all.push(pipeline.clone());
        pipeline
    }

    /// A batch processor exporting with `exporter`, counted as `pipeline`.
    fn batch(
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

fn type_name_of<T>(_: &T) -> &'static str {
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
    config: TracingConfig,
    provider: Option<SdkTracerProvider>,
    steps: Vec<ProviderStep>,
    batch: BatchSettings,
    otlp_timeout: Option<Duration>,
    export_timeout: Option<Duration>,
    console: Option<ConsoleSpanExporter>,
    session: Option<String>,
    plugin_name: Option<String>,
    metrics: metrics::MetricsSetup,
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
                let pipeline = pipelines.new_pipeline(
                    type_name_of(&exporter),
                    PipelineKind::Other,
                    false,
                    None,
                    None,
                );
                builder.with_simple_exporter(CountingExporter::new(exporter, pipeline))
            }));
        self
    }

    /// Exports spans in batches from a background thread (production). What it exports and
    /// drops is counted in [`Telemetry::stats`].
    pub fn with_batch_exporter(mut self, exporter: impl SpanExporter + 'static) -> Self {
        self.steps
            .push(Box::new(move |builder, pipelines: &mut Pipelines| {
                let pipeline = pipelines.new_pipeline(
                    type_name_of(&exporter),
                    PipelineKind::Other,
                    true,
                    None,
                    None,
                );
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

    /// Sets tracing up: builds the provider, registers the plugin, and returns the guard.
    ///
    /// With tracing disabled in the configuration nothing happens and the guard is inactive.
    /// A process-wide installation (no [`for_session`](Self::for_session)) exists once: while
    /// one lives, installing again returns a handle to it and this builder is not used.
    pub fn install(mut self) -> Result<Telemetry, TelemetryError> {
        let metrics_setup = std::mem::take(&mut self.metrics);
        let metrics_wait = self.export_timeout.unwrap_or_else(|| {
            metrics_setup
                .config
                .otlp_timeout
                .unwrap_or(DEFAULT_EXPORT_TIMEOUT)
                + WAIT_GRACE
        });
        let service_name = self.config.service_name.clone();
        let session = self.session.clone();
        let install_metrics = move |warnings: &mut Vec<String>| {
            metrics_setup.install(session.as_deref(), &service_name, metrics_wait, warnings)
        };
        if !self.config.enabled {
            // A mistyped `MELLEA_TRACES_ENABLED` is exactly when the warning matters.
            let mut warnings = Vec::new();
            for problem in self.config.warnings() {
                warn(&mut warnings, problem.clone());
            }
            let metrics = install_metrics(&mut warnings)?;
            return Ok(Telemetry::disabled(self.config, warnings, metrics));
        }
        match self.session.clone() {
            Some(session) => {
                let name = self
                    .plugin_name
                    .clone()
                    .unwrap_or_else(|| format!("{}.session.{session}", BackendTracingPlugin::NAME));
                let mut inner = self.build(name);
                inner.metrics = install_metrics(&mut inner.warnings)?;
                let plugin = inner
                    .plugin
                    .clone()
                    .expect("an enabled installation has a plugin");
                inner.registration = Some(global().register_for_session(session.clone(), plugin)?);
                inner.register_invocation_plugins(Some(&session))?;
                Ok(Telemetry {
                    inner: Arc::new(inner),
                })
            }
            None => {
                let mut installed = GLOBAL_INSTALL
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if let Some(previous) = installed.take() {
                    if let Some(existing) = previous.inner.upgrade() {
                        tracing::debug!("tracing is already set up; reusing the existing setup");
                        *installed = Some(previous);
                        return Ok(Telemetry { inner: existing });
                    }
                    // Its last handle is gone and its teardown is about to run: it is
                    // superseded.
                    global().unregister(&previous.registration);
                }
                let name = self
                    .plugin_name
                    .clone()
                    .unwrap_or_else(|| BackendTracingPlugin::NAME.to_owned());
                let mut inner = self.build(name);
                inner.metrics = install_metrics(&mut inner.warnings)?;
                let plugin = inner
                    .plugin
                    .clone()
                    .expect("an enabled installation has a plugin");
                // On failure `inner` is dropped right here, under the lock: it must not be
                // marked global yet, or its teardown would take the lock again.
                let registration = global().register(plugin)?;
                inner.register_invocation_plugins(None)?;
                inner.global = true;
                inner.registration = Some(registration.clone());
                *GLOBAL_APPLICATION_TRACER
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) =
                    inner.application_tracer.clone().map(|t| (inner.id, t));
                let inner = Arc::new(inner);
                *installed = Some(GlobalSlot {
                    inner: Arc::downgrade(&inner),
                    registration,
                });
                Ok(Telemetry { inner })
            }
        }
    }

    /// Builds the provider and the plugin; registers nothing.
    fn build(self, plugin_name: String) -> Inner {
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
        let (provider, owns_provider) = match self.provider {
            Some(provider) => {
                if self.config.console || self.config.otlp || !self.steps.is_empty() {
                    warn(
                        &mut warnings,
                        "exporters and span processors are not added to a tracer provider \
                         supplied with `with_provider`; add them to that provider instead"
                            .to_owned(),
                    );
                }
                (provider, false)
            }
            None => {
                let mut builder = SdkTracerProvider::builder().with_resource(
                    Resource::builder()
                        .with_service_name(self.config.service_name.clone())
                        .build(),
                );
                if self.config.otlp {
                    builder = add_otlp(
                        builder,
                        &self.config,
                        request_timeout,
                        &mut pipelines,
                        &mut warnings,
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
                (builder.build(), true)
            }
        };
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

/// The registry name of a tracing plugin installed next to the backend tracing plugin named
/// `backend`: `tool_tracing` for `backend_tracing`, `tool_tracing.session.{id}` for
/// `backend_tracing.session.{id}`, `{backend}.tool_tracing` for a custom name.
fn companion_name(backend: &str, companion: &str) -> String {
    match backend.strip_prefix(BackendTracingPlugin::NAME) {
        Some(rest) => format!("{companion}{rest}"),
        None => format!("{backend}.{companion}"),
    }
}

/// Logs a setup warning and keeps it for [`Telemetry::warnings`].
fn warn(warnings: &mut Vec<String>, message: String) {
    tracing::warn!("{message}");
    warnings.push(message);
}

#[cfg(feature = "otlp")]
fn add_otlp(
    builder: TracerProviderBuilder,
    config: &TracingConfig,
    timeout: Duration,
    pipelines: &mut Pipelines,
    warnings: &mut Vec<String>,
) -> TracerProviderBuilder {
    let mut protocol = config.otlp_transport;
    if protocol == OtlpProtocol::HttpJson && !cfg!(feature = "otlp-json") {
        warn(
            warnings,
            "OTLP protocol http/json was asked for, but mellea was built without its \
             `otlp-json` cargo feature; exporting with http/protobuf to the same endpoint \
             instead (OTLP/HTTP collectors accept both). Enable the feature to send JSON."
                .to_owned(),
        );
        protocol = OtlpProtocol::HttpProtobuf;
    }
    let endpoint = match &config.otlp_endpoint {
        Some(endpoint) => endpoint.trim().to_owned(),
        None => {
            let default = protocol.default_endpoint();
            warn(warnings, no_endpoint_warning(Some(default)));
            default.to_owned()
        }
    };
    let shown = redact_userinfo(&endpoint).into_owned();
    if !otlp_env::is_http_url(&endpoint) {
        warn(
            warnings,
            format!(
                "Failed to initialize OTLP trace exporter: the endpoint `{shown}` is not an \
                 http:// or https:// URL with a host. Spans will not be exported via OTLP."
            ),
        );
        return builder;
    }
    let destination = format!("{shown} (OTLP {})", protocol.as_str());
    let transport_error = Arc::default();
    let built = otlp::exporter(otlp::OtlpSettings {
        protocol,
        endpoint: &endpoint,
        timeout,
        headers: &config.otlp_headers,
        gzip: config.otlp_gzip,
        transport_error: Arc::clone(&transport_error),
    });
    match built {
        Ok(exporter) => {
            let kind = if protocol == OtlpProtocol::Grpc {
                PipelineKind::OtlpGrpc
            } else {
                PipelineKind::OtlpHttp
            };
            let pipeline = pipelines.new_pipeline(
                destination,
                kind,
                true,
                Some(timeout),
                Some(transport_error),
            );
            builder.with_span_processor(pipelines.batch(exporter, pipeline))
        }
        Err(error) => {
            warn(
                warnings,
                format!(
                    "Failed to initialize OTLP trace exporter for {destination}: {}. Spans \
                     will not be exported via OTLP.",
                    redact_userinfo(&error)
                ),
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
        warn(warnings, no_endpoint_warning(None));
    }
    warn(
        warnings,
        "OTLP trace export is enabled (MELLEA_TRACES_OTLP=true) but mellea was built without \
         its `otlp` cargo feature. Enable the feature to export spans via OTLP."
            .to_owned(),
    );
    builder
}

fn no_endpoint_warning(default: Option<&str>) -> String {
    let meanwhile = default
        .map(|d| format!("; exporting to the default {d} meanwhile"))
        .unwrap_or_default();
    format!(
        "OTLP trace exporter is enabled ({TRACES_OTLP_ENV}=true) but no endpoint is configured. \
         Set {OTLP_TRACES_ENDPOINT_ENV} or {OTLP_ENDPOINT_ENV} to export spans{meanwhile}."
    )
}

/// Everything one installation owns.
struct Inner {
    id: u64,
    config: TracingConfig,
    warnings: Vec<String>,
    /// The accounted exporters.
    pipelines: Vec<Arc<Pipeline>>,
    /// How long flushing and shutting down wait for exports.
    wait: Duration,
    provider: Option<SdkTracerProvider>,
    owns_provider: bool,
    plugin: Option<Arc<BackendTracingPlugin>>,
    /// The `execute_tool` and `invoke_agent` tracing plugins, registered with `plugin`.
    invocation_plugins: Option<(Arc<ToolTracingPlugin>, Arc<AgentTracingPlugin>)>,
    invocation_registrations: Vec<Registration>,
    application_tracer: Option<SdkTracer>,
    registration: Option<Registration>,
    global: bool,
    /// The metrics installation, when metrics are on.
    metrics: Option<Arc<metrics::Installed>>,
}

impl Inner {
    /// Registers the tool and agent tracing plugins next to the backend tracing plugin (for
    /// `session`, or process-wide).
    fn register_invocation_plugins(&mut self, session: Option<&str>) -> Result<(), TelemetryError> {
        let Some((tools, agents)) = self.invocation_plugins.clone() else {
            return Ok(());
        };
        for plugin in [tools as Arc<dyn crate::plugin::Plugin>, agents] {
            let registration = match session {
                Some(session) => global().register_for_session(session.to_owned(), plugin)?,
                None => global().register(plugin)?,
            };
            self.invocation_registrations.push(registration);
        }
        Ok(())
    }

    /// The counts of every accounted exporter, of spans and of metric data points.
    fn stats(&self) -> ExportStats {
        let mut pipelines = self.pipelines.clone();
        if let Some(metrics) = &self.metrics {
            pipelines.extend(metrics.pipelines.iter().cloned());
        }
        ExportStats::sum(&pipelines)
    }

    /// Unregisters the plugin, then flushes and (if it built the provider) shuts the provider
    /// down. Idempotent.
    fn teardown(&mut self) -> Result<ExportStats, TelemetryError> {
        if self.global {
            let mut installed = GLOBAL_INSTALL
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if installed
                .as_ref()
                .is_some_and(|slot| std::ptr::eq(slot.inner.as_ptr(), self))
            {
                *installed = None;
            }
        }
        if let Some(registration) = self.registration.take() {
            global().unregister(&registration);
        }
        for registration in self.invocation_registrations.drain(..) {
            global().unregister(&registration);
        }
        if self.global {
            let mut tracer = GLOBAL_APPLICATION_TRACER
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if tracer.as_ref().is_some_and(|(id, _)| *id == self.id) {
                *tracer = None;
            }
        }
        // Shut down before tracing so that both are waited for; its counts stay readable.
        let metrics = self.metrics.as_ref().map(|m| m.pipelines.clone());
        let metrics_result = self
            .metrics
            .take()
            .and_then(metrics::Installed::release)
            .unwrap_or(Ok(()));
        let outcome = |inner: &Self, result: Result<(), OTelSdkError>| {
            let mut pipelines = inner.pipelines.clone();
            pipelines.extend(metrics.iter().flatten().cloned());
            let stats = ExportStats::sum(&pipelines);
            if !stats.all_delivered() {
                return Err(TelemetryError::Undelivered {
                    stats,
                    wait: inner.wait,
                });
            }
            result.map_err(TelemetryError::export)?;
            Ok(stats)
        };
        let Some(provider) = self.provider.take() else {
            return outcome(self, metrics_result);
        };
        let result = if self.owns_provider {
            provider.shutdown_with_timeout(self.wait)
        } else {
            provider.force_flush()
        };
        outcome(self, result.and(metrics_result))
    }

    /// The truth about the exports so far: an error unless every span handed to an accounted
    /// exporter was delivered, then whatever the SDK said.
    fn outcome(&self, result: Result<(), OTelSdkError>) -> Result<ExportStats, TelemetryError> {
        let stats = self.stats();
        if !stats.all_delivered() {
            return Err(TelemetryError::Undelivered {
                stats,
                wait: self.wait,
            });
        }
        result.map_err(TelemetryError::export)?;
        Ok(stats)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Err(error) = self.teardown() {
            tracing::warn!("{error}");
        }
    }
}

/// Keeps tracing set up while it lives; dropping the last handle unregisters the plugin and
/// flushes and shuts down the tracer provider, so no finished span is lost at exit.
///
/// Made by [`init_from_env`] or [`TelemetryBuilder::install`].
#[must_use = "tracing is torn down as soon as the guard is dropped: bind it, e.g. `let _telemetry = ...`"]
pub struct Telemetry {
    inner: Arc<Inner>,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("enabled", &self.is_enabled())
            .field("config", &self.inner.config)
            .field("warnings", &self.inner.warnings)
            .field("exporters", &self.inner.pipelines)
            .finish()
    }
}

impl Telemetry {
    /// A [`TelemetryBuilder`] with tracing on and no exporter yet.
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder::new()
    }

    fn disabled(
        config: TracingConfig,
        warnings: Vec<String>,
        metrics: Option<Arc<metrics::Installed>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                id: NEXT_INSTALLATION.fetch_add(1, Ordering::Relaxed),
                config,
                warnings,
                pipelines: Vec::new(),
                wait: Duration::ZERO,
                provider: None,
                owns_provider: false,
                plugin: None,
                invocation_plugins: None,
                invocation_registrations: Vec::new(),
                application_tracer: None,
                registration: None,
                global: false,
                metrics,
            }),
        }
    }

    /// Whether tracing is set up (false when `MELLEA_TRACES_ENABLED` was off).
    pub fn is_enabled(&self) -> bool {
        self.inner.provider.is_some()
    }

    /// The configuration it was set up with.
    pub fn config(&self) -> &TracingConfig {
        &self.inner.config
    }

    /// Problems met while setting up (each was also logged with `tracing::warn!`).
    pub fn warnings(&self) -> &[String] {
        &self.inner.warnings
    }

    /// The tracer provider spans go through.
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.inner.provider.as_ref()
    }

    /// The registered backend tracing plugin.
    pub fn backend_plugin(&self) -> Option<&Arc<BackendTracingPlugin>> {
        self.inner.plugin.as_ref()
    }

    /// An application span created with this setup's `mellea.application` tracer (a no-op
    /// span when tracing is off).
    pub fn application_span(&self, name: impl Into<Cow<'static, str>>) -> ApplicationSpan {
        let span = ApplicationSpan::new(name);
        match &self.inner.application_tracer {
            Some(tracer) => span.with_tracer(tracer.clone()),
            None => span.without_tracing(),
        }
    }

    /// A `session` span (see [`ApplicationSpan::session`]) created with this setup's tracer.
    pub fn session_span(&self, session_id: impl Into<Arc<str>>) -> ApplicationSpan {
        let span = ApplicationSpan::session(session_id);
        match &self.inner.application_tracer {
            Some(tracer) => span.with_tracer(tracer.clone()),
            None => span.without_tracing(),
        }
    }

    /// Exports every finished span now, waiting for the exports up to the export timeout
    /// (see [`TelemetryBuilder::with_export_timeout`]).
    ///
    /// [`TelemetryError::Undelivered`] if any span handed to an exporter so far was dropped,
    /// failed, or is still unconfirmed (the counts are cumulative since installation).
    pub fn force_flush(&self) -> Result<ExportStats, TelemetryError> {
        let metrics = self
            .inner
            .metrics
            .as_ref()
            .map_or(Ok(()), |m| m.force_flush());
        match &self.inner.provider {
            Some(provider) => self.inner.outcome(provider.force_flush().and(metrics)),
            None => self.inner.outcome(metrics),
        }
    }

    /// What the exporters did with the spans handed to them so far: exported, failed (with
    /// the last failure's cause), dropped because the batch queue was full, still queued.
    ///
    /// Covers the exporters added by the environment and by the builder's `with_*_exporter`
    /// methods; not span processors added with `with_span_processor` or a provider supplied
    /// with `with_provider`.
    pub fn stats(&self) -> ExportStats {
        self.inner.stats()
    }

    /// Tears tracing down now and says whether every span was delivered (dropping the guard
    /// does the same but can only log the outcome, at WARN). If other handles to this setup
    /// exist, only this handle is released (and the counts so far are returned).
    ///
    /// `Ok` with the counts only when every span handed to an exporter was delivered;
    /// [`TelemetryError::Undelivered`] with the counts and the last failure otherwise. Waits
    /// for the last exports up to the export timeout (see
    /// [`TelemetryBuilder::with_export_timeout`]), never longer.
    pub fn shutdown(self) -> Result<ExportStats, TelemetryError> {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => inner.teardown(),
            Err(shared) => Ok(shared.stats()),
        }
    }
}
