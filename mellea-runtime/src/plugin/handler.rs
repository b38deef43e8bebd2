//! What a handler is: an async function from `(&Payload, &HookContext)` to a [`HookResult`].

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::hooks::{Hook, HookType};

use super::{HandlerFuture, HookContext};

/// A boxed, `Send` future borrowing for `'a`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An error a handler returns. It is logged and counted, and dispatch continues as if the
/// handler had returned [`HookAction::Continue`].
pub type HandlerError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a handler returns: an action, or an error that is logged and ignored.
///
/// `P` is the hook's patch type; for observe-only hooks it is
/// [`NoPatch`](crate::hooks::NoPatch), so [`HookAction::Modify`] cannot be built.
pub type HookResult<P = crate::hooks::NoPatch> = Result<HookAction<P>, HandlerError>;

/// What a handler asks the dispatcher to do.
#[derive(Debug)]
#[must_use]
pub enum HookAction<P> {
    /// Go on unchanged.
    Continue,
    /// Change the payload's writable fields (SEQUENTIAL and TRANSFORM handlers only; other
    /// modes' patches are discarded).
    Modify(P),
    /// Stop the operation (SEQUENTIAL and CONCURRENT handlers only; TRANSFORM, AUDIT and
    /// FIRE_AND_FORGET blocks are logged and ignored).
    Block(Violation),
}

impl<P> From<Violation> for HookAction<P> {
    fn from(violation: Violation) -> Self {
        HookAction::Block(violation)
    }
}

/// Why a handler blocks an operation.
///
/// ```
/// use mellea_runtime::plugin::Violation;
/// let v = Violation::new("prompt contains a secret").with_code("PII");
/// assert_eq!(v.code, "PII");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Violation {
    /// Human-readable reason.
    pub reason: String,
    /// Machine-readable code (may be empty).
    pub code: String,
    /// Longer description (defaults to the reason).
    pub description: String,
    /// Structured details.
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl Violation {
    /// A violation with a reason.
    pub fn new(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self {
            description: reason.clone(),
            reason,
            ..Self::default()
        }
    }

    /// Sets the machine-readable code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = code.into();
        self
    }

    /// Sets the longer description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets structured details.
    pub fn with_details(mut self, details: serde_json::Map<String, serde_json::Value>) -> Self {
        self.details = details;
        self
    }
}

/// A handler of hook `H`.
///
/// Implemented for every `Fn(&Payload, &HookContext) -> BoxFuture<HookResult<Patch>>`:
///
/// ```
/// use mellea_runtime::hooks::GenerationPostCall;
/// use mellea_runtime::plugin::{HookAction, HookFn};
/// let recorder = HookFn::new::<GenerationPostCall, _>("latency_logger", |payload, _ctx| {
///     Box::pin(async move {
///         println!("{} ms", payload.latency_ms);
///         Ok(HookAction::Continue)
///     })
/// });
/// assert_eq!(recorder.name(), "latency_logger");
/// ```
///
/// A type implementing it by hand returns its future in a [`HandlerFuture`], which stores a
/// small future inline (no allocation per call).
pub trait Handler<H: Hook>: Send + Sync + 'static {
    /// Runs the handler.
    fn call<'a>(
        &'a self,
        payload: &'a H::Payload,
        ctx: &'a HookContext,
    ) -> HandlerFuture<'a, H::Patch>;
}

/// A function returning a boxed future: the box is kept (stored inline), not boxed again.
impl<H, F> Handler<H> for F
where
    H: Hook,
    F: for<'a> Fn(&'a H::Payload, &'a HookContext) -> BoxFuture<'a, HookResult<H::Patch>>
        + Send
        + Sync
        + 'static,
{
    fn call<'a>(
        &'a self,
        payload: &'a H::Payload,
        ctx: &'a HookContext,
    ) -> HandlerFuture<'a, H::Patch> {
        HandlerFuture::from(self(payload, ctx))
    }
}

/// A function returning a [`HandlerFuture`]. A wrapper rather than a second blanket impl over
/// functions, which would overlap the one for functions returning a box.
pub(crate) struct UnboxedFn<F>(pub(crate) F);

impl<H, F> Handler<H> for UnboxedFn<F>
where
    H: Hook,
    F: for<'a> Fn(&'a H::Payload, &'a HookContext) -> HandlerFuture<'a, H::Patch>
        + Send
        + Sync
        + 'static,
{
    #[inline]
    fn call<'a>(
        &'a self,
        payload: &'a H::Payload,
        ctx: &'a HookContext,
    ) -> HandlerFuture<'a, H::Patch> {
        (self.0)(payload, ctx)
    }
}

/// A handler that is a method of a shared plugin value.
pub(crate) struct MethodHandler<T, F> {
    pub(crate) target: Arc<T>,
    pub(crate) method: F,
}

impl<H, T, F> Handler<H> for MethodHandler<T, F>
where
    H: Hook,
    T: Send + Sync + 'static,
    F: for<'a> Fn(&'a T, &'a H::Payload, &'a HookContext) -> HandlerFuture<'a, H::Patch>
        + Send
        + Sync
        + 'static,
{
    #[inline]
    fn call<'a>(
        &'a self,
        payload: &'a H::Payload,
        ctx: &'a HookContext,
    ) -> HandlerFuture<'a, H::Patch> {
        (self.method)(&self.target, payload, ctx)
    }
}

/// A handler with its hook type erased, so handlers of all hooks can share one table.
#[derive(Clone)]
pub(crate) struct ErasedHandler {
    hook: HookType,
    typed: Arc<dyn Any + Send + Sync>,
}

/// The concrete type stored behind [`ErasedHandler`] for hook `H`.
struct TypedHandler<H: Hook>(Box<dyn Handler<H>>);

impl ErasedHandler {
    pub(crate) fn new<H: Hook>(handler: impl Handler<H>) -> Self {
        Self {
            hook: H::TYPE,
            typed: Arc::new(TypedHandler::<H>(Box::new(handler))),
        }
    }

    pub(crate) fn hook(&self) -> HookType {
        self.hook
    }

    /// The typed handler; `None` only if `H` is not the hook it was built for, which the
    /// registry's per-hook tables rule out.
    pub(crate) fn typed<H: Hook>(&self) -> Option<&dyn Handler<H>> {
        self.typed
            .downcast_ref::<TypedHandler<H>>()
            .map(|t| t.0.as_ref())
    }
}
