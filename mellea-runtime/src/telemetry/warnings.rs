//! Setup warnings: logged once, at WARN, and kept for [`Telemetry::warnings`](super::Telemetry::warnings).

use super::{OTLP_ENDPOINT_ENV, OTLP_TRACES_ENDPOINT_ENV, TRACES_OTLP_ENV};

/// Logs a setup warning and keeps it for [`Telemetry::warnings`].
pub(super) fn warn(warnings: &mut Vec<String>, message: String) {
    tracing::warn!("{message}");
    warnings.push(message);
}

pub(super) fn no_endpoint_warning(default: Option<&str>) -> String {
    let meanwhile = default
        .map(|d| format!("; exporting to the default {d} meanwhile"))
        .unwrap_or_default();
    format!(
        "OTLP trace exporter is enabled ({TRACES_OTLP_ENV}=true) but no endpoint is configured. \
         Set {OTLP_TRACES_ENDPOINT_ENV} or {OTLP_ENDPOINT_ENV} to export spans{meanwhile}."
    )
}
