//! Handing work to another task without losing its place: the OpenTelemetry context, the
//! session and the `tracing` span of the code that hands it on.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::Context;
use tracing::Instrument as _;
use tracing::instrument::Instrumented;

use crate::session::{self, InSession};

/// Carries the caller's OpenTelemetry context, session and current `tracing` span to `future`,
/// wherever it runs: the way to spawn inside a backend's body or a plugin.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use mellea_runtime::{session, telemetry};
///
/// let seen = session::in_session("s-1", async {
///     // Spans made in the task are children of the caller's current span (inside a
///     // generation's body: the `chat` span), and generations in it belong to session `s-1`.
///     tokio::spawn(telemetry::propagate(async { session::current_session_id() }))
///         .await
///         .unwrap()
/// })
/// .await;
/// assert_eq!(seen.as_deref(), Some("s-1"));
/// # });
/// ```
///
/// Everything is captured when `propagate` is called, so call it where the work is handed
/// on, not inside the other task. Each poll of the returned future enters the `tracing` span,
/// then attaches the OpenTelemetry context (so that the context, which holds the innermost
/// span, wins over the one `tracing-opentelemetry` attaches on entering the `tracing` span),
/// and marks the session current. This is the order that
/// `fut.with_current_context().in_current_span()` gets right and
/// `fut.in_current_span().with_current_context()` gets wrong; `fut.in_current_span()` alone
/// makes spans in the task siblings of the `chat` span instead of its children.
pub fn propagate<F: Future>(future: F) -> Propagated<F> {
    let (cx, session) = session::resolve(Context::current());
    Propagated {
        inner: InSession::with_context(session, cx, future).instrument(tracing::Span::current()),
    }
}

pin_project_lite::pin_project! {
    /// The future of [`propagate`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Propagated<F> {
        #[pin]
        inner: Instrumented<InSession<F>>,
    }
}

impl<F> std::fmt::Debug for Propagated<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Propagated")
            .field("span", self.inner.span())
            .field("future", self.inner.inner())
            .finish()
    }
}

impl<F: Future> Future for Propagated<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        self.project().inner.poll(task)
    }
}
