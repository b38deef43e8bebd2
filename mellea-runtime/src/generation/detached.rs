//! The `Drop` path of a generation: ending it, and finishing its hook firings, where nothing
//! can be awaited.

use std::sync::Arc;
use std::task::{Context as TaskContext, Wake, Waker};
use std::thread::Thread;

use super::Generation;
use crate::hooks::ErrorInfo;
use crate::plugin::BoxFuture;

impl Drop for Generation {
    fn drop(&mut self) {
        // Dropped before it ended: the caller stopped waiting (timeout, `select!`, abort).
        if self.live.is_some() {
            self.fire_failure(ErrorInfo::cancelled(), None);
        }
        if let Some(pending) = self.pending.take() {
            drive_detached(pending, "a generation");
        }
    }
}

/// Finishes a hook firing from a destructor, where nothing can be awaited.
///
/// Polls it once inline — plugins that do not wait on anything (the tracing plugin, most
/// recorders) finish right here, so the span ends the moment the generation is dropped — and
/// hands the rest to the ambient tokio runtime. Without a runtime it is driven to completion
/// on this thread. While the thread unwinds from a panic, running plugin code inline could
/// abort the process, so the firing only ever goes to the runtime then. `what` names the
/// dropped thing in the warning ("a generation", "an invocation").
pub(crate) fn drive_detached(mut firing: BoxFuture<'static, ()>, what: &str) {
    let runtime = tokio::runtime::Handle::try_current().ok();
    if std::thread::panicking() {
        match runtime {
            Some(runtime) => drop(runtime.spawn(firing)),
            None => tracing::warn!(
                "{what} was dropped while its thread unwinds from a panic, outside a tokio \
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
