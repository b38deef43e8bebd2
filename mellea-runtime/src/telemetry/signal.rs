//! Traces and metrics: what differs between the two signals' OTLP settings and messages, so
//! that reading, resolving and reporting is written once for both.

use super::config::{
    OTLP_TRACES_COMPRESSION_ENV, OTLP_TRACES_ENDPOINT_ENV, OTLP_TRACES_HEADERS_ENV,
    OTLP_TRACES_PROTOCOL_ENV, OTLP_TRACES_TIMEOUT_ENV, TRACES_OTLP_ENV,
};
use super::metrics::{
    METRICS_OTLP_ENV, OTLP_METRICS_COMPRESSION_ENV, OTLP_METRICS_ENDPOINT_ENV,
    OTLP_METRICS_HEADERS_ENV, OTLP_METRICS_PROTOCOL_ENV, OTLP_METRICS_TIMEOUT_ENV,
};

/// One OpenTelemetry signal mellea exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    Traces,
    Metrics,
}

/// The signal-specific `OTEL_EXPORTER_OTLP_{SIGNAL}_*` variables; each falls back to the
/// general one.
pub(crate) struct SignalVars {
    pub(crate) enable: &'static str,
    pub(crate) endpoint: &'static str,
    pub(crate) protocol: &'static str,
    pub(crate) headers: &'static str,
    pub(crate) timeout: &'static str,
    pub(crate) compression: &'static str,
}

impl Signal {
    pub(crate) fn vars(self) -> SignalVars {
        match self {
            Self::Traces => SignalVars {
                enable: TRACES_OTLP_ENV,
                endpoint: OTLP_TRACES_ENDPOINT_ENV,
                protocol: OTLP_TRACES_PROTOCOL_ENV,
                headers: OTLP_TRACES_HEADERS_ENV,
                timeout: OTLP_TRACES_TIMEOUT_ENV,
                compression: OTLP_TRACES_COMPRESSION_ENV,
            },
            Self::Metrics => SignalVars {
                enable: METRICS_OTLP_ENV,
                endpoint: OTLP_METRICS_ENDPOINT_ENV,
                protocol: OTLP_METRICS_PROTOCOL_ENV,
                headers: OTLP_METRICS_HEADERS_ENV,
                timeout: OTLP_METRICS_TIMEOUT_ENV,
                compression: OTLP_METRICS_COMPRESSION_ENV,
            },
        }
    }

    /// The OTLP/HTTP path of the signal, appended to the general endpoint.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::Traces => "/v1/traces",
            Self::Metrics => "/v1/metrics",
        }
    }

    /// The default collector endpoint for `grpc`.
    #[cfg(feature = "otlp")]
    pub(crate) fn default_endpoint(self, grpc: bool) -> String {
        if grpc {
            "http://localhost:4317".to_owned()
        } else {
            format!("http://localhost:4318{}", self.path())
        }
    }

    /// `trace` / `metric`, as in "OTLP trace exporter".
    pub(crate) fn adjective(self) -> &'static str {
        match self {
            Self::Traces => "trace",
            Self::Metrics => "metric",
        }
    }

    /// What one unit of export is called in counts: `span(s)` / `metric data point(s)`.
    pub(crate) fn units(self) -> &'static str {
        match self {
            Self::Traces => "span(s)",
            Self::Metrics => "metric data point(s)",
        }
    }

    /// What is exported, capitalised to start a sentence: `Spans` / `Metrics`.
    pub(crate) fn subject(self) -> &'static str {
        match self {
            Self::Traces => "Spans",
            Self::Metrics => "Metrics",
        }
    }

    /// Its bit in the set of signals [`units_of`] names.
    pub(crate) fn bit(self) -> u8 {
        match self {
            Self::Traces => 1,
            Self::Metrics => 2,
        }
    }
}

/// What a count over several signals is made of, for its message: `span(s)`, `metric data
/// point(s)`, or both.
pub(crate) fn units_of(signals: u8) -> &'static str {
    match signals {
        2 => Signal::Metrics.units(),
        3 => "span(s) and metric data point(s)",
        _ => Signal::Traces.units(),
    }
}
