//! The session a piece of work belongs to, carried in the OpenTelemetry [`Context`].
//!
//! Generations started while a session is current carry its id: session-scoped plugins of that
//! session fire for them (and those of other sessions do not), and spans record it as
//! `gen_ai.conversation.id`. Because the id travels in the OTel context, it follows the work
//! across `.await`s and into tasks spawned with the current context.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use mellea_runtime::session;
//! assert_eq!(session::current_session_id(), None);
//! let seen = session::in_session("session-42", async { session::current_session_id() }).await;
//! assert_eq!(seen.as_deref(), Some("session-42"));
//! # });
//! ```

use std::future::Future;
use std::sync::Arc;

use opentelemetry::Context;
use opentelemetry::context::FutureExt;

/// The context entry holding the session id.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SessionId(Arc<str>);

/// Runs `future` as part of session `id`, on top of whatever OTel context is current when it
/// starts running.
pub fn in_session<F: Future>(
    id: impl Into<Arc<str>>,
    future: F,
) -> impl Future<Output = F::Output> {
    let id = id.into();
    async move {
        let cx = Context::current_with_value(SessionId(id));
        future.with_context(cx).await
    }
}

/// `cx` plus the session `id`.
pub fn with_session(cx: &Context, id: impl Into<Arc<str>>) -> Context {
    cx.with_value(SessionId(id.into()))
}

/// The session of the current OTel context, if any.
pub fn current_session_id() -> Option<Arc<str>> {
    Context::map_current(session_id)
}

/// The session recorded in `cx`, if any.
pub fn session_id(cx: &Context) -> Option<Arc<str>> {
    cx.get::<SessionId>().map(|s| s.0.clone())
}
