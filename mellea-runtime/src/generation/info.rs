//! What every hook of one generation shares: created once when the generation begins and lent
//! (through [`HookContext::generation`](crate::plugin::HookContext::generation)) to every
//! handler it fires, so no fact of the generation is copied per hook.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use opentelemetry::Context;

use super::GenerationKind;
use crate::plugin::{BackendInfo, Extensions};

/// Length of a hyphenated UUID.
const ID_LEN: usize = uuid::fmt::Hyphenated::LENGTH;

/// The facts of one generation, shared by reference with every hook it fires.
///
/// ```no_run
/// # use mellea_runtime::plugin::HookContext;
/// # fn handler(ctx: &HookContext) {
/// if let Some(generation) = ctx.generation() {
///     println!("{} on {}", generation.id(), generation.backend().model_id);
/// }
/// # }
/// ```
pub struct GenerationInfo {
    /// Minted when first read (most generations are never asked for theirs: the tracing
    /// plugin does not record it), formatted in place: reading it never allocates.
    id: OnceLock<[u8; ID_LEN]>,
    kind: GenerationKind,
    /// Shared with other generations of the same backend (see `BackendSnapshot`).
    backend: Arc<BackendInfo>,
    session: Option<Arc<str>>,
    started: Instant,
    /// The caller's OpenTelemetry context, captured when the generation began.
    parent: Context,
    /// The context the body runs under when a pre-call handler replaced the caller's.
    body: Mutex<Option<Context>>,
    extensions: Extensions,
    /// The tracing plugins' open spans: a typed slot, so ending a span is no search by id.
    pub(crate) spans: crate::telemetry::SpanSlot,
}

impl GenerationInfo {
    /// A generation of `kind` on `backend`, beginning now under the current OpenTelemetry
    /// context, with a fresh id and no session.
    ///
    /// Instrumented methods get theirs from `#[generation_hook]`; this is for code that fires
    /// generation hooks by hand (handing it to
    /// [`HookContext::with_generation`](crate::plugin::HookContext::with_generation)).
    pub fn new(kind: GenerationKind, backend: BackendInfo) -> Self {
        Self::begin(kind, Arc::new(backend), Context::current(), None)
    }

    /// Puts the generation in `session`.
    #[must_use]
    pub fn with_session_id(mut self, session: impl Into<Arc<str>>) -> Self {
        self.session = Some(session.into());
        self
    }

    pub(crate) fn begin(
        kind: GenerationKind,
        backend: Arc<BackendInfo>,
        parent: Context,
        session: Option<Arc<str>>,
    ) -> Self {
        Self {
            id: OnceLock::new(),
            kind,
            backend,
            session,
            started: Instant::now(),
            parent,
            body: Mutex::new(None),
            extensions: Extensions::new(),
            spans: Default::default(),
        }
    }

    /// The Mellea-side correlation id (a UUID v4; distinct from the provider's response id).
    pub fn id(&self) -> &str {
        let id = self.id.get_or_init(|| {
            let mut id = [0; ID_LEN];
            uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id);
            id
        });
        // Always ASCII: written by the UUID formatter.
        std::str::from_utf8(id).unwrap_or_default()
    }

    /// Which path the generation takes.
    pub fn kind(&self) -> GenerationKind {
        self.kind
    }

    /// The backend the generation runs on.
    pub fn backend(&self) -> &BackendInfo {
        &self.backend
    }

    /// The session the generation belongs to, if any.
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// The backend, shared: telemetry keys what it derives from a backend by this pointer.
    pub(crate) fn shared_backend(&self) -> &Arc<BackendInfo> {
        &self.backend
    }

    /// The session id, shared: payloads and attribute values take it without a copy.
    pub(crate) fn shared_session_id(&self) -> Option<&Arc<str>> {
        self.session.as_ref()
    }

    /// When the generation began.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The caller's OpenTelemetry context, as it was when the generation began.
    pub fn parent_context(&self) -> &Context {
        &self.parent
    }

    /// The context the generation's body runs under: the caller's, unless a pre-call handler
    /// replaced it with [`set_body_context`](Self::set_body_context).
    pub fn body_context(&self) -> Context {
        self.lock_body()
            .clone()
            .unwrap_or_else(|| self.parent.clone())
    }

    /// The context a pre-call handler replaced the caller's with, if one did.
    pub(crate) fn replaced_body_context(&self) -> Option<Context> {
        self.lock_body().clone()
    }

    /// Makes the body run under `cx` (e.g. a context holding a span the handler started, so
    /// that spans inside the body nest under it). Only pre-call handlers see this take effect.
    pub fn set_body_context(&self, cx: Context) {
        *self.lock_body() = Some(cx);
    }

    fn lock_body(&self) -> MutexGuard<'_, Option<Context>> {
        lock(&self.body)
    }

    /// Ends what the generation held (plugins' per-call state, open spans, the contexts and
    /// session) and leaves an empty value whose allocation can be reused.
    pub(super) fn clear(&mut self) {
        self.id = OnceLock::new();
        self.session = None;
        self.parent = Context::new();
        *self.body.get_mut().unwrap_or_else(PoisonError::into_inner) = None;
        self.extensions = Extensions::new();
        self.spans = Default::default();
    }

    /// Per-call state of plugins, dropped with the generation.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler that panicked while holding the lock leaves a value that is still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl fmt::Debug for GenerationInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenerationInfo")
            .field("id", &self.id())
            .field("kind", &self.kind)
            .field("backend", &self.backend)
            .field("session_id", &self.session)
            .finish_non_exhaustive()
    }
}
