//! What a generation starts under: the caller's OpenTelemetry context and session, taken at
//! the generation's first poll.

use std::sync::Arc;

use opentelemetry::Context;

use crate::session;

/// The context a generation starts under and its session.
///
/// The context is the current one. With the `tracing-opentelemetry` feature, when it holds no
/// span, the current `tracing` span's OpenTelemetry span becomes the parent: with the
/// layer's context activation off, entering a `tracing` span attaches nothing, and the
/// generation would otherwise start a trace of its own. The session is the innermost
/// [`in_session`](crate::session::in_session) being polled, else the context's; it is put into
/// the returned context too, so that the body and the tasks it hands work to keep it.
pub(super) fn capture() -> (Context, Option<Arc<str>>) {
    let cx = Context::current();
    #[cfg(feature = "tracing-opentelemetry")]
    let cx = from_tracing(cx);
    session::resolve(cx)
}

/// `cx`, or `cx` with the current `tracing` span as its span if it has none.
#[cfg(feature = "tracing-opentelemetry")]
fn from_tracing(cx: Context) -> Context {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;

    if cx.has_active_span() {
        return cx;
    }
    let current = tracing::Span::current();
    if current.is_none() {
        return cx;
    }
    let from_tracing = current.context();
    let span = from_tracing.span();
    let span_context = span.span_context();
    if !span_context.is_valid() {
        return cx;
    }
    // Only the span is taken: the values of `cx` (session, baggage) stay those of the caller.
    cx.with_remote_span_context(span_context.clone())
}
