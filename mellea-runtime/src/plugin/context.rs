//! The per-dispatch context handed to every handler.

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

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
    map: Mutex<HashMap<TypeId, Box<dyn Any + Send>>>,
}

impl Extensions {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TypeId, Box<dyn Any + Send>>> {
        // A handler that panicked while holding the lock leaves a map that is still usable.
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a value, returning the previous value of that type.
    pub fn insert<T: Any + Send>(&self, value: T) -> Option<T> {
        self.lock()
            .insert(TypeId::of::<T>(), Box::new(value))
            .and_then(|old| old.downcast().ok().map(|b| *b))
    }

    /// Removes and returns the value of type `T`.
    pub fn remove<T: Any + Send>(&self) -> Option<T> {
        self.lock()
            .remove(&TypeId::of::<T>())
            .and_then(|old| old.downcast().ok().map(|b| *b))
    }

    /// A clone of the value of type `T`.
    pub fn get<T: Any + Send + Clone>(&self) -> Option<T> {
        self.lock()
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
            .cloned()
    }

    /// Runs `f` on the value of type `T`, if there is one.
    pub fn with_mut<T: Any + Send, R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        self.lock()
            .get_mut(&TypeId::of::<T>())
            .and_then(|v| v.downcast_mut::<T>())
            .map(f)
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

/// The part of a context that every handler of one dispatch shares.
#[derive(Clone, Debug, Default)]
struct Shared {
    backend: Option<BackendInfo>,
    session_id: Option<String>,
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
    shared: Arc<Shared>,
    state: Mutex<StateMap>,
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
            shared: Arc::new(Shared::default()),
            state: Mutex::new(StateMap::new()),
        }
    }

    fn shared_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.shared)
    }

    /// Sets the backend; also seeds the state key `backend_name` with its model id, as the
    /// reference does.
    #[must_use]
    pub fn with_backend(mut self, backend: BackendInfo) -> Self {
        self.state_mut().insert(
            "backend_name".to_owned(),
            serde_json::Value::String(backend.model_id.clone()),
        );
        self.shared_mut().backend = Some(backend);
        self
    }

    /// Sets the session; session-scoped plugins of other sessions do not fire.
    #[must_use]
    pub fn with_session_id(mut self, session_id: impl Into<String>) -> Self {
        self.shared_mut().session_id = Some(session_id.into());
        self
    }

    /// Shares an operation's extension map with the handlers.
    #[must_use]
    pub fn with_extensions(mut self, extensions: Arc<Extensions>) -> Self {
        self.shared_mut().extensions = Some(extensions);
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
        self.state.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// The backend this dispatch belongs to.
    pub fn backend(&self) -> Option<&BackendInfo> {
        self.shared.backend.as_ref()
    }

    /// The session this dispatch belongs to.
    pub fn session_id(&self) -> Option<&str> {
        self.shared.session_id.as_deref()
    }

    /// The operation's extension map, if the call site provides one (generations do).
    pub fn extensions(&self) -> Option<&Arc<Extensions>> {
        self.shared.extensions.as_ref()
    }

    /// A state value.
    pub fn get_state(&self, key: &str) -> Option<serde_json::Value> {
        self.lock_state().get(key).cloned()
    }

    /// Writes a state value (merged back for SEQUENTIAL, TRANSFORM and CONCURRENT handlers).
    pub fn set_state(&self, key: impl Into<String>, value: impl Into<serde_json::Value>) {
        self.lock_state().insert(key.into(), value.into());
    }

    /// A copy of the whole state.
    pub fn state(&self) -> StateMap {
        self.lock_state().clone()
    }

    fn lock_state(&self) -> MutexGuard<'_, StateMap> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A context for one handler: same shared part, its own copy of `state`.
    pub(crate) fn child(&self, state: &StateMap) -> HookContext {
        HookContext {
            shared: self.shared.clone(),
            state: Mutex::new(state.clone()),
        }
    }

    /// Takes the state out (for merging after the handler ran).
    pub(crate) fn into_state(self) -> StateMap {
        self.state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for HookContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookContext")
            .field("backend", &self.shared.backend)
            .field("session_id", &self.shared.session_id)
            .field("state", &*self.lock_state())
            .finish()
    }
}
