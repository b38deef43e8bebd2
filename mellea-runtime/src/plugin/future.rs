//! The future a handler returns: stored inline when it is small, so that calling a handler
//! does not allocate, and boxed only when it is not.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use stackfuture::StackFuture;

use super::{BoxFuture, HookResult};
use crate::hooks::NoPatch;

/// The largest handler future, in bytes, that [`HandlerFuture`] stores inline; a larger one
/// (or one aligned to more than 8 bytes) is boxed, as every handler future was before.
///
/// Measured: the `#[plugin]` / `#[hook]` call of a handler that holds nothing across an
/// `.await` takes 48 to 64 bytes, the built-in telemetry plugins' handlers (which finish
/// without awaiting) 1 byte, a boxed future 16. The body of a handler that awaits
/// `tokio::time::sleep` takes 136 bytes, one that locks a `tokio::sync::Mutex` 144 (both
/// boxed, with the call around them). The limit is not larger because every dispatch moves
/// and carries this many bytes for the handler it runs: at 256 bytes the copies ate most of
/// what the saved allocations gained.
pub const HANDLER_FUTURE_INLINE_SIZE: usize = 128;

pin_project_lite::pin_project! {
    /// What a [`Handler`](super::Handler) returns: a `Send` future of a [`HookResult`] that
    /// borrows for `'a`, stored inline when it takes at most
    /// [`HANDLER_FUTURE_INLINE_SIZE`] bytes (no allocation per handler call) and boxed
    /// otherwise.
    ///
    /// `#[plugin]` methods and `#[hook]` functions return one without a box. Handlers written
    /// by hand either wrap their future in [`HandlerFuture::new`], or return a
    /// [`BoxFuture`] (`Box::pin(async move { .. })`), which converts with `From` and costs
    /// its box, as before.
    ///
    /// Unlike a [`BoxFuture`], a `HandlerFuture<'static, _>` is not accepted where a
    /// `HandlerFuture<'a, _>` is expected (the type is invariant in `'a`): a helper that
    /// returns one is generic over the lifetime, `fn proceed<'a>() -> HandlerFuture<'a>`.
    ///
    /// ```
    /// use mellea_runtime::hooks::GenerationPostCall;
    /// use mellea_runtime::plugin::{HandlerFuture, HookAction, HookFn};
    /// let latency = HookFn::new_unboxed::<GenerationPostCall, _>("latency", |payload, _ctx| {
    ///     HandlerFuture::new(async move {
    ///         println!("{} ms", payload.latency_ms);
    ///         Ok(HookAction::Continue)
    ///     })
    /// });
    /// assert_eq!(latency.name(), "latency");
    /// ```
    pub struct HandlerFuture<'a, P = NoPatch> {
        #[pin]
        inner: StackFuture<'a, HookResult<P>, HANDLER_FUTURE_INLINE_SIZE>,
    }
}

impl<'a, P> HandlerFuture<'a, P> {
    /// Wraps `future`: inline if it fits in [`HANDLER_FUTURE_INLINE_SIZE`] bytes, boxed
    /// otherwise.
    #[inline]
    pub fn new<F>(future: F) -> Self
    where
        F: Future<Output = HookResult<P>> + Send + 'a,
    {
        Self {
            inner: StackFuture::from_or_box(future),
        }
    }

    /// A future that is ready with `result` (inline when the result fits).
    ///
    /// ```
    /// use mellea_runtime::plugin::{HandlerFuture, HookAction};
    /// let done: HandlerFuture<'static> = HandlerFuture::ready(Ok(HookAction::Continue));
    /// # drop(done);
    /// ```
    #[inline]
    pub fn ready(result: HookResult<P>) -> Self
    where
        P: Send + 'a,
    {
        Self::new(std::future::ready(result))
    }
}

/// Not generic over the result (where a future is stored depends only on its size and
/// alignment), so that `HandlerFuture::stores_inline::<F>()` needs no type annotations.
impl HandlerFuture<'static> {
    /// Whether [`HandlerFuture::new`] stores a future of type `F` inline (else it boxes it).
    ///
    /// ```
    /// use mellea_runtime::plugin::{HandlerFuture, HookAction, HookResult};
    /// fn inline<F: Future<Output = HookResult>>(_: &F) -> bool {
    ///     HandlerFuture::stores_inline::<F>()
    /// }
    /// assert!(inline(&async { Ok(HookAction::Continue) }));
    /// assert!(!inline(&async {
    ///     let buffer = [0u8; 4096];
    ///     std::future::ready(()).await;
    ///     Ok(HookAction::Continue).map(|action| { drop(buffer); action })
    /// }));
    /// ```
    #[must_use]
    pub const fn stores_inline<F>() -> bool {
        type Inline = StackFuture<'static, HookResult, HANDLER_FUTURE_INLINE_SIZE>;
        Inline::has_space_for::<F>() && Inline::has_alignment_for::<F>()
    }
}

/// A boxed future is kept in its box (the box itself is stored inline): no second allocation.
impl<'a, P: 'a> From<BoxFuture<'a, HookResult<P>>> for HandlerFuture<'a, P> {
    #[inline]
    fn from(future: BoxFuture<'a, HookResult<P>>) -> Self {
        Self::new(future)
    }
}

impl<P> Future for HandlerFuture<'_, P> {
    type Output = HookResult<P>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

impl<P> fmt::Debug for HandlerFuture<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerFuture").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::HookAction;
    use std::task::Waker;

    fn poll_once<P>(future: HandlerFuture<'_, P>) -> Poll<HookResult<P>> {
        let mut future = std::pin::pin!(future);
        future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
    }

    fn stores_inline<F: Future<Output = HookResult>>(_: &F) -> bool {
        HandlerFuture::stores_inline::<F>()
    }

    #[test]
    fn a_small_future_is_inline_and_a_large_one_is_boxed_and_both_run() {
        let small = async { Ok(HookAction::Continue) };
        assert!(stores_inline(&small));
        assert!(matches!(
            poll_once(HandlerFuture::new(small)),
            Poll::Ready(Ok(HookAction::Continue))
        ));

        let large = async {
            let buffer = [7u8; 4096];
            std::future::ready(()).await;
            if buffer.iter().all(|&b| b == 7) {
                Ok(HookAction::Continue)
            } else {
                Err("buffer changed".into())
            }
        };
        assert!(!stores_inline(&large));
        assert!(matches!(
            poll_once(HandlerFuture::new(large)),
            Poll::Ready(Ok(HookAction::Continue))
        ));
    }

    #[test]
    fn a_boxed_future_converts_and_runs() {
        let boxed: BoxFuture<'static, HookResult> = Box::pin(async { Err("failed".into()) });
        match poll_once(HandlerFuture::from(boxed)) {
            Poll::Ready(Err(error)) => assert_eq!(error.to_string(), "failed"),
            _ => panic!("expected the boxed future's error"),
        }
    }

    #[test]
    fn the_future_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<HandlerFuture<'static>>();
    }
}
