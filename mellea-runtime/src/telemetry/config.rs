//! Tracing configuration read from the environment.
//!
//! Every variable is read through a lookup function, so tests and embedders can supply their
//! own environment without touching the process's ([`TracingConfig::from_lookup`]).

use std::fmt;
use std::time::Duration;

use super::attributes::{
    ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV, DEFAULT_CONTENT_VALUE_LIMIT,
    SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV,
};
use super::otlp_env::{self, debug_otlp_fields};
use super::signal::Signal;
use crate::env;

/// Umbrella switch: without it nothing is set up and nothing is registered.
pub const TRACES_ENABLED_ENV: &str = "MELLEA_TRACES_ENABLED";
/// Adds OTLP/HTTP (protobuf) export behind a batch span processor.
pub const TRACES_OTLP_ENV: &str = "MELLEA_TRACES_OTLP";
/// Adds export to standard output behind a batch span processor.
pub const TRACES_CONSOLE_ENV: &str = "MELLEA_TRACES_CONSOLE";
/// Records prompt and completion content on backend spans (may contain PII).
pub const TRACES_CONTENT_ENV: &str = "MELLEA_TRACES_CONTENT";
/// The OpenTelemetry-wide switch for message content capture; same effect as
/// [`TRACES_CONTENT_ENV`].
pub const CAPTURE_MESSAGE_CONTENT_ENV: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";
/// OTLP endpoint for traces, used as given (e.g. `http://localhost:4318/v1/traces`).
pub const OTLP_TRACES_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// OTLP base endpoint for all signals; `/v1/traces` is appended for traces.
pub const OTLP_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// OTLP protocol for traces: `http/protobuf` (default), `grpc` or `http/json`.
pub const OTLP_TRACES_PROTOCOL_ENV: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
/// OTLP protocol for all signals: `http/protobuf` (default), `grpc` or `http/json`.
pub const OTLP_PROTOCOL_ENV: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// `service.name` of the exported resource.
pub const SERVICE_NAME_ENV: &str = "OTEL_SERVICE_NAME";

/// `service.name` when [`SERVICE_NAME_ENV`] is unset or empty.
pub const DEFAULT_SERVICE_NAME: &str = "mellea";

/// The default OTLP protocol.
pub const OTLP_PROTOCOL_HTTP_PROTOBUF: &str = "http/protobuf";

/// OTLP headers for traces (`key=value,...`, values percent-encoded).
pub const OTLP_TRACES_HEADERS_ENV: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
/// OTLP headers for all signals.
pub const OTLP_HEADERS_ENV: &str = "OTEL_EXPORTER_OTLP_HEADERS";
/// Timeout of one trace export request, in milliseconds.
pub const OTLP_TRACES_TIMEOUT_ENV: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
/// Timeout of one export request for all signals, in milliseconds (default 10000).
pub const OTLP_TIMEOUT_ENV: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
/// Compression of trace export requests: `gzip` or `none`.
pub const OTLP_TRACES_COMPRESSION_ENV: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
/// Compression of export requests for all signals: `gzip` or `none`.
pub const OTLP_COMPRESSION_ENV: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
/// Most finished spans a batch processor holds before dropping (default 2048).
pub const BSP_MAX_QUEUE_SIZE_ENV: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
/// Milliseconds between two batch exports (default 5000).
pub const BSP_SCHEDULE_DELAY_ENV: &str = "OTEL_BSP_SCHEDULE_DELAY";
/// Most spans in one export (default 512).
pub const BSP_MAX_EXPORT_BATCH_SIZE_ENV: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
/// Milliseconds flushing and shutting down wait for exports (default: the OTLP timeout).
pub const BSP_EXPORT_TIMEOUT_ENV: &str = "OTEL_BSP_EXPORT_TIMEOUT";

/// What tracing should do, as read from the environment.
///
/// ```
/// use mellea_runtime::telemetry::TracingConfig;
/// let env = [("MELLEA_TRACES_ENABLED", "1"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")];
/// let config = TracingConfig::from_lookup(|name| {
///     env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
/// });
/// assert!(config.enabled && !config.otlp);
/// assert_eq!(config.otlp_endpoint.as_deref(), Some("http://collector:4318/v1/traces"));
/// assert_eq!(config.service_name, "mellea");
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TracingConfig {
    /// [`TRACES_ENABLED_ENV`]: set up tracing at all.
    pub enabled: bool,
    /// [`TRACES_OTLP_ENV`]: export by OTLP.
    pub otlp: bool,
    /// Where OTLP export goes: [`OTLP_TRACES_ENDPOINT_ENV`] as given, otherwise
    /// [`OTLP_ENDPOINT_ENV`] with `/v1/traces` appended; `None` if neither is set (empty
    /// values count as unset).
    pub otlp_endpoint: Option<String>,
    /// The OTLP protocol asked for ([`OTLP_TRACES_PROTOCOL_ENV`], then
    /// [`OTLP_PROTOCOL_ENV`]), if any, as given; [`otlp_transport`](Self::otlp_transport) is
    /// what it means.
    pub otlp_protocol: Option<String>,
    /// [`TRACES_CONSOLE_ENV`]: print finished spans to standard output.
    pub console: bool,
    /// [`SERVICE_NAME_ENV`], or [`DEFAULT_SERVICE_NAME`].
    pub service_name: String,
    /// [`TRACES_CONTENT_ENV`] or [`CAPTURE_MESSAGE_CONTENT_ENV`]: record prompts and
    /// completions (`gen_ai.input.messages` / `gen_ai.output.messages`).
    pub capture_content: bool,
    /// The longest captured content attribute, in characters:
    /// [`SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV`], then [`ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV`],
    /// then [`DEFAULT_CONTENT_VALUE_LIMIT`] (a value that is not a whole number counts as
    /// unset).
    pub content_value_limit: usize,
    /// The OTLP protocol spans are exported with (from [`otlp_protocol`](Self::otlp_protocol);
    /// `http/protobuf` when unset or not understood).
    pub otlp_transport: OtlpProtocol,
    /// Headers (gRPC metadata) sent with every export: [`OTLP_TRACES_HEADERS_ENV`], else
    /// [`OTLP_HEADERS_ENV`], as `key=value` pairs with percent-decoded values.
    pub otlp_headers: Vec<(String, String)>,
    /// How long one export request may take: [`OTLP_TRACES_TIMEOUT_ENV`], else
    /// [`OTLP_TIMEOUT_ENV`] (milliseconds); `None` means 10 s.
    pub otlp_timeout: Option<Duration>,
    /// [`OTLP_TRACES_COMPRESSION_ENV`], else [`OTLP_COMPRESSION_ENV`]: `gzip` compresses
    /// export requests.
    pub otlp_gzip: bool,
    /// The batch span processors' settings (`OTEL_BSP_*`).
    pub batch: BatchConfigFromEnv,
    /// What was wrong with the variables read (each names the variable, its value with
    /// credentials removed, and what was done instead).
    pub(crate) problems: Vec<String>,
}

/// The OTLP wire protocols.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpProtocol {
    /// Protobuf over HTTP (`http/protobuf`), by default to port 4318, path `/v1/traces`.
    #[default]
    HttpProtobuf,
    /// JSON over HTTP (`http/json`); needs the `otlp-json` cargo feature.
    HttpJson,
    /// gRPC (`grpc`), by default to port 4317; needs the `otlp-grpc` cargo feature.
    Grpc,
}

impl OtlpProtocol {
    /// The name used in `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HttpProtobuf => OTLP_PROTOCOL_HTTP_PROTOBUF,
            Self::HttpJson => "http/json",
            Self::Grpc => "grpc",
        }
    }

    /// The collector endpoint used when none is configured.
    pub fn default_endpoint(self) -> &'static str {
        match self {
            Self::Grpc => "http://localhost:4317",
            Self::HttpProtobuf | Self::HttpJson => "http://localhost:4318/v1/traces",
        }
    }
}

/// The `OTEL_BSP_*` settings of the batch span processors; `None` where unset (the SDK's
/// defaults apply: queue 2048, batch 512, delay 5 s).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchConfigFromEnv {
    /// [`BSP_MAX_QUEUE_SIZE_ENV`].
    pub max_queue_size: Option<usize>,
    /// [`BSP_SCHEDULE_DELAY_ENV`].
    pub scheduled_delay: Option<Duration>,
    /// [`BSP_MAX_EXPORT_BATCH_SIZE_ENV`].
    pub max_export_batch_size: Option<usize>,
    /// [`BSP_EXPORT_TIMEOUT_ENV`]: how long flushing and shutting down wait for exports.
    pub export_timeout: Option<Duration>,
}

impl TracingConfig {
    /// Problems found in the variables read: malformed or unsupported values, each with what
    /// was done instead. [`TelemetryBuilder::install`](super::TelemetryBuilder::install) logs
    /// them and adds them to [`Telemetry::warnings`](super::Telemetry::warnings).
    pub fn warnings(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Debug for TracingConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TracingConfig");
        d.field("enabled", &self.enabled)
            .field("otlp", &self.otlp)
            .field("otlp_protocol", &self.otlp_protocol);
        debug_otlp_fields!(d, self);
        d.field("batch", &self.batch)
            .field("console", &self.console)
            .field("service_name", &self.service_name)
            .field("capture_content", &self.capture_content)
            .field("content_value_limit", &self.content_value_limit)
            .finish_non_exhaustive()
    }
}

impl Default for TracingConfig {
    /// Everything off; service name [`DEFAULT_SERVICE_NAME`].
    fn default() -> Self {
        Self {
            enabled: false,
            otlp: false,
            otlp_endpoint: None,
            otlp_protocol: None,
            console: false,
            service_name: DEFAULT_SERVICE_NAME.to_owned(),
            capture_content: false,
            content_value_limit: DEFAULT_CONTENT_VALUE_LIMIT,
            otlp_transport: OtlpProtocol::HttpProtobuf,
            otlp_headers: Vec::new(),
            otlp_timeout: None,
            otlp_gzip: false,
            batch: BatchConfigFromEnv::default(),
            problems: Vec::new(),
        }
    }
}

impl TracingConfig {
    /// Reads the process environment. Values that are not valid Unicode count as unset.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (name → value), never the process environment.
    ///
    /// Malformed or unsupported values are not errors: each is recorded in
    /// [`warnings`](Self::warnings) with what was done instead.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut problems = Vec::new();
        let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut flag = |name: &str| env::flag(&lookup, name, &mut problems);
        let enabled = flag(TRACES_ENABLED_ENV);
        let otlp = flag(TRACES_OTLP_ENV);
        let console = flag(TRACES_CONSOLE_ENV);
        let capture_content = flag(TRACES_CONTENT_ENV) | flag(CAPTURE_MESSAGE_CONTENT_ENV);
        let env = otlp_env::read(Signal::Traces, &non_empty, &mut problems);
        let batch = otlp_env::read_batch(&non_empty, &mut problems);
        let content_value_limit = content_value_limit(&non_empty, &mut problems);
        Self {
            enabled,
            otlp,
            otlp_endpoint: env.endpoint,
            otlp_protocol: env.protocol_given,
            console,
            service_name: non_empty(SERVICE_NAME_ENV)
                .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned()),
            capture_content,
            content_value_limit,
            otlp_transport: env.protocol,
            otlp_headers: env.headers,
            otlp_timeout: env.timeout,
            otlp_gzip: env.gzip,
            batch,
            problems,
        }
    }
}

/// The cap on captured content attributes: the span-specific variable first, then the general
/// one; a value that is not a whole number is named in a warning and skipped.
fn content_value_limit(
    non_empty: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> usize {
    for name in [
        SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV,
        ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV,
    ] {
        let Some(value) = non_empty(name) else {
            continue;
        };
        match value.trim().parse() {
            Ok(limit) => return limit,
            Err(_) => problems.push(format!(
                "{name}=`{value}` is not a whole number of characters; ignored (captured content \
                 is cut at {DEFAULT_CONTENT_VALUE_LIMIT} characters unless another limit is set)"
            )),
        }
    }
    DEFAULT_CONTENT_VALUE_LIMIT
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(env: &[(&str, &str)]) -> TracingConfig {
        TracingConfig::from_lookup(|name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn the_traces_endpoint_wins_and_is_used_verbatim() {
        let c = config(&[
            (OTLP_TRACES_ENDPOINT_ENV, "http://a:4318/custom"),
            (OTLP_ENDPOINT_ENV, "http://b:4318"),
        ]);
        assert_eq!(c.otlp_endpoint.as_deref(), Some("http://a:4318/custom"));
    }

    #[test]
    fn an_empty_traces_endpoint_falls_through_to_the_general_one_with_the_traces_path() {
        let c = config(&[
            (OTLP_TRACES_ENDPOINT_ENV, ""),
            (OTLP_ENDPOINT_ENV, "http://b:4318/"),
        ]);
        assert_eq!(c.otlp_endpoint.as_deref(), Some("http://b:4318/v1/traces"));
    }

    #[test]
    fn the_service_name_defaults_to_mellea() {
        assert_eq!(config(&[]).service_name, "mellea");
        assert_eq!(config(&[(SERVICE_NAME_ENV, "")]).service_name, "mellea");
        assert_eq!(config(&[(SERVICE_NAME_ENV, "svc")]).service_name, "svc");
    }

    #[test]
    fn the_content_limit_prefers_the_span_variable_then_the_general_one_then_the_default() {
        assert_eq!(config(&[]).content_value_limit, DEFAULT_CONTENT_VALUE_LIMIT);
        let both = config(&[
            (SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV, "100"),
            (ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV, "200"),
        ]);
        assert_eq!(both.content_value_limit, 100);
        let general = config(&[(ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV, " 200 ")]);
        assert_eq!(general.content_value_limit, 200);
        let bad = config(&[(SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV, "lots")]);
        assert_eq!(bad.content_value_limit, DEFAULT_CONTENT_VALUE_LIMIT);
    }

    #[test]
    fn the_protocol_prefers_the_traces_variable() {
        let c = config(&[
            (OTLP_TRACES_PROTOCOL_ENV, "grpc"),
            (OTLP_PROTOCOL_ENV, "http/protobuf"),
        ]);
        assert_eq!(c.otlp_protocol.as_deref(), Some("grpc"));
        assert_eq!(config(&[]).otlp_protocol, None);
    }
}
