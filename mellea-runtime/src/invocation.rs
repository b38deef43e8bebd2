//! What tool and agent invocations share: the context their bodies run under. (Ending one
//! from a destructor goes through the generation's `drive_detached`.)
//!
//! A tool call or an agent invocation has no generation to lend its handlers; instead each
//! dispatch of one invocation shares one [`Extensions`] map. A pre hook that wants the body to
//! run under another OpenTelemetry context (the tracing plugins put their span there, so that
//! the chat and tool spans inside become its children) stores a [`BodyContext`] in it.

use std::sync::Arc;

use opentelemetry::Context;

use crate::plugin::{Extensions, HookContext};
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
            Some(session) => ctx.with_session_id(Arc::clone(session)),
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
