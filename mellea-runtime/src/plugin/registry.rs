//! The plugin registry: registration, scopes, unregistration and the listener fast path.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwapOption;

use super::Registrable;
use super::adapter::{Owner, Scope, Shared};
use super::registration::{PluginScope, Registration, UnregisterTarget};
use super::state::State;
use super::stats::PluginStats;
use super::table::HookTable;
use crate::error::RegistrationError;
use crate::hooks::{HOOK_COUNT, HookMask, HookType};

/// Default time a handler may run before it is abandoned (see
/// [`PluginRegistry::set_handler_timeout`] for what a timeout cannot stop).
pub const DEFAULT_HANDLER_TIMEOUT: Duration = Duration::from_secs(5);

const NO_TIMEOUT: u64 = u64::MAX;

/// The process-wide registry that backends dispatch to.
static GLOBAL: PluginRegistry = PluginRegistry::new();

/// The process-wide registry.
pub fn global() -> &'static PluginRegistry {
    &GLOBAL
}

/// Whether any handler listens to `hook` in the process-wide registry: one relaxed atomic load.
///
/// Call sites ask this before building a payload, so a hook nobody listens to costs nothing
/// else.
#[inline(always)]
pub fn has_listeners(hook: HookType) -> bool {
    GLOBAL.listening.load(Ordering::Relaxed) & hook.bit() != 0
}

/// Whether any handler listens to any hook of `hooks` in the process-wide registry: one
/// relaxed atomic load.
///
/// A generation asks this once for its whole family of hooks before it does anything else.
#[inline(always)]
pub fn has_any_listener(hooks: HookMask) -> bool {
    GLOBAL.listening.load(Ordering::Relaxed) & hooks.bits() != 0
}

/// Registered handlers, indexed by hook and, within a hook, by session.
///
/// Registration takes a lock; dispatch does not: each hook's handler table is an immutable
/// snapshot swapped atomically, and [`has_listeners`](Self::has_listeners) is one atomic load.
/// Registering or unregistering a handler costs O(log n) in the handlers of its hook (the
/// tables are persistent trees; a change copies one path, not the table), and a dispatch looks
/// only at the global handlers and those of its own session.
/// Most applications use the process-wide [`global`] registry; tests and embedders can make
/// their own.
pub struct PluginRegistry {
    /// Bit `i` is set while hook `i` has at least one handler.
    pub(crate) listening: AtomicU32,
    pub(crate) tables: [ArcSwapOption<HookTable>; HOOK_COUNT],
    state: Mutex<State>,
    timeout_nanos: AtomicU64,
    shared: OnceLock<Arc<Shared>>,
}

impl Default for PluginRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for PluginRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginRegistry")
            .field("handlers", &self.handler_names())
            .finish()
    }
}

impl PluginRegistry {
    /// An empty registry with the default 5 s handler timeout.
    pub const fn new() -> Self {
        Self {
            listening: AtomicU32::new(0),
            tables: [const { ArcSwapOption::const_empty() }; HOOK_COUNT],
            state: Mutex::new(State {
                next_id: 0,
                by_name: BTreeMap::new(),
                owners: BTreeMap::new(),
                tables: Vec::new(),
            }),
            timeout_nanos: AtomicU64::new(DEFAULT_HANDLER_TIMEOUT.as_nanos() as u64),
            shared: OnceLock::new(),
        }
    }

    pub(super) fn shared(&self) -> &Arc<Shared> {
        self.shared.get_or_init(Arc::default)
    }

    /// The state, after removing the handlers `on_error = disable` switched off since.
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // Registration never panics while holding the lock; recover rather than poison forever.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.remove_disabled(&mut state);
        state
    }

    fn remove_disabled(&self, state: &mut State) {
        let Some(shared) = self.shared.get() else {
            return;
        };
        if !shared.has_pending.swap(false, Ordering::Acquire) {
            return;
        }
        let pending = std::mem::take(
            &mut *shared
                .pending_disable
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let mut touched = [false; HOOK_COUNT];
        for (name, id) in pending {
            state.remove_handle(&name, id, &mut touched);
        }
        self.publish(state, &touched);
    }

    /// Removes the handlers `on_error = disable` switched off, if any: one atomic load when
    /// there are none.
    pub(crate) fn remove_disabled_handlers(&self) {
        if self
            .shared
            .get()
            .is_some_and(|shared| shared.has_pending.load(Ordering::Relaxed))
        {
            drop(self.lock());
        }
    }

    /// Whether any handler listens to `hook`: one relaxed atomic load.
    #[inline(always)]
    pub fn has_listeners(&self, hook: HookType) -> bool {
        self.listening.load(Ordering::Relaxed) & hook.bit() != 0
    }

    /// Whether any handler listens to any hook of `hooks`: one relaxed atomic load.
    #[inline(always)]
    pub fn has_any_listener(&self, hooks: HookMask) -> bool {
        self.listening.load(Ordering::Relaxed) & hooks.bits() != 0
    }

    /// Sets how long a handler may run before it is abandoned (`None`: no limit).
    ///
    /// The timeout can only interrupt a handler that yields: one awaiting I/O, a timer or a
    /// lock. A handler that blocks its thread (`std::thread::sleep`, a synchronous HTTP client,
    /// heavy computation) cannot be abandoned until it returns, and while it blocks it stalls
    /// every other task of that runtime thread (on a current-thread runtime, every generation).
    /// Run such work with [`tokio::task::spawn_blocking`] and await its handle; the warning a
    /// timeout logs says whether the handler had yielded.
    pub fn set_handler_timeout(&self, timeout: Option<Duration>) {
        let nanos = timeout.map_or(NO_TIMEOUT, |t| {
            u64::try_from(t.as_nanos()).unwrap_or(NO_TIMEOUT - 1)
        });
        self.timeout_nanos.store(nanos, Ordering::Relaxed);
    }

    /// How long a handler may run before it is abandoned (see
    /// [`set_handler_timeout`](Self::set_handler_timeout) for what it can and cannot stop).
    pub fn handler_timeout(&self) -> Option<Duration> {
        match self.timeout_nanos.load(Ordering::Relaxed) {
            NO_TIMEOUT => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    /// Logs the handlers' own error and panic messages at DEBUG (off by default).
    ///
    /// A failing handler is always reported with a WARN naming the plugin, the hook and what
    /// happened (returned an error, panicked, timed out). Its own words stay out of it: an
    /// error's text or a panic message may quote the prompt or the completion, which logs must
    /// not carry unless someone asked for content. Turn this on while debugging a plugin; each
    /// failure then also logs, at DEBUG, the message it failed with.
    pub fn set_log_handler_messages(&self, on: bool) {
        self.shared()
            .log_handler_messages
            .store(on, Ordering::Relaxed);
    }

    /// Failure counters of every handler so far (also of handlers since unregistered).
    pub fn stats(&self) -> PluginStats {
        self.shared
            .get()
            .map(|shared| shared.counters.snapshot())
            .unwrap_or_default()
    }

    /// Failure counters of the plugin (or standalone handler) named `name`, while it has
    /// handlers registered; `None` otherwise. [`Registration::stats`] keeps working after
    /// unregistration.
    pub fn plugin_stats(&self, name: &str) -> Option<PluginStats> {
        let state = self.lock();
        [
            Owner::Plugin(name.to_owned()),
            Owner::Function(name.to_owned()),
        ]
        .iter()
        .find_map(|owner| state.owners.get(owner))
        .map(|entry| entry.counters.snapshot())
    }

    /// Registers an item for every dispatch.
    ///
    /// Fails, registering nothing, if any handler name is taken, or if a handler has
    /// `on_error = fail` in a mode that cannot block.
    pub fn register(
        &self,
        item: impl Into<Registrable>,
    ) -> Result<Registration, RegistrationError> {
        self.register_in(item.into(), Scope::Global)
    }

    /// Registers an item that fires only for dispatches carrying `session_id`.
    pub fn register_for_session(
        &self,
        session_id: impl Into<String>,
        item: impl Into<Registrable>,
    ) -> Result<Registration, RegistrationError> {
        let session_id: String = session_id.into();
        self.register_in(item.into(), Scope::Session(Arc::from(session_id)))
    }

    /// Registers an item until the returned guard is dropped.
    ///
    /// ```
    /// use mellea_runtime::hooks::{GenerationPostCall, HookType};
    /// use mellea_runtime::plugin::{HookAction, HookFn, PluginRegistry};
    /// let registry = PluginRegistry::new();
    /// let noop = HookFn::new::<GenerationPostCall, _>("noop", |_, _| Box::pin(async { Ok(HookAction::Continue) }));
    /// {
    ///     let _scope = registry.scoped(noop).unwrap();
    ///     assert!(registry.has_listeners(HookType::GenerationPostCall));
    /// }
    /// assert!(!registry.has_listeners(HookType::GenerationPostCall));
    /// ```
    pub fn scoped(
        &self,
        item: impl Into<Registrable>,
    ) -> Result<PluginScope<'_>, RegistrationError> {
        let registration = self.register(item)?;
        Ok(PluginScope {
            registry: self,
            registration,
        })
    }

    /// Removes what `target` names; anything not registered is ignored.
    ///
    /// Costs O(log n) per handler removed (a plugin is looked up once per hook).
    pub fn unregister(&self, target: impl Into<UnregisterTarget>) {
        let target = target.into();
        let mut state = self.lock();
        let mut touched = [false; HOOK_COUNT];
        for (id, name) in &target.handles {
            state.remove_handle(name, *id, &mut touched);
        }
        for plugin in &target.plugins {
            let owner = Owner::Plugin(plugin.clone());
            if !state.owners.contains_key(&owner) {
                continue;
            }
            for hook in HookType::ALL {
                state.remove_owned(&format!("{plugin}.{hook}"), &owner, &mut touched);
            }
        }
        for function in &target.functions {
            state.remove_owned(function, &Owner::Function(function.clone()), &mut touched);
        }
        self.publish(&state, &touched);
    }

    /// Removes every handler registered for `session_id`.
    pub fn unregister_session(&self, session_id: &str) {
        let mut state = self.lock();
        let mut touched = [false; HOOK_COUNT];
        for index in 0..state.tables.len() {
            for adapter in state.tables[index].session_handlers(session_id) {
                state.remove(&adapter, &mut touched);
            }
        }
        self.publish(&state, &touched);
    }

    /// Removes every handler.
    pub fn clear(&self) {
        let mut state = self.lock();
        let mut touched = [false; HOOK_COUNT];
        for (index, table) in state.tables.iter_mut().enumerate() {
            touched[index] = table.len() > 0;
            *table = HookTable::default();
        }
        state.by_name.clear();
        state.owners.clear();
        self.publish(&state, &touched);
    }

    /// Registry names of every registered handler, sorted.
    pub fn handler_names(&self) -> Vec<String> {
        self.lock().by_name.keys().cloned().collect()
    }

    /// Publishes the current tables of the touched hooks: one O(1) clone each.
    pub(super) fn publish(&self, state: &State, touched: &[bool; HOOK_COUNT]) {
        for hook in HookType::ALL {
            let index = hook.index();
            if !touched[index] {
                continue;
            }
            let table = state.tables.get(index).filter(|t| t.len() > 0);
            let listened = table.is_some();
            self.tables[index].store(table.map(|t| Arc::new(t.clone())));
            // Registration holds the state lock, so read-modify-write cannot race another
            // registration; dispatchers only read the mask.
            if listened {
                self.listening.fetch_or(hook.bit(), Ordering::Relaxed);
            } else {
                self.listening.fetch_and(!hook.bit(), Ordering::Relaxed);
            }
        }
    }
}
