//! What tool and agent invocations share: the context their bodies run under, and ending an
//! invocation from a destructor.
//!
//! A tool call or an agent invocation has no generation to lend its handlers; instead each
//! dispatch of one invocation shares one [`Extensions`] map. A pre hook that wants the body to
//! run under another OpenTelemetry context (the tracing plugins put their span there, so that
//! the chat and tool spans inside become its children) stores a [`BodyContext`] in it.

use std::sync::Arc;
use std::task::{Context as TaskContext, Wake, Waker};
use std::thread::Thread;

use opentelemetry::Context;

use crate::plugin::{BoxFuture, Extensions, HookContext};
use crate::session;

/// The OpenTelemetry context an invocation's body runs under, set by a pre hook in the
/// invocation's [`Extensions`] (`ctx.extensions().unwrap().insert(BodyContext(cx))`).
#[derive(Clone, Debug)]
pub struct BodyContext(pub Context);

/// One invocation's dispatch state: its extensions and the caller's context and session.
pub(crate) struct Invocation {
    pub(crate) extensions: Arc<Extensions>,
    pub(crate) parent: Context,
    pub(crate) session: Option<Arc<str>>,
}

impl Invocation {
    /// Begins an invocation under the current context and session.
    pub(crate) fn begin() -> Self {
        Self {
            extensions: Arc::new(Extensions::new()),
            parent: Context::current(),
            session: session::current_session_id(),
        }
    }

    /// The context of one dispatch: the invocation's extensions and session.
    pub(crate) fn hook_ctx(&self) -> HookContext {
        let ctx = HookContext::new().with_extensions(self.extensions.clone());
        match &self.session {
            Some(session) => ctx.with_session_id(session.to_string()),
            None => ctx,
        }
    }

    /// The context the body runs under: a pre hook's [`BodyContext`], else the caller's.
    pub(crate) fn body_context(&self) -> Context {
        self.extensions
            .get::<BodyContext>()
            .map_or_else(|| self.parent.clone(), |body| body.0)
    }
}

/// Finishes an end hook from a destructor, where nothing can be awaited: polled once inline
/// (the tracing plugins finish right there), the rest handed to the ambient tokio runtime, or
/// driven to completion on this thread without one. While the thread unwinds from a panic,
/// plugin code never runs inline.
pub(crate) fn drive_detached(mut firing: BoxFuture<'static, ()>) {
    let runtime = tokio::runtime::Handle::try_current().ok();
    if std::thread::panicking() {
        match runtime {
            Some(runtime) => drop(runtime.spawn(firing)),
            None => tracing::warn!(
                "an invocation was dropped while its thread unwinds from a panic, outside a tokio \
                 runtime; its end hook cannot run safely and is skipped"
            ),
        }
        return;
    }
    let mut cx = TaskContext::from_waker(Waker::noop());
    if firing.as_mut().poll(&mut cx).is_ready() {
        return;
    }
    match runtime {
        Some(runtime) => drop(runtime.spawn(firing)),
        None => block_on(firing),
    }
}

/// Wakes a parked thread.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives a future to completion on this thread (outside any async runtime).
fn block_on(mut future: BoxFuture<'static, ()>) {
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = TaskContext::from_waker(&waker);
    while future.as_mut().poll(&mut cx).is_pending() {
        std::thread::park();
    }
}
