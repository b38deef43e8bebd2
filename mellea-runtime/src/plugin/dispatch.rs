//! Dispatch of one hook through the five mode phases.
//!
//! | phase | runs | sees | patch | block |
//! |---|---|---|---|---|
//! | SEQUENTIAL | serially | chained payload | applied | halts |
//! | TRANSFORM | serially | chained payload | applied | suppressed, warned |
//! | AUDIT | serially | patched payload | discarded | logged |
//! | CONCURRENT | together | patched payload | discarded | first block wins, rest cancelled |
//! | FIRE_AND_FORGET | spawned | final payload | discarded | logged |

use std::any::Any;
use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Once};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::task::JoinHandle;

use super::registry::{Adapter, Counters};
use super::{
    BoxFuture, HookAction, HookContext, HookResult, PluginMode, PluginRegistry, StateMap, Violation,
};
use crate::error::PluginViolation;
use crate::hooks::{Hook, Patch, Payload};

/// The result of a dispatch that was not blocked: the final payload and the spawned
/// FIRE_AND_FORGET handlers.
#[derive(Debug)]
#[must_use]
pub struct Dispatched<P> {
    /// The payload after every accepted patch, stamped with its hook.
    pub payload: P,
    background: Vec<JoinHandle<()>>,
}

impl<P> Dispatched<P> {
    /// The final payload.
    pub fn into_payload(self) -> P {
        self.payload
    }

    /// Number of FIRE_AND_FORGET handlers still tracked.
    pub fn background_task_count(&self) -> usize {
        self.background.len()
    }

    /// Waits until every FIRE_AND_FORGET handler of this dispatch has finished.
    pub async fn wait_for_background_tasks(&mut self) {
        for task in self.background.drain(..) {
            // A handler's panic is caught inside the task, so a join error means the runtime
            // is shutting down; nothing is left to wait for.
            let _ = task.await;
        }
    }
}

/// What became of one handler call.
enum Outcome<P> {
    Action(HookAction<P>),
    /// The handler failed (error, panic or timeout); already logged and counted.
    Failed,
}

impl PluginRegistry {
    /// Dispatches `payload` to the handlers of hook `H`.
    ///
    /// Stamps `payload.base.hook`, runs the five phases and returns the final payload, or the
    /// violation of the SEQUENTIAL or CONCURRENT handler that blocked. Handler errors, panics
    /// and timeouts are logged, counted in [`stats`](Self::stats) and never fail the caller.
    ///
    /// Timeouts and FIRE_AND_FORGET spawning use the ambient tokio runtime. On a runtime
    /// without a timer handlers run without a timeout; outside a tokio runtime, they also run
    /// without a timeout and FIRE_AND_FORGET handlers run inline, after the other phases.
    ///
    /// The returned future is boxed: a dispatch's state is large (over a kilobyte), and a call
    /// site that awaits it inline would carry that size in its own future even when nobody
    /// listens. Boxing costs one allocation on the listening path only.
    pub fn dispatch<H: Hook>(
        &self,
        payload: H::Payload,
        ctx: HookContext,
    ) -> BoxFuture<'_, Result<Dispatched<H::Payload>, PluginViolation>> {
        Box::pin(self.dispatch_in_place::<H>(payload, ctx))
    }

    /// [`dispatch`](Self::dispatch) without the box, for callers whose own future already
    /// lives on the heap (a generation's listened-to path).
    pub(crate) async fn dispatch_in_place<H: Hook>(
        &self,
        mut payload: H::Payload,
        ctx: HookContext,
    ) -> Result<Dispatched<H::Payload>, PluginViolation> {
        payload.base_mut().hook = Some(H::TYPE);
        let Some(table) = self.tables[H::TYPE.index()].load_full() else {
            return Ok(Dispatched {
                payload,
                background: Vec::new(),
            });
        };
        let timeout = self.handler_timeout();
        // The dispatch's session: the context's, else the payload's (cloned only then, since
        // patches may change the payload while the session is in use).
        let payload_session = match ctx.session_id() {
            Some(_) => None,
            None => payload.base().session_id.clone(),
        };
        let session = ctx.session_id().or(payload_session.as_deref());
        let active = || table.adapters.iter().filter(|a| a.scope.admits(session));
        let mut state = ctx.shared_state();
        let mut violation = None;

        // Phases 1-3: SEQUENTIAL, TRANSFORM, AUDIT, serially in table order.
        for adapter in active().filter(|a| a.mode <= PluginMode::Audit) {
            let child = ctx.child(&state);
            let outcome = run_handler::<H>(adapter, &payload, &child, timeout).await;
            let Outcome::Action(action) = outcome else {
                continue;
            };
            match (adapter.mode, action) {
                (PluginMode::Sequential, HookAction::Block(v)) => {
                    violation = Some(blocked::<H>(adapter, v));
                    break;
                }
                (PluginMode::Transform, HookAction::Block(v)) => {
                    suppress_block::<H>(adapter, &v);
                    merge(&mut state, child);
                }
                (_, HookAction::Block(v)) => suppress_block::<H>(adapter, &v),
                (PluginMode::Audit, HookAction::Modify(patch)) => {
                    discard_patch::<H>(adapter, &patch)
                }
                (PluginMode::Audit, HookAction::Continue) => {}
                (_, HookAction::Modify(patch)) => {
                    tracing::debug!(plugin = %adapter.name, hook = %H::TYPE, fields = ?patch.field_names(), "payload patched");
                    patch.apply(&mut payload);
                    merge(&mut state, child);
                }
                (_, HookAction::Continue) => merge(&mut state, child),
            }
        }

        // Phase 4: CONCURRENT, all at once; the first block wins and cancels the rest.
        if violation.is_none() && active().any(|a| a.mode == PluginMode::Concurrent) {
            let mut running: FuturesUnordered<_> = active()
                .filter(|a| a.mode == PluginMode::Concurrent)
                .map(|adapter| {
                    let child = ctx.child(&state);
                    let payload = &payload;
                    async move {
                        let outcome = run_handler::<H>(adapter, payload, &child, timeout).await;
                        (adapter, outcome, child)
                    }
                })
                .collect();
            while let Some((adapter, outcome, child)) = running.next().await {
                match outcome {
                    Outcome::Action(HookAction::Block(v)) => {
                        violation = Some(blocked::<H>(adapter, v));
                        break;
                    }
                    Outcome::Action(HookAction::Modify(patch)) => {
                        discard_patch::<H>(adapter, &patch);
                        merge(&mut state, child);
                    }
                    Outcome::Action(HookAction::Continue) => merge(&mut state, child),
                    Outcome::Failed => {}
                }
            }
            // Dropping `running` cancels the handlers a block pre-empted.
        }

        // Phase 5: FIRE_AND_FORGET, spawned with the final payload, also after a block.
        let mut background = Vec::new();
        let fire_and_forget: Vec<&Arc<Adapter>> = active()
            .filter(|a| a.mode == PluginMode::FireAndForget)
            .collect();
        if !fire_and_forget.is_empty() {
            let snapshot = Arc::new(payload.clone());
            for adapter in fire_and_forget {
                let task = fire_and_forget_task::<H>(
                    adapter.clone(),
                    snapshot.clone(),
                    ctx.child(&state),
                    timeout,
                );
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => background.push(runtime.spawn(task)),
                    Err(_) => {
                        warn_no_runtime();
                        task.await;
                    }
                }
            }
        }

        match violation {
            Some(v) => {
                tracing::warn!(
                    hook = %H::TYPE, code = %v.code, plugin = %v.plugin_name,
                    "Plugin violation on {}: {}{}", H::TYPE,
                    if v.code.is_empty() { String::new() } else { format!("[{}] ", v.code) },
                    v.reason,
                );
                Err(v)
            }
            None => Ok(Dispatched {
                payload,
                background,
            }),
        }
    }
}

/// One FIRE_AND_FORGET handler call; owns everything it needs, so it can be spawned.
async fn fire_and_forget_task<H: Hook>(
    adapter: Arc<Adapter>,
    payload: Arc<H::Payload>,
    ctx: HookContext,
    timeout: Option<Duration>,
) {
    match run_handler::<H>(&adapter, &payload, &ctx, timeout).await {
        Outcome::Action(HookAction::Block(v)) => suppress_block::<H>(&adapter, &v),
        Outcome::Action(HookAction::Modify(patch)) => discard_patch::<H>(&adapter, &patch),
        Outcome::Action(HookAction::Continue) | Outcome::Failed => {}
    }
}

/// Runs one handler under the timeout, catching its panics and errors.
async fn run_handler<H: Hook>(
    adapter: &Adapter,
    payload: &H::Payload,
    ctx: &HookContext,
    timeout: Option<Duration>,
) -> Outcome<H::Patch> {
    let Some(handler) = adapter.handler.typed::<H>() else {
        tracing::error!(plugin = %adapter.name, hook = %H::TYPE, "handler registered under the wrong hook; skipped");
        return Outcome::Failed;
    };
    let counters: &Counters = &adapter.counters;
    // A handler may panic before returning its future as well as while it runs.
    let future = match std::panic::catch_unwind(AssertUnwindSafe(|| handler.call(payload, ctx))) {
        Ok(future) => AssertUnwindSafe(future).catch_unwind(),
        Err(panic) => return handler_panicked::<H, _>(adapter, counters, panic.as_ref()),
    };
    let mut future = std::pin::pin!(future);
    // Most handlers finish on their first poll; arm the timer only for those that do not.
    if let std::task::Poll::Ready(finished) = futures_util::poll!(future.as_mut()) {
        return handler_outcome::<H>(adapter, counters, finished);
    }
    let finished = match timeout {
        Some(limit) if tokio::runtime::Handle::try_current().is_ok_and(|rt| has_timer(&rt)) => {
            match tokio::time::timeout(limit, future).await {
                Ok(finished) => finished,
                Err(_) => {
                    counters.timeouts.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        plugin = %adapter.name, hook = %H::TYPE,
                        "Plugin {} timed out after {:?} on {}; continuing without it",
                        adapter.name, limit, H::TYPE,
                    );
                    return Outcome::Failed;
                }
            }
        }
        _ => future.await,
    };
    handler_outcome::<H>(adapter, counters, finished)
}

/// What a finished handler call amounts to: its action, or a logged and counted failure.
fn handler_outcome<H: Hook>(
    adapter: &Adapter,
    counters: &Counters,
    finished: Result<HookResult<H::Patch>, Box<dyn Any + Send>>,
) -> Outcome<H::Patch> {
    match finished {
        Ok(Ok(action)) => Outcome::Action(action),
        Ok(Err(error)) => {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                plugin = %adapter.name, hook = %H::TYPE,
                "Plugin {} failed with error: {}; continuing without it", adapter.name, error,
            );
            Outcome::Failed
        }
        Err(panic) => handler_panicked::<H, _>(adapter, counters, panic.as_ref()),
    }
}

fn handler_panicked<H: Hook, P>(
    adapter: &Adapter,
    counters: &Counters,
    panic: &(dyn Any + Send),
) -> Outcome<P> {
    counters.panics.fetch_add(1, Ordering::Relaxed);
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    tracing::warn!(
        plugin = %adapter.name, hook = %H::TYPE,
        "Plugin {} panicked: {}; continuing without it", adapter.name, message,
    );
    Outcome::Failed
}

fn blocked<H: Hook>(adapter: &Adapter, violation: Violation) -> PluginViolation {
    PluginViolation::new(
        H::TYPE,
        violation.reason,
        violation.code,
        adapter.name.clone(),
    )
}

fn suppress_block<H: Hook>(adapter: &Adapter, violation: &Violation) {
    adapter
        .counters
        .suppressed_blocks
        .fetch_add(1, Ordering::Relaxed);
    tracing::warn!(
        plugin = %adapter.name, hook = %H::TYPE, mode = %adapter.mode,
        "Plugin {} tried to block {} in {} mode, which cannot block; ignored (reason: {})",
        adapter.name, H::TYPE, adapter.mode, violation.reason,
    );
}

fn discard_patch<H: Hook>(adapter: &Adapter, patch: &H::Patch) {
    adapter
        .counters
        .discarded_patches
        .fetch_add(1, Ordering::Relaxed);
    tracing::debug!(
        plugin = %adapter.name, hook = %H::TYPE, mode = %adapter.mode, fields = ?patch.field_names(),
        "patch discarded: {} mode cannot modify the payload", adapter.mode,
    );
}

/// Merges what a handler wrote into the dispatch's state. Handlers that wrote nothing still
/// share the dispatch's map, so merging them costs nothing.
fn merge(state: &mut Arc<StateMap>, child: HookContext) {
    let written = child.into_state();
    if Arc::ptr_eq(state, &written) {
        return;
    }
    let merged = Arc::make_mut(state);
    for (key, value) in written.iter() {
        merged.insert(key.clone(), value.clone());
    }
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

fn warn_no_runtime() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing::warn!(
            "no tokio runtime: FIRE_AND_FORGET handlers run inline and handler timeouts are off"
        );
    });
}
