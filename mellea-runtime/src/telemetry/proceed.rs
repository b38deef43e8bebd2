//! What the telemetry plugins' handlers return: they only observe, so their answer is always
//! "go on", ready at once.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::plugin::{BoxFuture, HookAction, HookResult};

/// "Go on unchanged", as the boxed future a handler returns. The future is zero-sized, so
/// boxing it allocates nothing: a `Box::pin(std::future::ready(..))` holding the result would
/// allocate once per handler call, on every generation.
pub(super) fn proceed<'a, P: Send + 'a>() -> BoxFuture<'a, HookResult<P>> {
    Box::pin(Proceed(PhantomData))
}

/// A future that is at once ready with `Ok(HookAction::Continue)`.
// `fn() -> P`: the future holds no `P`, so it is `Send` and `Unpin` whatever `P` is.
struct Proceed<P>(PhantomData<fn() -> P>);

impl<P> Future for Proceed<P> {
    type Output = HookResult<P>;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(Ok(HookAction::Continue))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::GenerationPreCallPatch;

    #[test]
    fn proceeding_is_zero_sized_so_its_box_allocates_nothing() {
        assert_eq!(size_of::<Proceed<GenerationPreCallPatch>>(), 0);
        let answer = futures_util::FutureExt::now_or_never(proceed::<GenerationPreCallPatch>());
        assert!(matches!(answer, Some(Ok(HookAction::Continue))));
    }
}
