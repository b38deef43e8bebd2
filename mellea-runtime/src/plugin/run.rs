//! Running one handler: under the timeout, with its panics caught, its failures classified and
//! counted, and a note of whether it yielded or blocked its thread.

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::FutureExt;

use super::adapter::Adapter;
use super::{Handler, HandlerFuture, HookAction, HookContext, HookResult};
use crate::HandlerFailure;
use crate::hooks::Hook;

/// What became of one handler call.
pub(crate) enum Outcome<P> {
    Action(HookAction<P>),
    /// The handler failed; counted, not yet logged (what is logged depends on its policy).
    Failed(Failure),
}

/// A failed handler call.
pub(crate) struct Failure {
    pub(crate) kind: HandlerFailure,
    /// What happened, in words that never quote the handler (safe for a WARN): the failure
    /// class, or the timeout with whether the handler had yielded.
    pub(crate) detail: String,
    /// The handler's own words (its error's text, its panic message), which may quote the
    /// prompt: logged only when the registry opts in
    /// ([`PluginRegistry::set_log_handler_messages`](super::PluginRegistry::set_log_handler_messages)).
    pub(crate) message: Option<String>,
}

/// Runs one handler under the timeout, catching its panics and errors.
pub(crate) async fn run_handler<H: Hook>(
    adapter: &Adapter,
    payload: &H::Payload,
    ctx: &HookContext,
    timeout: Option<Duration>,
) -> Outcome<H::Patch> {
    let Some(handler) = adapter.handler.typed::<H>() else {
        adapter.count(|c| &c.errors);
        return Outcome::Failed(Failure {
            kind: HandlerFailure::Error,
            detail: "was registered under the wrong hook".to_owned(),
            message: None,
        });
    };
    // Wall-clock time, not tokio's: what matters is whether the handler held the thread.
    let started = timeout.map(|_| Clock::now());
    let future = AssertUnwindSafe(Call::Start {
        handler,
        payload,
        ctx,
    })
    .catch_unwind();
    let mut future = std::pin::pin!(future);
    // Most handlers finish on their first poll; arm the timer only for those that do not.
    let first = futures_util::poll!(future.as_mut());
    let (Some(limit), Some(started)) = (timeout, started) else {
        let finished = match first {
            Poll::Ready(finished) => finished,
            Poll::Pending => future.await,
        };
        return outcome(adapter, finished);
    };
    let first_poll = started.elapsed();
    let (finished, longest_poll) = match first {
        Poll::Ready(finished) => (finished, first_poll),
        Poll::Pending => {
            let mut timed = PollTimer {
                inner: future.as_mut(),
                longest: first_poll,
            };
            let finished = if tokio::runtime::Handle::try_current().is_ok_and(|rt| has_timer(&rt)) {
                // The limit counts from the call, so a first poll that blocked uses it up.
                let remaining = limit.saturating_sub(first_poll);
                match tokio::time::timeout(remaining, &mut timed).await {
                    Ok(finished) => finished,
                    Err(_) => {
                        adapter.count(|c| &c.timeouts);
                        return Outcome::Failed(Failure {
                            kind: HandlerFailure::Timeout,
                            detail: timeout_detail(limit, timed.longest, started.elapsed()),
                            message: None,
                        });
                    }
                }
            } else {
                (&mut timed).await
            };
            (finished, timed.longest)
        }
    };
    // It finished, but one of its polls alone outlasted the timeout: the timer never had a
    // chance, and the thread was stalled meanwhile.
    if longest_poll > limit && !adapter.warned_blocking.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            plugin = %adapter.name, hook = %H::TYPE,
            "Plugin {} ran past its {:?} timeout without yielding (one poll blocked its thread \
             for {:?}), so the timeout could not stop it and the other tasks of that thread \
             stalled; its result is used. Run blocking work in `tokio::task::spawn_blocking` \
             (said once per handler)",
            adapter.name, limit, longest_poll,
        );
    }
    outcome(adapter, finished)
}

pin_project_lite::pin_project! {
    /// A handler call that calls the handler on its first poll, so that one `catch_unwind`
    /// catches a panic before the handler returns its future as well as one while it runs,
    /// and so that the handler's future (up to `HANDLER_FUTURE_INLINE_SIZE` bytes inline) is
    /// moved once, into this pinned state: built in steps (call, then wrap, then pin) it was
    /// copied three times, which cost more instructions than the saved allocation.
    #[project = CallProj]
    enum Call<'a, H: Hook> {
        Start {
            handler: &'a dyn Handler<H>,
            payload: &'a H::Payload,
            ctx: &'a HookContext,
        },
        Running {
            #[pin]
            future: HandlerFuture<'a, H::Patch>,
        },
    }
}

impl<H: Hook> Future for Call<'_, H> {
    type Output = HookResult<H::Patch>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match self.as_mut().project() {
                CallProj::Running { future } => return future.poll(cx),
                CallProj::Start {
                    handler,
                    payload,
                    ctx,
                } => {
                    let future = handler.call(payload, ctx);
                    self.set(Call::Running { future });
                }
            }
        }
    }
}

/// Why a timeout fired when it did: on time, because the handler yielded, or late, because
/// one of its polls blocked the thread.
fn timeout_detail(limit: Duration, longest_poll: Duration, elapsed: Duration) -> String {
    if longest_poll < limit {
        format!(
            "timed out after {limit:?} (it had yielded: its longest poll took {longest_poll:?}, \
             so it was abandoned on time)"
        )
    } else {
        format!(
            "timed out after {limit:?} but was abandoned only after {elapsed:?}: it did not \
             yield (one poll blocked its thread for {longest_poll:?}), so the timeout could not \
             fire on time and other tasks of that thread stalled; run blocking work in \
             `tokio::task::spawn_blocking`"
        )
    }
}

/// The clock that times handlers: the coarse monotonic clock (a few ns to read, where a
/// precise read costs tens; resolution a few ms), read twice per handler call. Enough to tell
/// a handler that held its thread for as long as its timeout from one that yielded.
#[derive(Clone, Copy)]
struct Clock(coarsetime::Instant);

impl Clock {
    fn now() -> Self {
        // Without the cache update: that writes a process-wide atomic on every read.
        Clock(coarsetime::Instant::now_without_cache_update())
    }

    fn elapsed(self) -> Duration {
        Clock::now().0.duration_since(self.0).into()
    }
}

/// A future that notes how long its longest poll took.
struct PollTimer<F> {
    inner: F,
    longest: Duration,
}

impl<F: Future + Unpin> Future for PollTimer<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let started = Clock::now();
        let polled = Pin::new(&mut self.inner).poll(cx);
        self.longest = self.longest.max(started.elapsed());
        polled
    }
}

/// What a finished handler call amounts to: its action, or a counted failure.
fn outcome<P>(
    adapter: &Adapter,
    finished: Result<HookResult<P>, Box<dyn Any + Send>>,
) -> Outcome<P> {
    match finished {
        Ok(Ok(action)) => Outcome::Action(action),
        Ok(Err(error)) => {
            adapter.count(|c| &c.errors);
            Outcome::Failed(Failure {
                kind: HandlerFailure::Error,
                detail: HandlerFailure::Error.to_string(),
                message: Some(error.to_string()),
            })
        }
        Err(panic) => panicked(adapter, panic.as_ref()),
    }
}

fn panicked<P>(adapter: &Adapter, panic: &(dyn Any + Send)) -> Outcome<P> {
    adapter.count(|c| &c.panics);
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    Outcome::Failed(Failure {
        kind: HandlerFailure::Panic,
        detail: HandlerFailure::Panic.to_string(),
        message: Some(message),
    })
}

/// Whether `runtime` can arm timers.
///
/// A runtime built without `enable_time` panics when a timer is created; rather than fail the
/// caller's operation, handlers there run without a timeout. Learnt once per thread and
/// runtime (the probe's panic message is printed once by the panic hook).
fn has_timer(runtime: &tokio::runtime::Handle) -> bool {
    thread_local! {
        static KNOWN: Cell<Option<(tokio::runtime::Id, bool)>> = const { Cell::new(None) };
    }
    let id = runtime.id();
    if let Some((known, available)) = KNOWN.get()
        && known == id
    {
        return available;
    }
    let available = std::panic::catch_unwind(|| drop(tokio::time::sleep(Duration::ZERO))).is_ok();
    if !available {
        tracing::warn!(
            "the tokio runtime has no timer (build it with `enable_time` or `enable_all`); \
             plugin handlers on it run without a timeout"
        );
    }
    KNOWN.set(Some((id, available)));
    available
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_says_whether_the_handler_yielded() {
        let on_time = timeout_detail(
            Duration::from_millis(500),
            Duration::from_micros(20),
            Duration::from_millis(501),
        );
        assert!(on_time.contains("it had yielded"), "{on_time}");
        let late = timeout_detail(
            Duration::from_millis(500),
            Duration::from_secs(3),
            Duration::from_secs(3),
        );
        assert!(late.contains("it did not yield"), "{late}");
        assert!(late.contains("spawn_blocking"), "{late}");
    }
}
