//! What metrics should do, as read from `MELLEA_METRICS_*`, `OTEL_EXPORTER_OTLP_METRICS_*`
//! (falling back to `OTEL_EXPORTER_OTLP_*`), `OTEL_METRIC_EXPORT_INTERVAL`,
//! `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` and `MELLEA_PRICING_FILE`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use opentelemetry_sdk::metrics::Temporality;

use super::super::config::OtlpProtocol;
use super::super::otlp_env::{self, debug_otlp_fields};
use super::super::signal::Signal;
use crate::env;

/// Switches metrics on.
pub const METRICS_ENABLED_ENV: &str = "MELLEA_METRICS_ENABLED";
/// Prints a metrics summary to standard output at every export.
pub const METRICS_CONSOLE_ENV: &str = "MELLEA_METRICS_CONSOLE";
/// Exports metrics by OTLP.
pub const METRICS_OTLP_ENV: &str = "MELLEA_METRICS_OTLP";
/// The metrics endpoint, used as given.
pub const OTLP_METRICS_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
/// The metrics OTLP protocol (`grpc`, `http/protobuf`, `http/json`).
pub const OTLP_METRICS_PROTOCOL_ENV: &str = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL";
/// Headers of metric export requests.
pub const OTLP_METRICS_HEADERS_ENV: &str = "OTEL_EXPORTER_OTLP_METRICS_HEADERS";
/// Timeout of one metric export request, in milliseconds.
pub const OTLP_METRICS_TIMEOUT_ENV: &str = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT";
/// Compression of metric export requests (`gzip`, `none`).
pub const OTLP_METRICS_COMPRESSION_ENV: &str = "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION";
/// `cumulative` (default), `delta` or `lowmemory`.
pub const OTLP_METRICS_TEMPORALITY_ENV: &str = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
/// Milliseconds between two metric exports (default 60000).
pub const METRIC_EXPORT_INTERVAL_ENV: &str = "OTEL_METRIC_EXPORT_INTERVAL";
/// A JSON file of per-model prices (see [`Pricing`](super::Pricing)).
pub const PRICING_FILE_ENV: &str = "MELLEA_PRICING_FILE";

/// The export interval when `OTEL_METRIC_EXPORT_INTERVAL` does not say.
pub const DEFAULT_EXPORT_INTERVAL: Duration = Duration::from_secs(60);

/// What metrics should do, as read from the environment.
///
/// ```
/// use mellea_runtime::telemetry::metrics::MetricsConfig;
/// let env = [("MELLEA_METRICS_ENABLED", "1"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")];
/// let config = MetricsConfig::from_lookup(|name| {
///     env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
/// });
/// assert!(config.enabled && !config.otlp);
/// assert_eq!(config.otlp_endpoint.as_deref(), Some("http://collector:4318/v1/metrics"));
/// assert_eq!(config.export_interval, std::time::Duration::from_secs(60));
/// ```
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// `MELLEA_METRICS_ENABLED`.
    pub enabled: bool,
    /// `MELLEA_METRICS_CONSOLE`.
    pub console: bool,
    /// `MELLEA_METRICS_OTLP`.
    pub otlp: bool,
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` as given, else `OTEL_EXPORTER_OTLP_ENDPOINT` with
    /// `/v1/metrics` appended (HTTP) or as given (gRPC).
    pub otlp_endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub otlp_transport: OtlpProtocol,
    /// `OTEL_EXPORTER_OTLP_METRICS_HEADERS`, else `OTEL_EXPORTER_OTLP_HEADERS`.
    pub otlp_headers: Vec<(String, String)>,
    /// `OTEL_EXPORTER_OTLP_METRICS_TIMEOUT`, else `OTEL_EXPORTER_OTLP_TIMEOUT`.
    pub otlp_timeout: Option<Duration>,
    /// Whether requests are gzip-compressed.
    pub otlp_gzip: bool,
    /// `OTEL_METRIC_EXPORT_INTERVAL` (default 60 s).
    pub export_interval: Duration,
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` (default cumulative).
    pub temporality: Temporality,
    /// `MELLEA_PRICING_FILE`.
    pub pricing_file: Option<PathBuf>,
    pub(crate) problems: Vec<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            console: false,
            otlp: false,
            otlp_endpoint: None,
            otlp_transport: OtlpProtocol::HttpProtobuf,
            otlp_headers: Vec::new(),
            otlp_timeout: None,
            otlp_gzip: false,
            export_interval: DEFAULT_EXPORT_INTERVAL,
            temporality: Temporality::Cumulative,
            pricing_file: None,
            problems: Vec::new(),
        }
    }
}

impl fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("MetricsConfig");
        d.field("enabled", &self.enabled)
            .field("console", &self.console)
            .field("otlp", &self.otlp);
        debug_otlp_fields!(d, self);
        d.field("export_interval", &self.export_interval)
            .field("temporality", &self.temporality)
            .field("pricing_file", &self.pricing_file)
            .finish()
    }
}

impl MetricsConfig {
    /// Reads the process environment. Values that are not valid Unicode count as unset.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (name → value), never the process environment.
    ///
    /// Malformed values are not errors: each is recorded in [`warnings`](Self::warnings) with
    /// what was done instead.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut problems = Vec::new();
        let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut flag = |name: &str| env::flag(&lookup, name, &mut problems);
        let enabled = flag(METRICS_ENABLED_ENV);
        let console = flag(METRICS_CONSOLE_ENV);
        let otlp = flag(METRICS_OTLP_ENV);
        let otlp_env = otlp_env::read(Signal::Metrics, &non_empty, &mut problems);
        let export_interval = non_empty(METRIC_EXPORT_INTERVAL_ENV)
            .and_then(|value| {
                otlp_env::millis(
                    METRIC_EXPORT_INTERVAL_ENV,
                    &value,
                    "60000 (60 s)",
                    true,
                    &mut problems,
                )
            })
            .unwrap_or(DEFAULT_EXPORT_INTERVAL);
        let temporality = match non_empty(OTLP_METRICS_TEMPORALITY_ENV) {
            None => Temporality::Cumulative,
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "cumulative" => Temporality::Cumulative,
                "delta" => Temporality::Delta,
                "lowmemory" => Temporality::LowMemory,
                _ => {
                    problems.push(format!(
                        "{OTLP_METRICS_TEMPORALITY_ENV}=`{value}` is not a temporality \
                         (cumulative, delta or lowmemory); using cumulative"
                    ));
                    Temporality::Cumulative
                }
            },
        };
        Self {
            enabled,
            console,
            otlp,
            otlp_endpoint: otlp_env.endpoint,
            otlp_transport: otlp_env.protocol,
            otlp_headers: otlp_env.headers,
            otlp_timeout: otlp_env.timeout,
            otlp_gzip: otlp_env.gzip,
            export_interval,
            temporality,
            pricing_file: non_empty(PRICING_FILE_ENV).map(PathBuf::from),
            problems,
        }
    }

    /// Malformed or unsupported values met while reading, each with what was done instead.
    pub fn warnings(&self) -> &[String] {
        &self.problems
    }
}
