//! Where one signal's OTLP exporter sends, decided the same way for spans and metrics: the
//! http/json fallback, the default endpoint, the URL check, each with its warning.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::export::PipelineKind;
use super::otlp::OtlpSettings;
use super::signal::Signal;
use super::warnings::{json_unavailable, no_endpoint, not_an_http_url, warn};
use super::{OtlpProtocol, otlp_env, redact_userinfo};

/// A checked OTLP destination.
pub(super) struct OtlpTarget {
    pub(super) protocol: OtlpProtocol,
    pub(super) endpoint: String,
    /// The endpoint without credentials, with the protocol: what messages and the export
    /// accounting show.
    pub(super) destination: String,
    pub(super) kind: PipelineKind,
}

/// Resolves the configured `protocol` and `endpoint` of `signal`; `None` (after a warning)
/// when the endpoint cannot be used.
pub(super) fn resolve(
    signal: Signal,
    protocol: OtlpProtocol,
    endpoint: Option<&str>,
    warnings: &mut Vec<String>,
) -> Option<OtlpTarget> {
    let mut protocol = protocol;
    if protocol == OtlpProtocol::HttpJson && !cfg!(feature = "otlp-json") {
        warn(warnings, json_unavailable(signal));
        protocol = OtlpProtocol::HttpProtobuf;
    }
    let grpc = protocol == OtlpProtocol::Grpc;
    let endpoint = match endpoint {
        Some(endpoint) => endpoint.trim().to_owned(),
        None => {
            let default = signal.default_endpoint(grpc);
            warn(warnings, no_endpoint(signal, Some(&default)));
            default
        }
    };
    let shown = redact_userinfo(&endpoint).into_owned();
    if !otlp_env::is_http_url(&endpoint) {
        warn(warnings, not_an_http_url(signal, &shown));
        return None;
    }
    let suffix = match signal {
        Signal::Traces => "",
        Signal::Metrics => " metrics",
    };
    Some(OtlpTarget {
        destination: format!("{shown} (OTLP {}{suffix})", protocol.as_str()),
        kind: if grpc {
            PipelineKind::OtlpGrpc
        } else {
            PipelineKind::OtlpHttp
        },
        protocol,
        endpoint,
    })
}

impl OtlpTarget {
    /// What the exporter is built from: this destination and the request settings; the HTTP
    /// client records the cause of a failed request in `transport_error`.
    pub(super) fn settings<'a>(
        &'a self,
        timeout: Duration,
        headers: &'a [(String, String)],
        gzip: bool,
        transport_error: &Arc<Mutex<Option<String>>>,
    ) -> OtlpSettings<'a> {
        OtlpSettings {
            protocol: self.protocol,
            endpoint: &self.endpoint,
            timeout,
            headers,
            gzip,
            transport_error: Arc::clone(transport_error),
        }
    }
}
