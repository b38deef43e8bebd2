//! The span of the generation whose body is running: where a backend records what happens
//! inside one generation (retried attempts, for one) without holding telemetry state itself.

use opentelemetry::Context;
use opentelemetry::trace::{SpanId, SpanRef, TraceContextExt};

/// Marks a context whose current span is a generation's span, by that span's id; put there
/// by the tracing plugin when it opens the span and has no room to register its id.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GenerationSpanId(pub(crate) SpanId);

/// Runs `record` with the span of the generation whose body is running on this task, if a
/// tracing plugin opened one; otherwise does nothing and returns `None`.
///
/// The body of a `#[generation_hook]` method runs under its generation's OpenTelemetry
/// context, so a backend can add events and attributes to the generation's span from inside
/// its body — the OpenAI and Ollama backends record each retried HTTP attempt this way. Outside
/// a traced generation (nobody listens, or the current span is some other span, such as the
/// caller's or a child the body opened) nothing is recorded, so a backend never writes into a
/// span it does not own.
///
/// What is recorded must follow the rule spans follow: no request or server-provided text.
///
/// ```
/// use mellea_runtime::generation::with_generation_span;
/// use opentelemetry::KeyValue;
/// // Outside a traced generation: nothing to record on.
/// let recorded = with_generation_span(|span| span.set_attribute(KeyValue::new("my.attempts", 2)));
/// assert!(recorded.is_none());
/// ```
pub fn with_generation_span<R>(record: impl FnOnce(&SpanRef<'_>) -> R) -> Option<R> {
    let cx = Context::current();
    let span = cx.span();
    let id = span.span_context().span_id();
    // The tracing plugin registers its span's id, or marks the context when it has no room.
    let owned = crate::telemetry::GENERATION_SPANS.contains(id)
        || cx
            .get::<GenerationSpanId>()
            .is_some_and(|marker| marker.0 == id);
    owned.then(|| record(&span))
}
