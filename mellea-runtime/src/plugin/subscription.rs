//! How a handler is subscribed: its options (mode, priority, failure policy), the spec a
//! registration takes, and the standalone handler function with its name.

use std::fmt;

use crate::hooks::{Hook, HookType};

use super::handler::{ErasedHandler, Handler, UnboxedFn};
use super::{BoxFuture, HandlerFuture, HookContext, HookResult, OnError, PluginMode};

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
