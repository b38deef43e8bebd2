//! The plugin registry: registration, scopes, unregistration and the listener fast path.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwapOption;

use super::handler::ErasedHandler;
use super::{DEFAULT_PRIORITY, HookFn, Plugin, PluginHooks, PluginMode, PluginSet, Registrable};
use crate::error::RegistrationError;
use crate::hooks::{HOOK_COUNT, HookMask, HookType};

/// Default time a handler may run before it is abandoned.
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
    Session(String),
}

impl Scope {
    pub(crate) fn admits(&self, session: Option<&str>) -> bool {
        match self {
            Scope::Global => true,
            Scope::Session(id) => session == Some(id.as_str()),
        }
    }
}

/// Failure counters of one registry.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) errors: AtomicU64,
    pub(crate) panics: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) suppressed_blocks: AtomicU64,
    pub(crate) discarded_patches: AtomicU64,
}

/// A snapshot of a registry's failure counters.
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
    pub(crate) handler: ErasedHandler,
    pub(crate) counters: Arc<Counters>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    Plugin(String),
    Function(String),
}

impl fmt::Debug for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Adapter")
            .field("name", &self.name)
            .field("hook", &self.handler.hook())
            .field("mode", &self.mode)
            .field("priority", &self.priority)
            .finish()
    }
}

/// The handlers of one hook, in execution order: mode phase, then priority, then
/// registration order.
#[derive(Debug, Default)]
pub(crate) struct HookTable {
    pub(crate) adapters: Vec<Arc<Adapter>>,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    by_name: BTreeMap<String, Arc<Adapter>>,
    counters: Option<Arc<Counters>>,
}

/// A handle to what one `register` call registered; pass it to
/// [`PluginRegistry::unregister`] to remove exactly that.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "keep the registration to unregister it later, or use `scoped` for a guard"]
pub struct Registration {
    ids: Vec<u64>,
    names: Vec<String>,
}

impl Registration {
    /// Registry names of the registered handlers (`"{plugin}.{hook}"` or the handler's name).
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// What to unregister: a [`Registration`], a plugin (by its name), a handler (by its name) or
/// a set (each of its leaves). Unknown targets are ignored.
#[derive(Clone, Debug, Default)]
pub struct UnregisterTarget {
    ids: Vec<u64>,
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

    fn matches(&self, adapter: &Adapter) -> bool {
        self.ids.contains(&adapter.id)
            || match &adapter.owner {
                Owner::Plugin(name) => self.plugins.contains(name),
                Owner::Function(name) => self.functions.contains(name),
            }
    }
}

/// Several targets at once: `[(&a).into(), (&b).into()].into_iter().collect()`.
impl<T: Into<UnregisterTarget>> FromIterator<T> for UnregisterTarget {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut all = Self::default();
        for target in iter {
            let target = target.into();
            all.ids.extend(target.ids);
            all.plugins.extend(target.plugins);
            all.functions.extend(target.functions);
        }
        all
    }
}

impl From<&Registration> for UnregisterTarget {
    fn from(registration: &Registration) -> Self {
        Self {
            ids: registration.ids.clone(),
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

/// Registered handlers, indexed by hook.
///
/// Registration takes a lock; dispatch does not: each hook's handler table is an immutable
/// snapshot swapped atomically, and [`has_listeners`](Self::has_listeners) is one atomic load.
/// Most applications use the process-wide [`global`] registry; tests and embedders can make
/// their own.
pub struct PluginRegistry {
    /// Bit `i` is set while hook `i` has at least one handler.
    pub(crate) listening: AtomicU32,
    pub(crate) tables: [ArcSwapOption<HookTable>; HOOK_COUNT],
    state: Mutex<State>,
    timeout_nanos: AtomicU64,
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
                counters: None,
            }),
            timeout_nanos: AtomicU64::new(DEFAULT_HANDLER_TIMEOUT.as_nanos() as u64),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Registration never panics while holding the lock; recover rather than poison forever.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
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
    pub fn set_handler_timeout(&self, timeout: Option<Duration>) {
        let nanos = timeout.map_or(NO_TIMEOUT, |t| {
            u64::try_from(t.as_nanos()).unwrap_or(NO_TIMEOUT - 1)
        });
        self.timeout_nanos.store(nanos, Ordering::Relaxed);
    }

    /// How long a handler may run before it is abandoned.
    pub fn handler_timeout(&self) -> Option<Duration> {
        match self.timeout_nanos.load(Ordering::Relaxed) {
            NO_TIMEOUT => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    /// Failure counters so far.
    pub fn stats(&self) -> PluginStats {
        let state = self.lock();
        let Some(c) = &state.counters else {
            return PluginStats::default();
        };
        PluginStats {
            handler_errors: c.errors.load(Ordering::Relaxed),
            handler_panics: c.panics.load(Ordering::Relaxed),
            handler_timeouts: c.timeouts.load(Ordering::Relaxed),
            suppressed_blocks: c.suppressed_blocks.load(Ordering::Relaxed),
            discarded_patches: c.discarded_patches.load(Ordering::Relaxed),
        }
    }

    /// Registers an item for every dispatch.
    ///
    /// Fails, registering nothing, if any handler name is taken.
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
        self.register_in(item.into(), Scope::Session(session_id.into()))
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
    pub fn unregister(&self, target: impl Into<UnregisterTarget>) {
        let target = target.into();
        self.remove_where(|a| target.matches(a));
    }

    /// Removes every handler registered for `session_id`.
    pub fn unregister_session(&self, session_id: &str) {
        self.remove_where(|a| matches!(&a.scope, Scope::Session(id) if id == session_id));
    }

    /// Removes every handler.
    pub fn clear(&self) {
        self.remove_where(|_| true);
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
        for (leaf, priority_override) in leaves(item) {
            for mut handler in expand_leaf(&leaf)? {
                if planned.iter().any(|p| p.name == handler.name) {
                    return Err(RegistrationError::DuplicateName { name: handler.name });
                }
                handler.priority_override = priority_override;
                planned.push(handler);
            }
        }

        let mut state = self.lock();
        if let Some(taken) = planned.iter().find(|p| state.by_name.contains_key(&p.name)) {
            return Err(RegistrationError::DuplicateName {
                name: taken.name.clone(),
            });
        }
        // Every check passed: commit the whole registration at once.
        let counters = state.counters.get_or_insert_with(Default::default).clone();
        let mut touched = [false; HOOK_COUNT];
        let mut registration = Registration {
            ids: Vec::with_capacity(planned.len()),
            names: Vec::with_capacity(planned.len()),
        };
        for planned in planned {
            state.next_id += 1;
            let id = state.next_id;
            let adapter = Adapter {
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
                handler: planned.handler,
                counters: counters.clone(),
            };
            touched[adapter.handler.hook().index()] = true;
            registration.ids.push(adapter.id);
            registration.names.push(adapter.name.clone());
            state
                .by_name
                .insert(adapter.name.clone(), Arc::new(adapter));
        }
        self.rebuild(&state, &touched);
        Ok(registration)
    }

    fn remove_where(&self, mut remove: impl FnMut(&Adapter) -> bool) {
        let mut state = self.lock();
        let mut touched = [false; HOOK_COUNT];
        state.by_name.retain(|_, adapter| {
            let gone = remove(adapter);
            if gone {
                touched[adapter.handler.hook().index()] = true;
            }
            !gone
        });
        self.rebuild(&state, &touched);
    }

    /// Publishes new handler tables for the touched hooks.
    fn rebuild(&self, state: &State, touched: &[bool; HOOK_COUNT]) {
        for hook in HookType::ALL {
            let index = hook.index();
            if !touched[index] {
                continue;
            }
            let mut adapters: Vec<Arc<Adapter>> = state
                .by_name
                .values()
                .filter(|a| a.handler.hook() == hook)
                .cloned()
                .collect();
            adapters.sort_by_key(|a| (a.mode, a.priority, a.seq));
            let listened = !adapters.is_empty();
            let table = listened.then(|| Arc::new(HookTable { adapters }));
            self.tables[index].store(table);
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
                handler: spec.handler.clone(),
            }])
        }
        // `leaves` flattens sets before expansion, so no set reaches here.
        Registrable::Set(_) => Ok(Vec::new()),
    }
}
