//! The plugin registry: registration, scopes, unregistration and the listener fast path.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwapOption;

use super::handler::ErasedHandler;
use super::table::{HookTable, OrderKey};
use super::{
    DEFAULT_PRIORITY, HookFn, OnError, Plugin, PluginHooks, PluginMode, PluginSet, Registrable,
};
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

/// Which dispatches a registered handler fires for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every dispatch.
    Global,
    /// Only dispatches that carry this session id.
    Session(Arc<str>),
}

/// Failure counters of a registry, or of one plugin.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) errors: AtomicU64,
    pub(crate) panics: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) suppressed_blocks: AtomicU64,
    pub(crate) discarded_patches: AtomicU64,
    pub(crate) failed_closed: AtomicU64,
    pub(crate) disabled: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> PluginStats {
        PluginStats {
            handler_errors: self.errors.load(Ordering::Relaxed),
            handler_panics: self.panics.load(Ordering::Relaxed),
            handler_timeouts: self.timeouts.load(Ordering::Relaxed),
            suppressed_blocks: self.suppressed_blocks.load(Ordering::Relaxed),
            discarded_patches: self.discarded_patches.load(Ordering::Relaxed),
            failed_closed: self.failed_closed.load(Ordering::Relaxed),
            disabled_handlers: self.disabled.load(Ordering::Relaxed),
        }
    }
}

/// A snapshot of failure counters: a registry's ([`PluginRegistry::stats`]) or one plugin's
/// ([`PluginRegistry::plugin_stats`], [`Registration::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PluginStats {
    /// Handlers that returned an error.
    pub handler_errors: u64,
    /// Handlers that panicked.
    pub handler_panics: u64,
    /// Handlers abandoned after the timeout.
    pub handler_timeouts: u64,
    /// Blocks ignored because the handler's mode cannot block.
    pub suppressed_blocks: u64,
    /// Patches ignored because the handler's mode cannot patch.
    pub discarded_patches: u64,
    /// Dispatches blocked because a handler with `on_error = fail` failed.
    pub failed_closed: u64,
    /// Handlers unregistered by `on_error = disable` after a failure.
    pub disabled_handlers: u64,
}

impl std::ops::AddAssign for PluginStats {
    fn add_assign(&mut self, other: Self) {
        self.handler_errors += other.handler_errors;
        self.handler_panics += other.handler_panics;
        self.handler_timeouts += other.handler_timeouts;
        self.suppressed_blocks += other.suppressed_blocks;
        self.discarded_patches += other.discarded_patches;
        self.failed_closed += other.failed_closed;
        self.disabled_handlers += other.disabled_handlers;
    }
}

/// What a registry shares with its handlers, which may outlive a dispatch (FIRE_AND_FORGET
/// tasks): the registry-wide counters and the handlers `on_error = disable` has switched off
/// but not yet removed from the tables.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    counters: Counters,
    /// `(registry name, id)` of handlers to remove.
    pending_disable: Mutex<Vec<(String, u64)>>,
    has_pending: AtomicBool,
    /// Whether handlers' own error and panic messages are logged (at DEBUG).
    log_handler_messages: AtomicBool,
}

/// One registered handler.
pub(crate) struct Adapter {
    pub(crate) id: u64,
    pub(crate) name: String,
    /// Plugin name for plugin handlers, the handler name for standalone handlers.
    pub(crate) owner: Owner,
    pub(crate) mode: PluginMode,
    pub(crate) priority: i32,
    pub(crate) seq: u64,
    pub(crate) scope: Scope,
    pub(crate) on_error: OnError,
    pub(crate) handler: ErasedHandler,
    /// The owner's counters (shared by the handlers of one plugin).
    counters: Arc<Counters>,
    shared: Arc<Shared>,
    /// Set by `on_error = disable`; a disabled handler is skipped by dispatches that loaded
    /// a table before it was removed.
    disabled: AtomicBool,
    /// Whether the "ran past its timeout without yielding" warning was given.
    pub(crate) warned_blocking: AtomicBool,
}

impl Adapter {
    pub(crate) fn order_key(&self) -> OrderKey {
        (self.mode, self.priority, self.seq)
    }

    /// Counts an event in the owner's and the registry's counters.
    pub(crate) fn count(&self, counter: fn(&Counters) -> &AtomicU64) {
        counter(&self.counters).fetch_add(1, Ordering::Relaxed);
        counter(&self.shared.counters).fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the registry logs handlers' own error and panic messages.
    pub(crate) fn logs_handler_messages(&self) -> bool {
        self.shared.log_handler_messages.load(Ordering::Relaxed)
    }

    pub(crate) fn is_disabled(&self) -> bool {
        self.disabled.load(Ordering::Relaxed)
    }

    /// Switches the handler off and queues its removal; `true` only for the first call.
    pub(crate) fn disable(&self) -> bool {
        if self.disabled.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.count(|c| &c.disabled);
        self.shared
            .pending_disable
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((self.name.clone(), self.id));
        self.shared.has_pending.store(true, Ordering::Release);
        true
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Owner {
    Plugin(String),
    Function(String),
}

impl Owner {
    fn name(&self) -> &str {
        match self {
            Owner::Plugin(name) | Owner::Function(name) => name,
        }
    }
}

impl fmt::Debug for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Adapter")
            .field("name", &self.name)
            .field("hook", &self.handler.hook())
            .field("mode", &self.mode)
            .field("priority", &self.priority)
            .field("on_error", &self.on_error)
            .finish()
    }
}

/// The counters of one owner while it has handlers registered.
#[derive(Debug)]
struct OwnerEntry {
    counters: Arc<Counters>,
    handlers: usize,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    by_name: BTreeMap<String, Arc<Adapter>>,
    owners: BTreeMap<Owner, OwnerEntry>,
    /// The current table of each hook (empty until the first registration); what dispatch
    /// sees is a published clone.
    tables: Vec<HookTable>,
}

impl State {
    fn tables_mut(&mut self) -> &mut [HookTable] {
        if self.tables.is_empty() {
            self.tables = vec![HookTable::default(); HOOK_COUNT];
        }
        &mut self.tables
    }

    /// Removes one handler from every index: O(log n).
    fn remove(&mut self, adapter: &Adapter, touched: &mut [bool; HOOK_COUNT]) {
        let index = adapter.handler.hook().index();
        if self.by_name.remove(&adapter.name).is_none() {
            return;
        }
        self.tables_mut()[index].remove(adapter);
        touched[index] = true;
        if let Some(entry) = self.owners.get_mut(&adapter.owner) {
            entry.handlers -= 1;
            if entry.handlers == 0 {
                self.owners.remove(&adapter.owner);
            }
        }
    }

    /// Removes the handler registered as `name` if it is the one with `id`.
    fn remove_handle(&mut self, name: &str, id: u64, touched: &mut [bool; HOOK_COUNT]) {
        if let Some(adapter) = self.by_name.get(name).filter(|a| a.id == id).cloned() {
            self.remove(&adapter, touched);
        }
    }

    /// Removes the handler registered as `name` if `owner` owns it.
    fn remove_owned(&mut self, name: &str, owner: &Owner, touched: &mut [bool; HOOK_COUNT]) {
        if let Some(adapter) = self
            .by_name
            .get(name)
            .filter(|a| &a.owner == owner)
            .cloned()
        {
            self.remove(&adapter, touched);
        }
    }
}

/// One owner's counters, as a [`Registration`] keeps them.
#[derive(Clone)]
struct OwnerStats {
    owner: Owner,
    counters: Arc<Counters>,
}

impl PartialEq for OwnerStats {
    fn eq(&self, other: &Self) -> bool {
        self.owner == other.owner && Arc::ptr_eq(&self.counters, &other.counters)
    }
}

impl Eq for OwnerStats {}

impl fmt::Debug for OwnerStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.owner.name())
    }
}

/// A handle to what one `register` call registered; pass it to
/// [`PluginRegistry::unregister`] to remove exactly that.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "keep the registration to unregister it later, or use `scoped` for a guard"]
pub struct Registration {
    ids: Vec<u64>,
    names: Vec<String>,
    owners: Vec<OwnerStats>,
}

impl Registration {
    /// Registry names of the registered handlers (`"{plugin}.{hook}"` or the handler's name).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Failure counters of the plugins and standalone handlers this call registered, summed.
    ///
    /// They stay readable after the handlers are unregistered or disabled.
    pub fn stats(&self) -> PluginStats {
        let mut total = PluginStats::default();
        for owner in &self.owners {
            total += owner.counters.snapshot();
        }
        total
    }
}

/// What to unregister: a [`Registration`], a plugin (by its name), a handler (by its name) or
/// a set (each of its leaves). Unknown targets are ignored.
#[derive(Clone, Debug, Default)]
pub struct UnregisterTarget {
    /// `(id, registry name)` of handlers a [`Registration`] registered.
    handles: Vec<(u64, String)>,
    plugins: Vec<String>,
    functions: Vec<String>,
}

impl UnregisterTarget {
    /// Every handler of the plugin named `name`.
    pub fn plugin(name: impl Into<String>) -> Self {
        Self {
            plugins: vec![name.into()],
            ..Self::default()
        }
    }

    /// The standalone handler named `name`.
    pub fn function(name: impl Into<String>) -> Self {
        Self {
            functions: vec![name.into()],
            ..Self::default()
        }
    }

    fn add(&mut self, item: &Registrable) {
        match item {
            Registrable::Plugin(p) => self.plugins.push(p.name().to_owned()),
            Registrable::Hook(h) => self.functions.push(h.name().to_owned()),
            Registrable::Set(set) => {
                for (leaf, _) in set.flatten() {
                    self.add(&leaf);
                }
            }
        }
    }
}

/// Several targets at once: `[(&a).into(), (&b).into()].into_iter().collect()`.
impl<T: Into<UnregisterTarget>> FromIterator<T> for UnregisterTarget {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut all = Self::default();
        for target in iter {
            let target = target.into();
            all.handles.extend(target.handles);
            all.plugins.extend(target.plugins);
            all.functions.extend(target.functions);
        }
        all
    }
}

impl From<&Registration> for UnregisterTarget {
    fn from(registration: &Registration) -> Self {
        Self {
            handles: registration
                .ids
                .iter()
                .copied()
                .zip(registration.names.iter().cloned())
                .collect(),
            ..Self::default()
        }
    }
}

impl From<&Registrable> for UnregisterTarget {
    fn from(item: &Registrable) -> Self {
        let mut target = Self::default();
        target.add(item);
        target
    }
}

impl<P: Plugin> From<&P> for UnregisterTarget {
    fn from(plugin: &P) -> Self {
        Self::plugin(plugin.name())
    }
}

impl<P: Plugin> From<&Arc<P>> for UnregisterTarget {
    fn from(plugin: &Arc<P>) -> Self {
        Self::plugin(plugin.name())
    }
}

impl From<&HookFn> for UnregisterTarget {
    fn from(hook: &HookFn) -> Self {
        Self::function(hook.name())
    }
}

impl From<&PluginSet> for UnregisterTarget {
    fn from(set: &PluginSet) -> Self {
        let mut target = Self::default();
        for (leaf, _) in set.flatten() {
            target.add(&leaf);
        }
        target
    }
}

/// Keeps items registered while it lives; dropping it (also while unwinding from a panic)
/// unregisters them.
#[must_use = "the items are unregistered as soon as the scope is dropped"]
pub struct PluginScope<'r> {
    registry: &'r PluginRegistry,
    registration: Registration,
}

impl PluginScope<'_> {
    /// What the scope registered.
    pub fn registration(&self) -> &Registration {
        &self.registration
    }
}

impl Drop for PluginScope<'_> {
    fn drop(&mut self) {
        self.registry.unregister(&self.registration);
    }
}

impl fmt::Debug for PluginScope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginScope")
            .field("names", &self.registration.names)
            .finish()
    }
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

    fn shared(&self) -> &Arc<Shared> {
        self.shared.get_or_init(Arc::default)
    }

    /// The state, after removing the handlers `on_error = disable` switched off since.
    fn lock(&self) -> MutexGuard<'_, State> {
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

    fn register_in(
        &self,
        item: Registrable,
        scope: Scope,
    ) -> Result<Registration, RegistrationError> {
        // Ask plugins for their handlers before taking the lock: `Plugin::hooks` is user code,
        // which may be slow, may panic, or may itself look at this registry.
        let mut planned: Vec<PlannedHandler> = Vec::new();
        let mut names: HashSet<&str> = HashSet::new();
        let leaves = leaves(item);
        for (leaf, priority_override) in &leaves {
            for mut handler in expand_leaf(leaf)? {
                handler.priority_override = *priority_override;
                if !handler.on_error.allowed_in(handler.mode) {
                    return Err(RegistrationError::FailCannotBlock {
                        name: handler.name,
                        mode: handler.mode,
                    });
                }
                planned.push(handler);
            }
        }
        for handler in &planned {
            if !names.insert(&handler.name) {
                return Err(RegistrationError::DuplicateName {
                    name: handler.name.clone(),
                });
            }
        }

        let shared = Arc::clone(self.shared());
        let mut state = self.lock();
        if let Some(taken) = planned.iter().find(|p| state.by_name.contains_key(&p.name)) {
            return Err(RegistrationError::DuplicateName {
                name: taken.name.clone(),
            });
        }
        // Every check passed: commit the whole registration at once.
        let mut touched = [false; HOOK_COUNT];
        let mut registration = Registration {
            ids: Vec::with_capacity(planned.len()),
            names: Vec::with_capacity(planned.len()),
            owners: Vec::new(),
        };
        let mut owners_seen: HashSet<*const Counters> = HashSet::new();
        for planned in planned {
            state.next_id += 1;
            let id = state.next_id;
            let entry = state
                .owners
                .entry(planned.owner.clone())
                .or_insert_with(|| OwnerEntry {
                    counters: Arc::default(),
                    handlers: 0,
                });
            entry.handlers += 1;
            let counters = Arc::clone(&entry.counters);
            if owners_seen.insert(Arc::as_ptr(&counters)) {
                registration.owners.push(OwnerStats {
                    owner: planned.owner.clone(),
                    counters: Arc::clone(&counters),
                });
            }
            let adapter = Arc::new(Adapter {
                id,
                priority: planned
                    .priority_override
                    .or(planned.own_priority)
                    .unwrap_or(planned.default_priority),
                name: planned.name,
                owner: planned.owner,
                mode: planned.mode,
                seq: id,
                scope: scope.clone(),
                on_error: planned.on_error,
                handler: planned.handler,
                counters,
                shared: Arc::clone(&shared),
                disabled: AtomicBool::new(false),
                warned_blocking: AtomicBool::new(false),
            });
            let index = adapter.handler.hook().index();
            touched[index] = true;
            registration.ids.push(id);
            registration.names.push(adapter.name.clone());
            state
                .by_name
                .insert(adapter.name.clone(), Arc::clone(&adapter));
            state.tables_mut()[index].insert(adapter);
        }
        self.publish(&state, &touched);
        Ok(registration)
    }

    /// Publishes the current tables of the touched hooks: one O(1) clone each.
    fn publish(&self, state: &State, touched: &[bool; HOOK_COUNT]) {
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

/// Leaves of an item with the priority override that applies to each.
fn leaves(item: Registrable) -> Vec<(Registrable, Option<i32>)> {
    match item {
        Registrable::Set(set) => set.flatten(),
        leaf => vec![(leaf, None)],
    }
}

/// One handler a leaf contributes, before it gets an id.
struct PlannedHandler {
    name: String,
    owner: Owner,
    /// Priority the enclosing sets impose (the outermost set's wins).
    priority_override: Option<i32>,
    /// Priority the handler itself declares.
    own_priority: Option<i32>,
    /// Priority of the plugin (or the library default for standalone handlers).
    default_priority: i32,
    mode: PluginMode,
    /// The effective failure policy (the handler's own, else its plugin's).
    on_error: OnError,
    handler: ErasedHandler,
}

/// The handlers one leaf contributes.
fn expand_leaf(leaf: &Registrable) -> Result<Vec<PlannedHandler>, RegistrationError> {
    match leaf {
        Registrable::Plugin(plugin) => {
            let plugin_name = plugin.name().to_owned();
            if plugin_name.is_empty() {
                return Err(RegistrationError::EmptyName);
            }
            let mut hooks = PluginHooks::default();
            plugin.clone().hooks(&mut hooks);
            if hooks.specs().is_empty() {
                tracing::warn!(plugin = %plugin_name, "plugin has no hook handlers; nothing registered");
            }
            let default_priority = plugin.priority();
            let default_on_error = plugin.on_error();
            Ok(hooks
                .specs()
                .iter()
                .map(|spec| PlannedHandler {
                    name: format!("{plugin_name}.{}", spec.hook()),
                    owner: Owner::Plugin(plugin_name.clone()),
                    priority_override: None,
                    own_priority: spec.priority,
                    default_priority,
                    mode: spec.mode,
                    on_error: spec.on_error.unwrap_or(default_on_error),
                    handler: spec.handler.clone(),
                })
                .collect())
        }
        Registrable::Hook(hook) => {
            if hook.name().is_empty() {
                return Err(RegistrationError::EmptyName);
            }
            let spec = hook.spec();
            Ok(vec![PlannedHandler {
                name: hook.name().to_owned(),
                owner: Owner::Function(hook.name().to_owned()),
                priority_override: None,
                own_priority: spec.priority,
                default_priority: DEFAULT_PRIORITY,
                mode: spec.mode,
                on_error: spec.on_error.unwrap_or_default(),
                handler: spec.handler.clone(),
            }])
        }
        // `leaves` flattens sets before expansion, so no set reaches here.
        Registrable::Set(_) => Ok(Vec::new()),
    }
}
