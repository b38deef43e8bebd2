//! The session a piece of work belongs to.
//!
//! Generations started while a session is current carry its id: session-scoped plugins of that
//! session fire for them (and those of other sessions do not), and spans record it as
//! `gen_ai.conversation.id`.
//!
//! [`in_session`] records the session in two places, because either alone can be lost:
//!
//! - on the future it returns, which marks the session current on its thread for the duration
//!   of each of its polls. No context switch inside can hide it: entering a `tracing` span
//!   (which, with `tracing-opentelemetry`'s context activation, attaches the OpenTelemetry
//!   context captured when that span was created) leaves it in place. It does not cross into
//!   spawned tasks.
//! - in the OpenTelemetry [`Context`] it runs under, which follows the work into tasks spawned
//!   with that context ([`telemetry::propagate`](crate::telemetry::propagate)).
//!
//! The session of a generation is therefore the one of the innermost `in_session` future
//! being polled, else the one of the current OpenTelemetry context ([`current_session_id`]).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use mellea_runtime::session;
//! assert_eq!(session::current_session_id(), None);
//! let seen = session::in_session("session-42", async { session::current_session_id() }).await;
//! assert_eq!(seen.as_deref(), Some("session-42"));
//! # });
//! ```

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::Context;

/// The context entry holding the session id.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SessionId(Arc<str>);

thread_local! {
    /// The session of the innermost [`InSession`] being polled on this thread. Set only for
    /// the span of one synchronous `poll`, so it never outlives the poll that set it.
    static POLLED: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// Runs `future` as part of session `id`, on top of whatever OTel context is current when it
/// starts running.
///
/// Nested sessions: the innermost wins. Wrapping the result in a `tracing` span
/// (`in_session(id, fut).instrument(span)`) or the future inside it
/// (`in_session(id, fut.instrument(span))`) gives the same session.
pub fn in_session<F: Future>(id: impl Into<Arc<str>>, future: F) -> InSession<F> {
    InSession {
        session: Some(id.into()),
        cx: None,
        future,
    }
}

pin_project_lite::pin_project! {
    /// The future of [`in_session`]: `F`, run as part of a session.
    ///
    /// Each poll attaches its OpenTelemetry context (the one current at its first poll, plus
    /// the session) and marks the session current on this thread, both only for that poll.
    #[must_use = "futures do nothing unless polled"]
    pub struct InSession<F> {
        session: Option<Arc<str>>,
        // Captured at the first poll unless given.
        cx: Option<Context>,
        #[pin]
        future: F,
    }
}

impl<F> InSession<F> {
    /// `future` under `cx`, with `session` (if any) marked current while it is polled.
    pub(crate) fn with_context(session: Option<Arc<str>>, cx: Context, future: F) -> Self {
        InSession {
            session,
            cx: Some(cx),
            future,
        }
    }
}

impl<F> fmt::Debug for InSession<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InSession")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl<F: Future> Future for InSession<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let session = &*this.session;
        let cx = this.cx.get_or_insert_with(|| match session {
            Some(id) => Context::current_with_value(SessionId(id.clone())),
            None => Context::current(),
        });
        // Both guards live only for this synchronous poll, never across an await.
        let _attached = cx.clone().attach();
        let _polled = session.as_ref().map(Polled::enter);
        this.future.poll(task)
    }
}

/// Marks a session current on this thread until dropped, then restores the previous one (also
/// when the poll panics).
struct Polled {
    previous: Option<Arc<str>>,
}

impl Polled {
    fn enter(id: &Arc<str>) -> Self {
        let previous = POLLED.with(|polled| polled.replace(Some(id.clone())));
        Polled { previous }
    }
}

impl Drop for Polled {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: a future may be polled while this thread's locals are torn down.
        let _ = POLLED.try_with(|polled| *polled.borrow_mut() = previous);
    }
}

/// The session of the innermost [`InSession`] being polled on this thread, if any.
fn polled_session() -> Option<Arc<str>> {
    POLLED
        .try_with(|polled| polled.borrow().clone())
        .ok()
        .flatten()
}

/// `cx` plus the session `id`.
pub fn with_session(cx: &Context, id: impl Into<Arc<str>>) -> Context {
    cx.with_value(SessionId(id.into()))
}

/// The current session: the one of the innermost [`in_session`] future being polled on this
/// thread, else the one of the current OTel context.
pub fn current_session_id() -> Option<Arc<str>> {
    polled_session().or_else(|| Context::map_current(session_id))
}

/// The session recorded in `cx`, if any.
pub fn session_id(cx: &Context) -> Option<Arc<str>> {
    cx.get::<SessionId>().map(|s| s.0.clone())
}

/// The current session as [`current_session_id`] finds it, and `cx` carrying it, so that work
/// handed on with `cx` (spawned tasks, the generation's body) keeps the session even when it
/// came from the polled future rather than from `cx`.
pub(crate) fn resolve(cx: Context) -> (Context, Option<Arc<str>>) {
    let Some(polled) = polled_session() else {
        let session = session_id(&cx);
        return (cx, session);
    };
    let carried = cx
        .get::<SessionId>()
        .is_some_and(|s| Arc::ptr_eq(&s.0, &polled) || s.0 == polled);
    let cx = if carried {
        cx
    } else {
        cx.with_value(SessionId(polled.clone()))
    };
    (cx, Some(polled))
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::Waker;

    use opentelemetry::context::FutureExt as _;

    use super::*;

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_context_switch_inside_does_not_hide_the_session() {
        // What entering a `tracing` span made before the session does: it attaches a context
        // without the session.
        let seen = block_on(in_session(
            "s",
            async { current_session_id() }.with_context(Context::new()),
        ));
        assert_eq!(seen.as_deref(), Some("s"));
    }

    #[test]
    fn the_innermost_session_wins() {
        let seen = block_on(in_session("outer", async {
            let inner = in_session("inner", async { current_session_id() }).await;
            (inner, current_session_id())
        }));
        assert_eq!(seen.0.as_deref(), Some("inner"));
        assert_eq!(seen.1.as_deref(), Some("outer"));
        // Also when the inner one's context is hidden by a switch.
        let seen = block_on(in_session(
            "outer",
            in_session(
                "inner",
                async { current_session_id() }.with_context(Context::new()),
            ),
        ));
        assert_eq!(seen.as_deref(), Some("inner"));
    }

    #[test]
    fn the_session_is_current_only_while_polled() {
        let mut future = pin!(in_session("s", async {
            let before = current_session_id();
            futures_util::pending!();
            (before, current_session_id())
        }));
        let mut task = TaskContext::from_waker(Waker::noop());
        assert!(future.as_mut().poll(&mut task).is_pending());
        assert_eq!(current_session_id(), None);
        let Poll::Ready((before, after)) = future.as_mut().poll(&mut task) else {
            panic!("the future finishes on its second poll");
        };
        assert_eq!(before.as_deref(), Some("s"));
        assert_eq!(after.as_deref(), Some("s"));
        assert_eq!(current_session_id(), None);
    }

    #[test]
    fn a_panicking_poll_restores_the_previous_session() {
        let caught = block_on(in_session("outer", async {
            let inner = std::panic::AssertUnwindSafe(in_session("inner", async {
                panic!("boom");
            }));
            let caught = futures_util::FutureExt::catch_unwind(inner).await;
            (caught.is_err(), current_session_id())
        }));
        assert!(caught.0);
        assert_eq!(caught.1.as_deref(), Some("outer"));
        assert_eq!(current_session_id(), None);
    }

    #[test]
    fn resolve_puts_the_polled_session_into_the_context() {
        let (cx, session) = block_on(in_session(
            "s",
            async { resolve(Context::current()) }.with_context(Context::new()),
        ));
        assert_eq!(session.as_deref(), Some("s"));
        assert_eq!(session_id(&cx).as_deref(), Some("s"));
        let (cx, session) = resolve(with_session(&Context::new(), "from-cx"));
        assert_eq!(session.as_deref(), Some("from-cx"));
        assert_eq!(session_id(&cx).as_deref(), Some("from-cx"));
        assert_eq!(resolve(Context::new()).1, None);
    }
}
