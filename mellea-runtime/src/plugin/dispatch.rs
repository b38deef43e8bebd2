//! Dispatch of one hook through the five mode phases.
//!
//! | phase | runs | sees | patch | block |
//! |---|---|---|---|---|
//! | SEQUENTIAL | serially | chained payload | applied | halts |
//! | TRANSFORM | serially | chained payload | applied | suppressed, warned |
//! | AUDIT | serially | patched payload | discarded | logged |
//! | CONCURRENT | together | patched payload | discarded | first block wins, rest cancelled |
//! | FIRE_AND_FORGET | spawned | final payload | discarded | logged |

use std::sync::{Arc, Once};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::task::JoinHandle;

use super::adapter::Adapter;
use super::run::{Outcome, run_handler};
use super::settle::{blocked, discard_patch, settle_failure, suppress_block, warn_blocked};
use super::{BoxFuture, HookAction, HookContext, PluginMode, PluginRegistry, StateMap};
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

impl PluginRegistry {
    /// Dispatches `payload` to the handlers of hook `H`.
    ///
    /// Stamps `payload.base.hook`, runs the five phases and returns the final payload, or the
    /// violation of the SEQUENTIAL or CONCURRENT handler that blocked. Handler errors, panics
    /// and timeouts are logged and counted in [`stats`](Self::stats); what else they do is
    /// the handler's [`OnError`](super::OnError) policy: nothing (`Ignore`, the default), block the dispatch
    /// with a [`PluginViolation::PLUGIN_FAILED`] violation (`Fail`), or unregister the handler
    /// (`Disable`).
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
    /// lives on the heap.
    pub(crate) async fn dispatch_in_place<H: Hook>(
        &self,
        mut payload: H::Payload,
        ctx: HookContext,
    ) -> Result<Dispatched<H::Payload>, PluginViolation> {
        let background = self.dispatch_mut::<H>(&mut payload, ctx).await?;
        Ok(Dispatched {
            payload,
            background,
        })
    }

    /// Dispatches with `payload` lent, not moved: a generation builds each payload once where
    /// it stays (payloads are hundreds of bytes, and every move is a copy), and reads the
    /// patched fields back from it. Returns the spawned FIRE_AND_FORGET handlers.
    pub(crate) async fn dispatch_mut<H: Hook>(
        &self,
        payload: &mut H::Payload,
        ctx: HookContext,
    ) -> Result<Vec<JoinHandle<()>>, PluginViolation> {
        payload.base_mut().hook = Some(H::TYPE);
        let Some(table) = self.tables[H::TYPE.index()].load_full() else {
            return Ok(Vec::new());
        };
        let timeout = self.handler_timeout();
        // The dispatch's session: the context's, else the payload's (cloned only then, since
        // patches may change the payload while the session is in use).
        let payload_session = match ctx.session_id() {
            Some(_) => None,
            None => payload.base().session_id.clone(),
        };
        let session = ctx.session_id().or(payload_session.as_deref());
        // Only the global handlers and this session's: other sessions' are never looked at.
        let active = table.active(session);
        let mut state = ctx.shared_state();
        let mut violation = None;

        // Phases 1-3: SEQUENTIAL, TRANSFORM, AUDIT, serially in table order.
        for adapter in active.iter().filter(|a| a.mode <= PluginMode::Audit) {
            if adapter.is_disabled() {
                continue;
            }
            let child = ctx.child(&state);
            let action = match run_handler::<H>(adapter, payload, &child, timeout).await {
                Outcome::Action(action) => action,
                Outcome::Failed(failure) => match settle_failure::<H>(adapter, failure) {
                    Some(v) => {
                        violation = Some((adapter.clone(), v));
                        break;
                    }
                    None => continue,
                },
            };
            match (adapter.mode, action) {
                (PluginMode::Sequential, HookAction::Block(v)) => {
                    violation = Some((adapter.clone(), blocked::<H>(adapter, v)));
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
                    patch.apply(payload);
                    merge(&mut state, child);
                }
                (_, HookAction::Continue) => merge(&mut state, child),
            }
        }

        // Phase 4: CONCURRENT, all at once; the first block (or failure under
        // `on_error = fail`) wins and cancels the rest.
        let concurrent = |a: &&Arc<Adapter>| a.mode == PluginMode::Concurrent && !a.is_disabled();
        if violation.is_none() && active.iter().any(|a| concurrent(&a)) {
            let mut running: FuturesUnordered<_> = active
                .iter()
                .filter(concurrent)
                .map(|adapter| {
                    let child = ctx.child(&state);
                    let payload = &*payload;
                    async move {
                        let outcome = run_handler::<H>(adapter, payload, &child, timeout).await;
                        (adapter, outcome, child)
                    }
                })
                .collect();
            while let Some((adapter, outcome, child)) = running.next().await {
                match outcome {
                    Outcome::Action(HookAction::Block(v)) => {
                        violation = Some((Arc::clone(adapter), blocked::<H>(adapter, v)));
                        break;
                    }
                    Outcome::Action(HookAction::Modify(patch)) => {
                        discard_patch::<H>(adapter, &patch);
                        merge(&mut state, child);
                    }
                    Outcome::Action(HookAction::Continue) => merge(&mut state, child),
                    Outcome::Failed(failure) => {
                        if let Some(v) = settle_failure::<H>(adapter, failure) {
                            violation = Some((Arc::clone(adapter), v));
                            break;
                        }
                    }
                }
            }
            // Dropping `running` cancels the handlers a block pre-empted.
        }

        // Phase 5: FIRE_AND_FORGET, spawned with the final payload, also after a block.
        let mut background = Vec::new();
        let fire_and_forget: Vec<&Arc<Adapter>> = active
            .iter()
            .filter(|a| a.mode == PluginMode::FireAndForget && !a.is_disabled())
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
        drop(active);
        drop(table);
        // Handlers `on_error = disable` switched off (in this dispatch or an earlier
        // FIRE_AND_FORGET task) leave the tables now: one atomic load when there are none.
        self.remove_disabled_handlers();

        match violation {
            // A failure under `on_error = fail` was warned about where it was settled.
            Some((_, v)) if v.failure.is_some() => Err(v),
            Some((adapter, v)) => {
                warn_blocked::<H>(&adapter, &v);
                Err(v)
            }
            None => Ok(background),
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
        Outcome::Action(HookAction::Continue) => {}
        // Nothing to block here (registration refuses `fail` in this mode); a disabled handler
        // leaves the tables at the registry's next dispatch or registration call.
        Outcome::Failed(failure) => drop(settle_failure::<H>(&adapter, failure)),
    }
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

fn warn_no_runtime() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing::warn!(
            "no tokio runtime: FIRE_AND_FORGET handlers run inline and handler timeouts are off"
        );
    });
}
