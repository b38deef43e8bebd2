//! Where a generation keeps the tracing plugins' open spans, and how a span records a failure.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use opentelemetry::trace::{SpanId, Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};

use crate::hooks::ErrorInfo;
use crate::telemetry::{GENERATION_SPANS, semconv};

/// Records a failure on the span of `cx`: an `exception` event, status ERROR, and `error.type`
/// (`_OTHER` when the error has no class). The status description and `exception.message` are
/// the error's content-free description, or its full message when `capture_content` is on.
pub(crate) fn record_failure(cx: &Context, error: &ErrorInfo, capture_content: bool) {
    let span = cx.span();
    let error_type = if error.error_type.is_empty() {
        "_OTHER".to_owned()
    } else {
        error.error_type.clone()
    };
    let text = if capture_content {
        error.message.clone()
    } else {
        error.description.clone()
    };
    let exception_type = if error.type_name.is_empty() {
        error_type.clone()
    } else {
        error.type_name.clone()
    };
    span.add_event(
        semconv::EXCEPTION_EVENT,
        vec![
            KeyValue::new(semconv::EXCEPTION_TYPE, exception_type),
            KeyValue::new(semconv::EXCEPTION_MESSAGE, text.clone()),
        ],
    );
    span.set_status(Status::error(text));
    span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, error_type));
}

/// The open spans of one generation, one per tracing plugin that saw it: kept in the
/// generation itself, so its end hook finds the span without a search by id. Nearly always
/// one, which is held inline.
#[derive(Default)]
pub(crate) struct SpanSlot(Mutex<(Option<OpenSpan>, Vec<OpenSpan>)>);

impl SpanSlot {
    fn lock(&self) -> MutexGuard<'_, (Option<OpenSpan>, Vec<OpenSpan>)> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn put(&self, span: OpenSpan) {
        let mut spans = self.lock();
        match &spans.0 {
            None => spans.0 = Some(span),
            Some(_) => spans.1.push(span),
        }
    }

    pub(super) fn take(&self, instance: u64) -> Option<OpenSpan> {
        let mut spans = self.lock();
        if spans.0.as_ref().is_some_and(|s| s.instance == instance) {
            return spans.0.take();
        }
        let index = spans.1.iter().position(|s| s.instance == instance)?;
        Some(spans.1.swap_remove(index))
    }

    pub(super) fn peek(&self, instance: u64) -> Option<Context> {
        let spans = self.lock();
        spans
            .0
            .iter()
            .chain(&spans.1)
            .find(|s| s.instance == instance)
            .map(|s| s.cx.clone())
    }
}

/// A span from pre-call until its end.
pub(super) struct OpenSpan {
    pub(super) instance: u64,
    pub(super) cx: Context,
    /// The span's id, while it is registered as a generation's span.
    pub(super) registered: Option<SpanId>,
    pub(super) open: Arc<AtomicUsize>,
    pub(super) ended: bool,
}

impl OpenSpan {
    pub(super) fn end(mut self) {
        self.cx.span().end();
        self.ended = true;
    }
}

impl Drop for OpenSpan {
    fn drop(&mut self) {
        if !self.ended {
            // The generation ended without its end hook reaching this plugin.
            record_failure(
                &self.cx,
                &ErrorInfo::new(
                    "abandoned",
                    "Abandoned",
                    "the generation ended without its end hook reaching the tracing plugin",
                )
                .with_description(
                    "the generation ended without its end hook reaching the tracing plugin",
                ),
                false,
            );
            self.cx.span().end();
        }
        if let Some(id) = self.registered {
            GENERATION_SPANS.remove(id);
        }
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}
