//! One accounted exporter: its counts, its queue bound, its rate-limited warnings, and the wait
//! for its exports to settle.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use super::ExportStats;
use super::hint::hint;
use crate::telemetry::redact::redact_userinfo;
use crate::telemetry::signal::Signal;

/// How often a pipeline repeats a warning about further failures or drops.
const WARN_INTERVAL: Duration = Duration::from_secs(60);

/// One exporter and its counts.
pub(crate) struct Pipeline {
    /// What passes through: spans or metric data points, for the messages.
    signal: Signal,
    /// Where spans go, credentials removed (e.g. `OTLP grpc http://localhost:4317`).
    destination: String,
    /// What `OTEL_*` variables to suggest when this pipeline fails.
    kind: PipelineKind,
    /// The batch queue's capacity (`usize::MAX` for a simple processor).
    max_queue: usize,
    queued: AtomicUsize,
    handed: AtomicU64,
    exported: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    last_failure: Mutex<Option<String>>,
    /// A transport-level description of the last failed request, filled in by the HTTP
    /// client (the OTLP exporter itself only says "network error").
    transport_error: Arc<Mutex<Option<String>>>,
    /// The timeout of one export request, to explain a timeout.
    request_timeout: Option<Duration>,
    created: Instant,
    /// Milliseconds since `created` before which no further failure / drop warning is
    /// emitted; `u64::MAX` until the first one.
    next_failure_warning: AtomicU64,
    next_drop_warning: AtomicU64,
    failures_since_warning: AtomicU64,
    drops_since_warning: AtomicU64,
    settled: Condvar,
    settled_lock: Mutex<()>,
    closed: AtomicBool,
}

/// What kind of exporter a pipeline feeds, for its hints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) enum PipelineKind {
    OtlpHttp,
    OtlpGrpc,
    Other,
}

impl Pipeline {
    pub(crate) fn new(
        signal: Signal,
        destination: impl Into<String>,
        kind: PipelineKind,
        max_queue: Option<usize>,
        request_timeout: Option<Duration>,
        transport_error: Option<Arc<Mutex<Option<String>>>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            signal,
            destination: redact_userinfo(&destination.into()).into_owned(),
            kind,
            max_queue: max_queue.unwrap_or(usize::MAX),
            queued: AtomicUsize::new(0),
            handed: AtomicU64::new(0),
            exported: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            last_failure: Mutex::new(None),
            transport_error: transport_error.unwrap_or_default(),
            request_timeout,
            created: Instant::now(),
            next_failure_warning: AtomicU64::new(u64::MAX),
            next_drop_warning: AtomicU64::new(u64::MAX),
            failures_since_warning: AtomicU64::new(0),
            drops_since_warning: AtomicU64::new(0),
            settled: Condvar::new(),
            settled_lock: Mutex::new(()),
            closed: AtomicBool::new(false),
        })
    }

    pub(crate) fn stats(&self) -> ExportStats {
        let mut stats = ExportStats {
            handed: self.handed.load(Ordering::Acquire),
            exported: self.exported.load(Ordering::Acquire),
            failed: self.failed.load(Ordering::Acquire),
            dropped: self.dropped.load(Ordering::Acquire),
            queued: self.queued.load(Ordering::Acquire) as u64,
            last_failure: self
                .last_failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            undelivered: 0,
        };
        if !stats.all_delivered() {
            stats.undelivered = self.signal.bit();
        }
        stats
    }

    /// Marks the exporter shut down (what is handed to it afterwards is a drop).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }

    /// Takes a place in the batch queue, or counts the span as dropped.
    pub(super) fn try_enqueue(&self) -> bool {
        if self.closed.load(Ordering::Relaxed) {
            self.count_drop("the exporter was already shut down");
            return false;
        }
        if self.queued.fetch_add(1, Ordering::AcqRel) < self.max_queue {
            return true;
        }
        self.queued.fetch_sub(1, Ordering::AcqRel);
        self.count_drop("the batch queue was full");
        false
    }

    fn count_drop(&self, why: &str) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        self.drops_since_warning.fetch_add(1, Ordering::Relaxed);
        if self.may_warn(&self.next_drop_warning) {
            let count = self.drops_since_warning.swap(0, Ordering::Relaxed);
            let total = self.dropped.load(Ordering::Relaxed);
            let queue = if self.max_queue == usize::MAX {
                String::new()
            } else {
                format!(" (max {} spans)", self.max_queue)
            };
            tracing::warn!(
                destination = %self.destination,
                dropped = total,
                "{count} {} for {} dropped because {why}{queue}; {total} dropped so far. \
                 The exporter cannot keep up: raise OTEL_BSP_MAX_QUEUE_SIZE (more memory), \
                 lower OTEL_BSP_SCHEDULE_DELAY, or check that the collector is reachable. \
                 Further drops are reported at most once a minute.",
                self.signal.units(),
                self.destination
            );
        }
    }

    /// Whether a rate-limited warning may be emitted now (the first always may).
    fn may_warn(&self, next: &AtomicU64) -> bool {
        let now = self.created.elapsed().as_millis() as u64;
        let due = next.load(Ordering::Relaxed);
        if due != u64::MAX && now < due {
            return false;
        }
        next.compare_exchange(
            due,
            now + WARN_INTERVAL.as_millis() as u64,
            Ordering::Relaxed,
            Ordering::Relaxed,
        )
        .is_ok()
    }

    pub(crate) fn handed(&self, count: usize) {
        self.handed.fetch_add(count as u64, Ordering::AcqRel);
        if self.max_queue != usize::MAX {
            // Spans reach the exporter only through the queue, so this never underflows.
            self.queued.fetch_sub(count, Ordering::AcqRel);
        }
    }

    pub(crate) fn finished(&self, count: usize, result: &OTelSdkResult, elapsed: Duration) {
        match result {
            Ok(()) => {
                self.exported.fetch_add(count as u64, Ordering::AcqRel);
            }
            Err(error) => {
                let cause = self.describe(error, elapsed);
                *self
                    .last_failure
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(cause.clone());
                self.failed.fetch_add(count as u64, Ordering::AcqRel);
                let since = self
                    .failures_since_warning
                    .fetch_add(count as u64, Ordering::Relaxed)
                    + count as u64;
                if self.may_warn(&self.next_failure_warning) {
                    self.failures_since_warning.store(0, Ordering::Relaxed);
                    let units = self.signal.units();
                    tracing::warn!(
                        destination = %self.destination,
                        failed = self.failed.load(Ordering::Relaxed),
                        "{since} {units} could not be exported: {cause}. Further failures are \
                         reported at most once a minute; `Telemetry::shutdown()` reports the \
                         totals."
                    );
                }
            }
        }
        let _guard = self
            .settled_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.settled.notify_all();
    }

    /// Where the export went, what went wrong, and what to check.
    fn describe(&self, error: &OTelSdkError, elapsed: Duration) -> String {
        let transport = self
            .transport_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let what = match (transport, error) {
            (Some(transport), _) => transport,
            (None, OTelSdkError::Timeout(timeout)) => format!("no answer within {timeout:?}"),
            (None, error) => {
                let text = error.to_string();
                let text = text
                    .strip_prefix("Operation failed: ")
                    .unwrap_or(&text)
                    .to_owned();
                match self.request_timeout {
                    Some(timeout) if text.contains("network error") && elapsed >= timeout => {
                        format!("no answer within {timeout:?}")
                    }
                    _ => text,
                }
            }
        };
        let what = redact_userinfo(&what).into_owned();
        let hint = hint(&what, self.kind, self.signal, self.request_timeout);
        format!("exporting to {} failed: {what}; {hint}", self.destination)
    }

    /// Whether every span that entered the pipeline has been exported, failed or dropped.
    fn is_settled(&self) -> bool {
        self.queued.load(Ordering::Acquire) == 0
            && self.handed.load(Ordering::Acquire)
                == self.exported.load(Ordering::Acquire) + self.failed.load(Ordering::Acquire)
    }

    /// Waits until the pipeline is settled or `deadline` passes; true when settled.
    pub(super) fn wait_settled(&self, deadline: Instant) -> bool {
        let mut guard = self
            .settled_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            if self.is_settled() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            // Woken by every finished export; the short cap covers a span queued after the
            // check above without an export to wake us.
            let wait = (deadline - now).min(Duration::from_millis(50));
            guard = self
                .settled
                .wait_timeout(guard, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("destination", &self.destination)
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_bound_is_exact_and_drops_are_counted() {
        let pipeline = Pipeline::new(
            Signal::Traces,
            "test",
            PipelineKind::Other,
            Some(2),
            None,
            None,
        );
        assert!(pipeline.try_enqueue());
        assert!(pipeline.try_enqueue());
        assert!(!pipeline.try_enqueue());
        pipeline.handed(2);
        assert!(pipeline.try_enqueue());
        let stats = pipeline.stats();
        assert_eq!((stats.queued, stats.handed, stats.dropped), (1, 2, 1));
        assert_eq!(stats.in_flight(), 2);
        assert!(!stats.all_delivered());
    }
}
