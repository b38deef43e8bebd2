//! The per-dispatch context handed to every handler.

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::generation::GenerationInfo;

/// State key that reads as the backend's model id (as in the reference).
const BACKEND_NAME: &str = "backend_name";

/// The empty state every context starts from, shared: most dispatches never write state, and
/// copy-on-write gives a writer its own map.
fn empty_state() -> Arc<StateMap> {
    static EMPTY: std::sync::LazyLock<Arc<StateMap>> =
        std::sync::LazyLock::new(|| Arc::new(StateMap::new()));
    EMPTY.clone()
}

/// Free-form state shared by the handlers of one dispatch.
pub type StateMap = serde_json::Map<String, serde_json::Value>;

/// What a backend declares about itself.
///
/// ```
/// use mellea_runtime::plugin::BackendInfo;
/// let info = BackendInfo::new("openai", "gpt-4o").remote().with_server("api.openai.com", 443);
/// assert!(info.remote);
/// assert_eq!(info.server_port, Some(443));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackendInfo {
    /// Provider name, e.g. `"openai"`, `"ollama"`.
    pub provider: Cow<'static, str>,
    /// Model id the backend calls.
    pub model_id: String,
    /// Whether the model runs in another process (spans of kind CLIENT) or in this one
    /// (INTERNAL).
    pub remote: bool,
    /// Host of the inference server, when there is one.
    pub server_address: Option<String>,
    /// Port of the inference server, when there is one.
    pub server_port: Option<u16>,
}

impl BackendInfo {
    /// An in-process backend of `provider` serving `model_id`.
    pub fn new(provider: impl Into<Cow<'static, str>>, model_id: impl Into<String>) -> Self {
        Self {
            provider: provider.into(),
            model_id: model_id.into(),
            ..Self::default()
        }
    }

    /// Marks the backend as remote.
    #[must_use]
    pub fn remote(mut self) -> Self {
        self.remote = true;
        self
    }

    /// Sets the server endpoint (implies remote).
    #[must_use]
    pub fn with_server(mut self, address: impl Into<String>, port: u16) -> Self {
        self.remote = true;
        self.server_address = Some(address.into());
        self.server_port = Some(port);
        self
    }
}

/// A map from type to value, shared by the handlers of every dispatch of one operation (one
/// generation): plugins keep per-call state here, and it is dropped with the operation, so it
/// cannot leak.
#[derive(Default)]
pub struct Extensions {
    /// A handful of entries per operation: a vector scans faster than a hash map allocates.
    entries: Mutex<Vec<(TypeId, Box<dyn Any + Send>)>>,
}

type Entries = Vec<(TypeId, Box<dyn Any + Send>)>;

impl Extensions {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // A handler that panicked while holding the lock leaves a map that is still usable.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn position<T: Any>(entries: &Entries) -> Option<usize> {
        entries.iter().position(|(id, _)| *id == TypeId::of::<T>())
    }

    /// Stores a value, returning the previous value of that type.
    pub fn insert<T: Any + Send>(&self, value: T) -> Option<T> {
        let mut entries = self.lock();
        match Self::position::<T>(&entries) {
            Some(i) => {
                let old = std::mem::replace(&mut entries[i].1, Box::new(value));
                old.downcast().ok().map(|b| *b)
            }
            None => {
                entries.push((TypeId::of::<T>(), Box::new(value)));
                None
            }
        }
    }

    /// Removes and returns the value of type `T`.
    pub fn remove<T: Any + Send>(&self) -> Option<T> {
        let mut entries = self.lock();
        let i = Self::position::<T>(&entries)?;
        entries.swap_remove(i).1.downcast().ok().map(|b| *b)
    }

    /// A clone of the value of type `T`.
    pub fn get<T: Any + Send + Clone>(&self) -> Option<T> {
        let entries = self.lock();
        let i = Self::position::<T>(&entries)?;
        entries[i].1.downcast_ref::<T>().cloned()
    }

    /// Runs `f` on the value of type `T`, if there is one.
    pub fn with_mut<T: Any + Send, R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let mut entries = self.lock();
        let i = Self::position::<T>(&entries)?;
        entries[i].1.downcast_mut::<T>().map(f)
    }

    /// Whether the map holds no value.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Number of values held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Extensions({} values)", self.len())
    }
}

/// What a context says beyond its generation: set by code that fires hooks by hand. Shared by
/// every handler of one dispatch.
#[derive(Clone, Debug, Default)]
struct Shared {
    backend: Option<BackendInfo>,
    session_id: Option<Arc<str>>,
    extensions: Option<Arc<Extensions>>,
}

/// Context of one dispatch: the backend and session it belongs to, the operation's
/// [`Extensions`], and a state map.
///
/// Each handler gets its own copy of the state; writes of SEQUENTIAL, TRANSFORM and CONCURRENT
/// handlers are merged back and seen by later handlers, writes of AUDIT and FIRE_AND_FORGET
/// handlers are not.
///
/// ```
/// use mellea_runtime::plugin::{BackendInfo, HookContext};
/// let ctx = HookContext::new()
///     .with_backend(BackendInfo::new("ollama", "granite4"))
///     .with_session_id("session-1");
/// assert_eq!(ctx.backend().unwrap().model_id, "granite4");
/// assert_eq!(ctx.get_state("backend_name"), Some("granite4".into()));
/// ```
pub struct HookContext {
    /// Set for the hooks of a generation: its backend, session and extensions are read from
    /// there. Held apart from `shared` so that a generation's context costs no allocation.
    generation: Option<Arc<GenerationInfo>>,
    /// `None` until a `with_*` builder sets something: most contexts are a generation's.
    shared: Option<Arc<Shared>>,
    /// Copy-on-write: handlers share one map until one of them writes.
    state: Mutex<Arc<StateMap>>,
}

impl Default for HookContext {
    fn default() -> Self {
        Self::new()
    }
}

impl HookContext {
    /// A context with no backend, no session and empty state.
    pub fn new() -> Self {
        Self {
            generation: None,
            shared: None,
            state: Mutex::new(empty_state()),
        }
    }

    /// A context for one dispatch of a generation's hook: no allocation.
    pub(crate) fn for_generation(generation: &Arc<GenerationInfo>) -> Self {
        Self {
            generation: Some(Arc::clone(generation)),
            shared: None,
            state: Mutex::new(empty_state()),
        }
    }

    fn shared_mut(&mut self) -> &mut Shared {
        Arc::make_mut(self.shared.get_or_insert_with(Arc::default))
    }

    fn shared(&self) -> Option<&Shared> {
        self.shared.as_deref()
    }

    /// Sets the backend. The state key `backend_name` then reads as its model id, as in the
    /// reference (until a handler writes that key).
    #[must_use]
    pub fn with_backend(mut self, backend: BackendInfo) -> Self {
        self.shared_mut().backend = Some(backend);
        self
    }

    /// The value `backend_name` has when no handler wrote it: the backend's model id. Derived
    /// on demand rather than stored, so a dispatch whose handlers never read it pays nothing.
    fn default_backend_name(&self) -> Option<serde_json::Value> {
        self.backend()
            .map(|backend| serde_json::Value::String(backend.model_id.clone()))
    }

    /// Sets the session; session-scoped plugins of other sessions do not fire.
    #[must_use]
    pub fn with_session_id(mut self, session_id: impl Into<Arc<str>>) -> Self {
        self.shared_mut().session_id = Some(session_id.into());
        self
    }

    /// Shares an operation's extension map with the handlers.
    #[must_use]
    pub fn with_extensions(mut self, extensions: Arc<Extensions>) -> Self {
        self.shared_mut().extensions = Some(extensions);
        self
    }

    /// Lends a generation's facts to the handlers: its backend, session and extensions are
    /// then the generation's (instrumented methods do this for every hook they fire).
    #[must_use]
    pub fn with_generation(mut self, generation: Arc<GenerationInfo>) -> Self {
        self.generation = Some(generation);
        self
    }

    /// Seeds a state value.
    #[must_use]
    pub fn with_state(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.state_mut().insert(key.into(), value.into());
        self
    }

    fn state_mut(&mut self) -> &mut StateMap {
        Arc::make_mut(self.state.get_mut().unwrap_or_else(PoisonError::into_inner))
    }

    /// The backend this dispatch belongs to.
    pub fn backend(&self) -> Option<&BackendInfo> {
        self.shared()
            .and_then(|s| s.backend.as_ref())
            .or_else(|| self.generation().map(GenerationInfo::backend))
    }

    /// The session this dispatch belongs to.
    pub fn session_id(&self) -> Option<&str> {
        self.shared()
            .and_then(|s| s.session_id.as_deref())
            .or_else(|| self.generation().and_then(GenerationInfo::session_id))
    }

    /// The operation's extension map, if the call site provides one (generations do).
    pub fn extensions(&self) -> Option<&Extensions> {
        self.shared()
            .and_then(|s| s.extensions.as_deref())
            .or_else(|| self.generation().map(GenerationInfo::extensions))
    }

    /// The reference's `generation_id` of a generation hook: the Mellea-side correlation id of
    /// the generation (distinct from the provider's response id). Read from the generation
    /// rather than copied into every payload.
    pub fn generation_id(&self) -> Option<&str> {
        self.generation().map(GenerationInfo::id)
    }

    /// The reference's `model` of a generation hook: the backend's model id.
    pub fn model(&self) -> Option<&str> {
        self.backend().map(|b| b.model_id.as_str())
    }

    /// The reference's `provider` of a generation hook: the backend's provider name.
    pub fn provider(&self) -> Option<&str> {
        self.backend().map(|b| &*b.provider)
    }

    /// The generation whose hook this is: its id, kind, backend, session, start and OTel
    /// context, shared by every hook it fires. `None` for hooks outside a generation.
    pub fn generation(&self) -> Option<&GenerationInfo> {
        self.generation.as_deref()
    }

    /// A state value.
    pub fn get_state(&self, key: &str) -> Option<serde_json::Value> {
        let stored = self.lock_state().get(key).cloned();
        match stored {
            None if key == BACKEND_NAME => self.default_backend_name(),
            stored => stored,
        }
    }

    /// Writes a state value (merged back for SEQUENTIAL, TRANSFORM and CONCURRENT handlers).
    pub fn set_state(&self, key: impl Into<String>, value: impl Into<serde_json::Value>) {
        Arc::make_mut(&mut self.lock_state()).insert(key.into(), value.into());
    }

    /// A copy of the whole state.
    pub fn state(&self) -> StateMap {
        let mut state = (**self.lock_state()).clone();
        if !state.contains_key(BACKEND_NAME)
            && let Some(name) = self.default_backend_name()
        {
            state.insert(BACKEND_NAME.to_owned(), name);
        }
        state
    }

    /// The state as it is now, shared (no copy until someone writes).
    pub(crate) fn shared_state(&self) -> Arc<StateMap> {
        self.lock_state().clone()
    }

    fn lock_state(&self) -> MutexGuard<'_, Arc<StateMap>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A context for one handler: same shared part, its own (copy-on-write) `state`.
    pub(crate) fn child(&self, state: &Arc<StateMap>) -> HookContext {
        HookContext {
            generation: self.generation.clone(),
            shared: self.shared.clone(),
            state: Mutex::new(state.clone()),
        }
    }

    /// Takes the state out (for merging after the handler ran).
    pub(crate) fn into_state(self) -> Arc<StateMap> {
        self.state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for HookContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookContext")
            .field("backend", &self.shared().and_then(|s| s.backend.as_ref()))
            .field(
                "session_id",
                &self.shared().and_then(|s| s.session_id.as_ref()),
            )
            .field("generation", &self.generation)
            .field("state", &*self.lock_state())
            .finish()
    }
}
