//! Accounting of every span handed to an exporter: delivered, failed, or dropped because the
//! batch queue was full, so that no span is lost without a word.
//!
//! Each exporter the builder adds is one [`Pipeline`]: a [`CountingExporter`] wraps the
//! exporter (handed / exported / failed, last failure's cause), and for batch export a
//! [`BoundedQueue`] processor in front of the SDK's `BatchSpanProcessor` decides which spans
//! the queue can still take. The SDK's processor counts its own drops but does not expose the
//! count; deciding here, with a bound no larger than the SDK queue's capacity, makes the count
//! exact and the SDK queue never overflow.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

use super::redact::redact_userinfo;

/// How often a pipeline repeats a warning about further failures or drops.
const WARN_INTERVAL: Duration = Duration::from_secs(60);

/// What the exporters of one installation did with the spans handed to them (see
/// [`Telemetry::stats`](super::Telemetry::stats)).
///
/// Counts are of span deliveries: a span exported both to the console and by OTLP counts
/// twice.
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
        if other.last_failure.is_some() {
            self.last_failure = other.last_failure;
        }
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

/// One exporter and its counts.
pub(crate) struct Pipeline {
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
        destination: impl Into<String>,
        kind: PipelineKind,
        max_queue: Option<usize>,
        request_timeout: Option<Duration>,
        transport_error: Option<Arc<Mutex<Option<String>>>>,
    ) -> Arc<Self> {
        Arc::new(Self {
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
        ExportStats {
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
        }
    }

    /// Marks the exporter shut down (what is handed to it afterwards is a drop).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }

    /// Takes a place in the batch queue, or counts the span as dropped.
    fn try_enqueue(&self) -> bool {
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
                "{count} span(s) for {} dropped because {why}{queue}; {total} dropped so far. \
                 The exporter cannot keep up: raise OTEL_BSP_MAX_QUEUE_SIZE (more memory), \
                 lower OTEL_BSP_SCHEDULE_DELAY, or check that the collector is reachable. \
                 Further drops are reported at most once a minute.",
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
                    tracing::warn!(
                        destination = %self.destination,
                        failed = self.failed.load(Ordering::Relaxed),
                        "{since} span(s) could not be exported: {cause}. Further failures are \
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
        let hint = hint(&what, self.kind, self.request_timeout);
        format!("exporting to {} failed: {what}; {hint}", self.destination)
    }

    /// Whether every span that entered the pipeline has been exported, failed or dropped.
    fn is_settled(&self) -> bool {
        self.queued.load(Ordering::Acquire) == 0
            && self.handed.load(Ordering::Acquire)
                == self.exported.load(Ordering::Acquire) + self.failed.load(Ordering::Acquire)
    }

    /// Waits until the pipeline is settled or `deadline` passes; true when settled.
    fn wait_settled(&self, deadline: Instant) -> bool {
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

/// What to check, given a failure's description.
fn hint(what: &str, kind: PipelineKind, timeout: Option<Duration>) -> String {
    let lower = what.to_ascii_lowercase();
    let grpc = kind == PipelineKind::OtlpGrpc;
    let port = if grpc { 4317 } else { 4318 };
    if lower.contains("no answer within")
        || lower.contains("timed out")
        || lower.contains("deadline")
    {
        let timeout = timeout.map(|t| format!(" ({t:?} now)")).unwrap_or_default();
        return format!(
            "the collector did not answer in time: check that it is reachable and not \
             overloaded, or raise OTEL_EXPORTER_OTLP_TIMEOUT{timeout}"
        );
    }
    // The other protocol's port: HTTP/1.1 meets an HTTP/2-only gRPC server, or gRPC meets an
    // HTTP/1.1 server. Checked before connection errors, whose wording overlaps.
    if lower.contains("invalid http version")
        || lower.contains("http2 error")
        || lower.contains("frame with invalid size")
        || lower.contains("status code: 415")
    {
        return "check that OTEL_EXPORTER_OTLP_PROTOCOL matches the port (grpc on 4317, \
                http/protobuf on 4318, Phoenix's HTTP on 6006)"
            .to_owned();
    }
    if lower.contains("refused")
        || lower.contains("cannot connect")
        || lower.contains("tcp connect")
        || lower.contains("dns")
    {
        return format!(
            "check that a collector listens at that host and port (OTLP/{} usually on \
             {port})",
            if grpc { "gRPC" } else { "HTTP" }
        );
    }
    if lower.contains("status code: 404")
        || lower.contains("status code: 405")
        || lower.contains("unimplemented")
    {
        return if grpc {
            "the server does not implement the OTLP trace service: check the port (gRPC \
             usually 4317) or use OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf for an HTTP port"
                .to_owned()
        } else {
            "check the path: OTLP/HTTP collectors take traces at /v1/traces (give \
             OTEL_EXPORTER_OTLP_ENDPOINT the base URL, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT \
             the full URL); a gRPC port (4317) needs OTEL_EXPORTER_OTLP_PROTOCOL=grpc"
                .to_owned()
        };
    }
    if lower.contains("status code: 401")
        || lower.contains("status code: 403")
        || lower.contains("unauthenticated")
        || lower.contains("permissiondenied")
    {
        return "the collector refused the credentials: check OTEL_EXPORTER_OTLP_HEADERS"
            .to_owned();
    }
    if lower.contains("status code: 400") || lower.contains("protocol") {
        return "check that OTEL_EXPORTER_OTLP_PROTOCOL matches the port (grpc on 4317, \
                http/protobuf on 4318)"
            .to_owned();
    }
    if lower.contains("status code: 429")
        || lower.contains("status code: 503")
        || lower.contains("unavailable")
        || lower.contains("resourceexhausted")
    {
        return "the collector is overloaded or unavailable: check its health and limits"
            .to_owned();
    }
    if lower.contains("status code: 5") || lower.contains("internal") {
        return "the collector failed to store the spans: check its logs".to_owned();
    }
    "check the endpoint's host, port and path, OTEL_EXPORTER_OTLP_PROTOCOL and \
     OTEL_EXPORTER_OTLP_HEADERS"
        .to_owned()
}

/// Counts what passes through `E`.
#[derive(Debug)]
pub(crate) struct CountingExporter<E> {
    inner: E,
    pipeline: Arc<Pipeline>,
}

impl<E> CountingExporter<E> {
    pub(crate) fn new(inner: E, pipeline: Arc<Pipeline>) -> Self {
        Self { inner, pipeline }
    }
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let count = batch.len();
        self.pipeline.handed(count);
        let started = Instant::now();
        let result = self.inner.export(batch).await;
        self.pipeline.finished(count, &result, started.elapsed());
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.pipeline.closed.store(true, Ordering::Relaxed);
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
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

/// Bounds a batch processor's queue and waits for its exports, both exactly.
#[derive(Debug)]
pub(crate) struct BoundedQueue<P> {
    inner: P,
    pipeline: Arc<Pipeline>,
    /// How long `force_flush` waits for the exports it triggers.
    flush_wait: Duration,
}

impl<P> BoundedQueue<P> {
    pub(crate) fn new(inner: P, pipeline: Arc<Pipeline>, flush_wait: Duration) -> Self {
        Self {
            inner,
            pipeline,
            flush_wait,
        }
    }
}

impl<P: SpanProcessor> SpanProcessor for BoundedQueue<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if self.pipeline.try_enqueue() {
            self.inner.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        let deadline = Instant::now() + self.flush_wait;
        // The SDK processor gives up waiting after a fixed 5 s; its export goes on, and the
        // accounting says when it is done.
        let flushed = self.inner.force_flush();
        if self.pipeline.wait_settled(deadline) {
            Ok(())
        } else {
            match flushed {
                Err(OTelSdkError::Timeout(_)) | Ok(()) => {
                    Err(OTelSdkError::Timeout(self.flush_wait))
                }
                Err(other) => Err(other),
            }
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let result = self.inner.shutdown_with_timeout(timeout);
        self.pipeline.closed.store(true, Ordering::Relaxed);
        result
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_name_what_to_check() {
        let http = |what| hint(what, PipelineKind::OtlpHttp, Some(Duration::from_secs(10)));
        assert!(http("cannot connect: Connection refused (os error 111)").contains("port"));
        assert!(http("HTTP export failed with status code: 404").contains("path"));
        assert!(http("HTTP export failed with status code: 401").contains("HEADERS"));
        assert!(http("HTTP export failed with status code: 415").contains("PROTOCOL"));
        assert!(http("no answer within 10s").contains("OTEL_EXPORTER_OTLP_TIMEOUT (10s now)"));
        assert!(http("HTTP export failed with status code: 500").contains("logs"));
        let grpc = hint(
            "TonicTracesClient export failed with gRPC code: Unimplemented",
            PipelineKind::OtlpGrpc,
            None,
        );
        assert!(grpc.contains("4317"), "{grpc}");
        // What a real collector (Phoenix 20) makes of the other protocol on its port.
        let grpc_on_http = hint(
            "TonicTracesClient export failed with gRPC code: Internal: transport error: http2 \
             error: connection error detected: frame with invalid size",
            PipelineKind::OtlpGrpc,
            None,
        );
        assert!(
            grpc_on_http.contains("OTEL_EXPORTER_OTLP_PROTOCOL"),
            "{grpc_on_http}"
        );
        assert!(http("invalid HTTP version parsed").contains("OTEL_EXPORTER_OTLP_PROTOCOL"));
        assert!(http("HTTP export failed with status code: 405").contains("path"));
        let refused = hint(
            "TonicTracesClient export failed with gRPC code: Unavailable: tcp connect error: \
             Connection refused (os error 111)",
            PipelineKind::OtlpGrpc,
            None,
        );
        assert!(refused.contains("listens"), "{refused}");
    }

    #[test]
    fn the_queue_bound_is_exact_and_drops_are_counted() {
        let pipeline = Pipeline::new("test", PipelineKind::Other, Some(2), None, None);
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
