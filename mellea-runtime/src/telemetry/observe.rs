//! How the telemetry plugins' handlers are registered: they only observe, so each runs a
//! plain method and answers "go on", ready at once.

use std::sync::Arc;

use crate::hooks::Hook;
use crate::plugin::{HandlerFuture, HookAction, HookContext, PluginHooks, PluginMode};

/// Registers `method` of `target` as an observe-only handler of hook `H` in `mode`.
pub(super) fn observe<H: Hook, T: Send + Sync + 'static>(
    hooks: &mut PluginHooks,
    mode: PluginMode,
    target: &Arc<T>,
    method: fn(&T, &H::Payload, &HookContext),
) {
    hooks.method_unboxed::<H, _, _>(mode, None, Arc::clone(target), move |this, p, ctx| {
        method(this, p, ctx);
        proceed()
    });
}

/// "Go on unchanged", ready at once and stored inline: no allocation per handler call.
pub(super) fn proceed<'a, P: Send + 'a>() -> HandlerFuture<'a, P> {
    HandlerFuture::ready(Ok(HookAction::Continue))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::GenerationPreCallPatch;

    #[test]
    fn proceeding_is_ready_at_once_with_continue() {
        let answer = futures_util::FutureExt::now_or_never(proceed::<GenerationPreCallPatch>());
        assert!(matches!(answer, Some(Ok(HookAction::Continue))));
    }
}
