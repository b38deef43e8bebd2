//! What a handler is: an async function from `(&Payload, &HookContext)` to a [`HookResult`].

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::hooks::{Hook, HookType};

use super::{HandlerFuture, HookContext, OnError, PluginMode};

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

/// How a handler runs: its mode, and optionally its own priority and failure policy (else the
/// plugin's apply).
///
/// ```
/// use mellea_runtime::plugin::{HandlerOptions, OnError, PluginMode};
/// let options = HandlerOptions::new(PluginMode::Concurrent)
///     .with_priority(5)
///     .with_on_error(OnError::Fail);
/// assert_eq!(options.on_error, Some(OnError::Fail));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HandlerOptions {
    /// The execution mode.
    pub mode: PluginMode,
    /// The handler's own priority (lower runs first); `None`: the plugin's.
    pub priority: Option<i32>,
    /// The handler's own failure policy; `None`: the plugin's.
    pub on_error: Option<OnError>,
}

impl HandlerOptions {
    /// Options with `mode`, the plugin's priority and the plugin's failure policy.
    pub const fn new(mode: PluginMode) -> Self {
        Self {
            mode,
            priority: None,
            on_error: None,
        }
    }

    /// Sets the handler's own priority.
    #[must_use]
    pub const fn with_priority(mut self, priority: i32) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Sets the handler's own failure policy. [`OnError::Fail`] needs a mode that can block
    /// (SEQUENTIAL or CONCURRENT); registration refuses it elsewhere.
    #[must_use]
    pub const fn with_on_error(mut self, on_error: OnError) -> Self {
        self.on_error = Some(on_error);
        self
    }
}

/// One handler subscription before registration: hook, mode, optional priority, optional
/// failure policy, handler.
#[derive(Clone)]
pub struct HookSpec {
    pub(crate) mode: PluginMode,
    pub(crate) priority: Option<i32>,
    pub(crate) on_error: Option<OnError>,
    pub(crate) handler: ErasedHandler,
}

impl HookSpec {
    /// The hook this spec subscribes to.
    pub fn hook(&self) -> HookType {
        self.handler.hook()
    }

    /// The spec's mode.
    pub fn mode(&self) -> PluginMode {
        self.mode
    }

    /// The spec's own priority, if it sets one.
    pub fn priority(&self) -> Option<i32> {
        self.priority
    }

    /// The spec's own failure policy, if it sets one.
    pub fn on_error(&self) -> Option<OnError> {
        self.on_error
    }
}

impl fmt::Debug for HookSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookSpec")
            .field("hook", &self.hook())
            .field("mode", &self.mode)
            .field("priority", &self.priority)
            .field("on_error", &self.on_error)
            .finish()
    }
}

/// A standalone handler function with its name, mode and priority.
///
/// The registry names it by `name`; `#[hook]` on a free function uses the function's path.
#[derive(Clone, Debug)]
pub struct HookFn {
    name: String,
    spec: HookSpec,
}

impl HookFn {
    /// A SEQUENTIAL handler of hook `H` with the default priority, from a function or closure.
    ///
    /// The bound spells out the `Fn` signature (rather than `F: Handler<H>`) so that a closure's
    /// argument and return types are inferred from `H`: `|payload, ctx| Box::pin(async move {
    /// ... })` needs no annotations. Handler types that are not functions go through
    /// [`from_handler`](Self::from_handler). The box costs one allocation per call;
    /// [`new_unboxed`](Self::new_unboxed) avoids it.
    ///
    /// ```
    /// use mellea_runtime::hooks::SessionPreInit;
    /// use mellea_runtime::plugin::{HookAction, HookFn};
    /// let audit = HookFn::new::<SessionPreInit, _>("audit", |payload, _ctx| {
    ///     Box::pin(async move {
    ///         println!("starting a session on {}", payload.model_id);
    ///         Ok(HookAction::Continue)
    ///     })
    /// });
    /// assert_eq!(audit.spec().priority(), None);
    /// ```
    pub fn new<H, F>(name: impl Into<String>, handler: F) -> Self
    where
        H: Hook,
        F: for<'a> Fn(&'a H::Payload, &'a HookContext) -> BoxFuture<'a, HookResult<H::Patch>>
            + Send
            + Sync
            + 'static,
    {
        Self::from_handler::<H>(name, handler)
    }

    /// [`new`](Self::new) for a closure that returns a [`HandlerFuture`]: a small future is
    /// stored inline, so a call does not allocate. What `#[hook]` generates.
    ///
    /// ```
    /// use mellea_runtime::hooks::SessionPreInit;
    /// use mellea_runtime::plugin::{HandlerFuture, HookAction, HookFn};
    /// let audit = HookFn::new_unboxed::<SessionPreInit, _>("audit", |payload, _ctx| {
    ///     HandlerFuture::new(async move {
    ///         println!("starting a session on {}", payload.model_id);
    ///         Ok(HookAction::Continue)
    ///     })
    /// });
    /// assert_eq!(audit.name(), "audit");
    /// ```
    pub fn new_unboxed<H, F>(name: impl Into<String>, handler: F) -> Self
    where
        H: Hook,
        F: for<'a> Fn(&'a H::Payload, &'a HookContext) -> HandlerFuture<'a, H::Patch>
            + Send
            + Sync
            + 'static,
    {
        Self::from_handler::<H>(name, UnboxedFn(handler))
    }

    /// A SEQUENTIAL handler of hook `H` with the default priority, from any [`Handler`].
    pub fn from_handler<H: Hook>(name: impl Into<String>, handler: impl Handler<H>) -> Self {
        Self {
            name: name.into(),
            spec: HookSpec {
                mode: PluginMode::Sequential,
                priority: None,
                on_error: None,
                handler: ErasedHandler::new::<H>(handler),
            },
        }
    }

    /// Sets the mode.
    #[must_use]
    pub fn with_mode(mut self, mode: PluginMode) -> Self {
        self.spec.mode = mode;
        self
    }

    /// Sets the priority (lower runs first).
    #[must_use]
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.spec.priority = Some(priority);
        self
    }

    /// Sets what a failure (error, panic, timeout) of this handler does; the default is
    /// [`OnError::Ignore`]. [`OnError::Fail`] needs a mode that can block (SEQUENTIAL or
    /// CONCURRENT): registration returns [`RegistrationError::FailCannotBlock`] otherwise.
    ///
    /// ```
    /// use mellea_runtime::hooks::GenerationPreCall;
    /// use mellea_runtime::plugin::{HookAction, HookFn, OnError, PluginMode, PluginRegistry};
    /// let audit_fail = HookFn::new::<GenerationPreCall, _>("audit", |_, _| Box::pin(async { Ok(HookAction::Continue) }))
    ///     .with_mode(PluginMode::Audit)
    ///     .with_on_error(OnError::Fail);
    /// assert!(PluginRegistry::new().register(audit_fail).is_err());
    /// ```
    ///
    /// [`RegistrationError::FailCannotBlock`]: crate::RegistrationError::FailCannotBlock
    #[must_use]
    pub fn with_on_error(mut self, on_error: OnError) -> Self {
        self.spec.on_error = Some(on_error);
        self
    }

    /// The registry name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The subscription.
    pub fn spec(&self) -> &HookSpec {
        &self.spec
    }
}
