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
mod builder;
mod config;
mod console;
mod error;
mod export;
mod generation_spans;
mod guard;
mod install;
mod interner;
mod invocation_span;
pub mod metrics;
mod observe;
#[cfg(feature = "otlp")]
mod otlp;
mod otlp_env;
#[cfg(feature = "otlp")]
mod otlp_target;
mod plugin;
mod propagate;
mod provider;
mod redact;
pub mod semconv;
mod signal;
mod tool_plugin;
mod viewer_hints;
mod warnings;

#[doc(hidden)]
pub use crate::env::reread_env_flags;
pub use crate::env::truthy;
pub use agent_plugin::AgentTracingPlugin;
pub use application::ApplicationSpan;
pub use builder::TelemetryBuilder;
pub use config::{
    BSP_EXPORT_TIMEOUT_ENV, BSP_MAX_EXPORT_BATCH_SIZE_ENV, BSP_MAX_QUEUE_SIZE_ENV,
    BSP_SCHEDULE_DELAY_ENV, BatchConfigFromEnv, CAPTURE_MESSAGE_CONTENT_ENV, DEFAULT_SERVICE_NAME,
    OTLP_COMPRESSION_ENV, OTLP_ENDPOINT_ENV, OTLP_HEADERS_ENV, OTLP_PROTOCOL_ENV,
    OTLP_PROTOCOL_HTTP_PROTOBUF, OTLP_TIMEOUT_ENV, OTLP_TRACES_COMPRESSION_ENV,
    OTLP_TRACES_ENDPOINT_ENV, OTLP_TRACES_HEADERS_ENV, OTLP_TRACES_PROTOCOL_ENV,
    OTLP_TRACES_TIMEOUT_ENV, OtlpProtocol, SERVICE_NAME_ENV, TRACES_CONSOLE_ENV,
    TRACES_CONTENT_ENV, TRACES_ENABLED_ENV, TRACES_OTLP_ENV, TracingConfig,
};
pub use console::ConsoleSpanExporter;
pub use error::TelemetryError;
pub use export::ExportStats;
pub(crate) use generation_spans::GENERATION_SPANS;
pub use guard::Telemetry;
pub(crate) use install::active_application_tracer;
pub use install::init_from_env;
pub use metrics::{BackendMetricsPlugin, MetricsConfig};
pub use plugin::BackendTracingPlugin;
pub(crate) use plugin::SpanSlot;
pub use propagate::{Propagated, propagate};
pub use provider::{application_tracer, backend_tracer};
pub use redact::redact_userinfo;
pub use tool_plugin::ToolTracingPlugin;
pub use viewer_hints::{TRACES_VIEWER_HINTS_ENV, ViewerHints};
