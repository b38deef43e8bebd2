//! What the telemetry plugins' handlers return: they only observe, so their answer is always
//! "go on", ready at once.

use crate::plugin::{HandlerFuture, HookAction};

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
