//! What can go wrong setting up or tearing down telemetry.

use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkError;

use super::{ExportStats, redact_userinfo};
use crate::error::RegistrationError;

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
    /// Some spans or metric data points were not delivered: dropped because a batch queue was full, refused by the
    /// collector, or not confirmed within the wait.
    #[error(
        "{lost} {units} were not delivered ({stats}); waited up to {wait:?} for the exports",
        lost = .stats.lost() + .stats.queued + .stats.in_flight(),
        units = .stats.units()
    )]
    Undelivered {
        /// What the exporters did with every span handed to them.
        stats: ExportStats,
        /// How long flushing or shutting down waited for exports.
        wait: Duration,
    },
}

impl TelemetryError {
    pub(super) fn export(error: OTelSdkError) -> Self {
        Self::Export(redact_userinfo(&error.to_string()).into_owned())
    }
}
