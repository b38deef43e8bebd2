//! Setup warnings: logged once, at WARN, and kept for
//! [`Telemetry::warnings`](super::Telemetry::warnings). The OTLP ones are written once for
//! both signals.

use super::OTLP_ENDPOINT_ENV;
use super::signal::Signal;

/// Logs a setup warning and keeps it for [`Telemetry::warnings`](super::Telemetry::warnings).
pub(super) fn warn(warnings: &mut Vec<String>, message: String) {
    tracing::warn!("{message}");
    warnings.push(message);
}

/// OTLP export of `signal` is on but no endpoint is set; `default` is used meanwhile, if any.
pub(super) fn no_endpoint(signal: Signal, default: Option<&str>) -> String {
    let vars = signal.vars();
    let meanwhile = default
        .map(|d| format!("; exporting to the default {d} meanwhile"))
        .unwrap_or_default();
    format!(
        "OTLP {} exporter is enabled ({}=true) but no endpoint is configured. Set {} or \
         {OTLP_ENDPOINT_ENV} to export {}{meanwhile}.",
        signal.adjective(),
        vars.enable,
        vars.endpoint,
        signal.subject().to_ascii_lowercase(),
    )
}

/// The exporter of `signal` for `destination` could not be built, because of `error`.
#[cfg(feature = "otlp")]
pub(super) fn build_failed(signal: Signal, destination: &str, error: &str) -> String {
    format!(
        "Failed to initialize OTLP {} exporter for {destination}: {error}. {} will not be \
         exported via OTLP.",
        signal.adjective(),
        signal.subject()
    )
}

/// The endpoint of `signal` (`shown` without credentials) is not usable.
#[cfg(feature = "otlp")]
pub(super) fn not_an_http_url(signal: Signal, shown: &str) -> String {
    format!(
        "Failed to initialize OTLP {} exporter: the endpoint `{shown}` is not an http:// or \
         https:// URL with a host. {} will not be exported via OTLP.",
        signal.adjective(),
        signal.subject()
    )
}

/// http/json was asked for, but the `otlp-json` feature is off.
#[cfg(feature = "otlp")]
pub(super) fn json_unavailable(signal: Signal) -> String {
    format!(
        "OTLP protocol http/json was asked for {}, but mellea was built without its \
         `otlp-json` cargo feature; exporting with http/protobuf to the same endpoint instead \
         (OTLP/HTTP collectors accept both). Enable the feature to send JSON.",
        signal.subject().to_ascii_lowercase()
    )
}

/// OTLP export of `signal` is on, but the `otlp` feature is off.
#[cfg(not(feature = "otlp"))]
pub(super) fn otlp_unavailable(signal: Signal) -> String {
    format!(
        "OTLP {} export is enabled ({}=true) but mellea was built without its `otlp` cargo \
         feature. Enable the feature to export {} via OTLP.",
        signal.adjective(),
        signal.vars().enable,
        signal.subject().to_ascii_lowercase()
    )
}

/// Exporters of `signal` were asked for, but the application supplied its own provider.
pub(super) fn exporters_not_added(signal: Signal) -> String {
    match signal {
        Signal::Traces => "exporters and span processors are not added to a tracer provider \
                           supplied with `with_provider`; add them to that provider instead"
            .to_owned(),
        Signal::Metrics => "metric exporters and readers are not added to a meter provider \
                            supplied with `with_meter_provider`; add them to that provider \
                            instead"
            .to_owned(),
    }
}
