//! [`ExportStats`]: what the exporters of one installation did with what was handed to them.

use std::fmt;
use std::sync::Arc;

use super::Pipeline;
use crate::telemetry::signal::units_of;

/// What the exporters of one installation did with the spans and metric data points handed to
/// them (see [`Telemetry::stats`](crate::telemetry::Telemetry::stats)).
///
/// Counts are of deliveries: a span exported both to the console and by OTLP counts twice;
/// every export of metrics counts each of its data points once. The fields say "spans" for
/// short.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportStats {
    /// Spans passed to an exporter's `export`.
    pub handed: u64,
    /// Spans whose export the exporter reported successful.
    pub exported: u64,
    /// Spans whose export failed (refused connection, error status, timeout, ...).
    pub failed: u64,
    /// Spans dropped before export because the batch queue was full
    /// (`OTEL_BSP_MAX_QUEUE_SIZE`) or the exporter was already shut down.
    pub dropped: u64,
    /// Spans waiting in a batch queue, not yet handed to the exporter.
    pub queued: u64,
    /// The last failure: where the export went, what went wrong, and what to check.
    pub last_failure: Option<String>,
    /// The signals (bits of `Signal::bit`) with something not delivered, so that messages
    /// name what was lost: spans, metric data points, or both.
    pub(crate) undelivered: u8,
}

impl ExportStats {
    /// Spans handed to an exporter whose export has not finished yet.
    pub fn in_flight(&self) -> u64 {
        self.handed
            .saturating_sub(self.exported)
            .saturating_sub(self.failed)
    }

    /// Spans that failed or were dropped.
    pub fn lost(&self) -> u64 {
        self.failed + self.dropped
    }

    /// Whether every span that reached an exporter pipeline was delivered: nothing lost,
    /// nothing still waiting.
    pub fn all_delivered(&self) -> bool {
        self.lost() == 0 && self.queued == 0 && self.in_flight() == 0
    }

    fn add(&mut self, other: ExportStats) {
        self.handed += other.handed;
        self.exported += other.exported;
        self.failed += other.failed;
        self.dropped += other.dropped;
        self.queued += other.queued;
        self.undelivered |= other.undelivered;
        if other.last_failure.is_some() {
            self.last_failure = other.last_failure;
        }
    }

    /// What the undelivered counts are of: `span(s)`, `metric data point(s)`, or both.
    pub(crate) fn units(&self) -> &'static str {
        units_of(self.undelivered)
    }

    /// The sum over `pipelines`.
    pub(crate) fn sum(pipelines: &[Arc<Pipeline>]) -> Self {
        let mut total = Self::default();
        for pipeline in pipelines {
            total.add(pipeline.stats());
        }
        total
    }
}

impl fmt::Display for ExportStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} exported, {} failed, {} dropped (batch queue full), {} not yet confirmed",
            self.exported,
            self.failed,
            self.dropped,
            self.queued + self.in_flight()
        )?;
        if let Some(cause) = &self.last_failure {
            write!(f, "; last failure: {cause}")?;
        }
        Ok(())
    }
}
