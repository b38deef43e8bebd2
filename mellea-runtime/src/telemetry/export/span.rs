//! The span side of the accounting: a counting [`SpanExporter`] and a [`SpanProcessor`] that
//! bounds the SDK batch processor's queue exactly.

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

use super::Pipeline;

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
        self.pipeline.close();
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
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
        self.pipeline.close();
        result
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
