//! Plugins, the registry they live in, and dispatch of a hook through the five modes.
//!
//! A plugin is a type implementing [`Plugin`]: a name, a default priority and a set of
//! handlers. `#[mellea::plugin]` writes that impl for you; by hand it looks like this:
//!
//! ```
//! use std::sync::Arc;
//! use mellea_runtime::hooks::{GenerationPreCall, GenerationPreCallPayload, GenerationPreCallPatch};
//! use mellea_runtime::plugin::{HookAction, HookContext, HookResult, Plugin, PluginHooks, PluginMode, PluginRegistry};
//!
//! struct Deterministic;
//!
//! impl Deterministic {
//!     async fn zero_temperature(
//!         &self,
//!         payload: &GenerationPreCallPayload,
//!         _ctx: &HookContext,
//!     ) -> HookResult<GenerationPreCallPatch> {
//!         let mut options = payload.model_options.clone();
//!         options.insert("temperature".into(), 0.0.into());
//!         Ok(HookAction::Modify(GenerationPreCallPatch::new().with_model_options(options)))
//!     }
//! }
//!
//! impl Plugin for Deterministic {
//!     fn name(&self) -> &str { "deterministic" }
//!     fn hooks(self: Arc<Self>, hooks: &mut PluginHooks) {
//!         hooks.method::<GenerationPreCall, _, _>(PluginMode::Sequential, None, self, |this, p, c| {
//!             Box::pin(this.zero_temperature(p, c))
//!         });
//!     }
//! }
//!
//! let registry = PluginRegistry::new();
//! let registration = registry.register(Deterministic).unwrap();
//! assert!(registry.has_listeners(mellea_runtime::hooks::HookType::GenerationPreCall));
//! registry.unregister(&registration);
//! ```
//!
//! # Failures and blocking work
//!
//! A handler's error, panic or timeout is logged and counted; its [`OnError`] policy decides
//! the rest (`Ignore` by default, `Fail` to block the dispatch, `Disable` to unregister the
//! handler). The timeout ([`PluginRegistry::set_handler_timeout`]) can only abandon a handler
//! that yields: one that blocks its thread runs to the end and stalls the other tasks of that
//! thread. Hand blocking work to tokio's blocking pool and await it:
//!
//! ```
//! use mellea_runtime::hooks::{GenerationPreCall, GenerationPreCallPatch, GenerationPreCallPayload};
//! use mellea_runtime::plugin::{HookAction, HookContext, HookFn, HookResult, OnError, Violation};
//!
//! /// A synchronous check: a blocking HTTP client, a local model, a large regex set.
//! fn flagged(prompt: &str) -> bool {
//!     prompt.contains("secret")
//! }
//!
//! async fn moderate(
//!     payload: &GenerationPreCallPayload,
//!     _ctx: &HookContext,
//! ) -> HookResult<GenerationPreCallPatch> {
//!     let prompt = payload.prompt_text();
//!     // Yields while the blocking pool works: the timeout applies, other tasks keep running.
//!     if tokio::task::spawn_blocking(move || flagged(&prompt)).await? {
//!         return Ok(HookAction::Block(Violation::new("flagged")));
//!     }
//!     Ok(HookAction::Continue)
//! }
//!
//! let guard = HookFn::new::<GenerationPreCall, _>("moderation", |p, c| Box::pin(moderate(p, c)))
//!     .with_on_error(OnError::Fail);
//! assert_eq!(guard.spec().on_error(), Some(OnError::Fail));
//! ```

mod adapter;
mod context;
mod dispatch;
mod future;
mod handler;
mod mode;
mod plan;
mod policy;
mod register;
mod registration;
mod registry;
mod run;
mod settle;
mod state;
mod stats;
mod subscription;
mod table;
mod warn_limit;

pub use context::{BackendInfo, Extensions, HookContext, StateMap};
pub use dispatch::Dispatched;
pub use future::{HANDLER_FUTURE_INLINE_SIZE, HandlerFuture};
pub use handler::{BoxFuture, Handler, HandlerError, HookAction, HookResult, Violation};
pub use mode::{DEFAULT_PRIORITY, PluginMode, UnknownPluginMode};
pub use policy::{OnError, UnknownOnError};
pub use registration::{PluginScope, Registration, UnregisterTarget};
pub use registry::{
    DEFAULT_HANDLER_TIMEOUT, PluginRegistry, global, has_any_listener, has_listeners,
};
pub(crate) use settle::ignore_late_block;
pub use stats::PluginStats;
pub use subscription::{HandlerOptions, HookFn, HookSpec};

use std::fmt;
use std::sync::Arc;

use crate::hooks::Hook;
use handler::{ErasedHandler, MethodHandler};

/// A plugin: a named value with a default priority and handlers for some hooks.
///
/// Each handler is registered under the name `"{plugin}.{hook}"`, so a plugin has at most one
/// handler per hook and two plugins with the same name cannot be registered at once.
pub trait Plugin: Send + Sync + 'static {
    /// Registry name; must be unique among registered plugins.
    fn name(&self) -> &str;

    /// Priority of handlers that set none (lower runs first).
    fn priority(&self) -> i32 {
        DEFAULT_PRIORITY
    }

    /// Failure policy of handlers that set none (see [`OnError`]). A plugin-wide
    /// [`OnError::Fail`] makes registration fail if one of its handlers is in a mode that cannot
    /// block and does not set its own policy.
    fn on_error(&self) -> OnError {
        OnError::Ignore
    }

    /// Declares the plugin's handlers.
    fn hooks(self: Arc<Self>, hooks: &mut PluginHooks);
}

/// Collects the handlers a [`Plugin`] declares.
#[derive(Debug, Default)]
pub struct PluginHooks {
    specs: Vec<HookSpec>,
}

impl PluginHooks {
    /// Subscribes a handler to hook `H`.
    pub fn on<H: Hook>(
        &mut self,
        mode: PluginMode,
        priority: Option<i32>,
        handler: impl Handler<H>,
    ) -> &mut Self {
        let mut options = HandlerOptions::new(mode);
        options.priority = priority;
        self.on_with::<H>(options, handler)
    }

    /// Subscribes a handler to hook `H` with all its options (mode, priority, failure policy).
    pub fn on_with<H: Hook>(
        &mut self,
        options: HandlerOptions,
        handler: impl Handler<H>,
    ) -> &mut Self {
        self.specs.push(HookSpec {
            mode: options.mode,
            priority: options.priority,
            on_error: options.on_error,
            handler: ErasedHandler::new::<H>(handler),
        });
        self
    }

    /// Subscribes a method of a shared plugin value to hook `H`.
    ///
    /// `method` is usually `|this, payload, ctx| Box::pin(this.handler(payload, ctx))`; the box
    /// costs one allocation per call, which [`method_unboxed`](Self::method_unboxed) avoids.
    pub fn method<H, T, F>(
        &mut self,
        mode: PluginMode,
        priority: Option<i32>,
        target: Arc<T>,
        method: F,
    ) -> &mut Self
    where
        H: Hook,
        T: Send + Sync + 'static,
        F: for<'a> Fn(
                &'a T,
                &'a H::Payload,
                &'a HookContext,
            ) -> BoxFuture<'a, HookResult<H::Patch>>
            + Send
            + Sync
            + 'static,
    {
        self.method_unboxed::<H, T, _>(mode, priority, target, move |this, payload, ctx| {
            HandlerFuture::from(method(this, payload, ctx))
        })
    }

    /// [`method`](Self::method) with all the handler's options (mode, priority, failure
    /// policy).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mellea_runtime::hooks::GenerationPreCall;
    /// use mellea_runtime::plugin::{HandlerOptions, HookAction, OnError, PluginHooks, PluginMode};
    /// struct Guard;
    /// let mut hooks = PluginHooks::default();
    /// hooks.method_with::<GenerationPreCall, _, _>(
    ///     HandlerOptions::new(PluginMode::Sequential).with_on_error(OnError::Fail),
    ///     Arc::new(Guard),
    ///     |_guard, _payload, _ctx| Box::pin(async { Ok(HookAction::Continue) }),
    /// );
    /// assert_eq!(hooks.specs()[0].on_error(), Some(OnError::Fail));
    /// ```
    pub fn method_with<H, T, F>(
        &mut self,
        options: HandlerOptions,
        target: Arc<T>,
        method: F,
    ) -> &mut Self
    where
        H: Hook,
        T: Send + Sync + 'static,
        F: for<'a> Fn(
                &'a T,
                &'a H::Payload,
                &'a HookContext,
            ) -> BoxFuture<'a, HookResult<H::Patch>>
            + Send
            + Sync
            + 'static,
    {
        self.method_unboxed_with::<H, T, _>(options, target, move |this, payload, ctx| {
            HandlerFuture::from(method(this, payload, ctx))
        })
    }

    /// [`method`](Self::method) for a method whose future is a [`HandlerFuture`]: a small
    /// future is stored inline, so a call does not allocate.
    ///
    /// `method` is usually `|this, payload, ctx| HandlerFuture::new(this.handler(payload, ctx))`.
    pub fn method_unboxed<H, T, F>(
        &mut self,
        mode: PluginMode,
        priority: Option<i32>,
        target: Arc<T>,
        method: F,
    ) -> &mut Self
    where
        H: Hook,
        T: Send + Sync + 'static,
        F: for<'a> Fn(&'a T, &'a H::Payload, &'a HookContext) -> HandlerFuture<'a, H::Patch>
            + Send
            + Sync
            + 'static,
    {
        self.on::<H>(mode, priority, MethodHandler { target, method })
    }

    /// [`method_unboxed`](Self::method_unboxed) with all the handler's options (mode,
    /// priority, failure policy): what `#[plugin]` generates.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mellea_runtime::hooks::GenerationPreCall;
    /// use mellea_runtime::plugin::{HandlerFuture, HandlerOptions, HookAction, PluginHooks, PluginMode};
    /// struct Guard;
    /// let mut hooks = PluginHooks::default();
    /// hooks.method_unboxed_with::<GenerationPreCall, _, _>(
    ///     HandlerOptions::new(PluginMode::Sequential).with_priority(5),
    ///     Arc::new(Guard),
    ///     |_guard, _payload, _ctx| HandlerFuture::new(async { Ok(HookAction::Continue) }),
    /// );
    /// assert_eq!(hooks.specs()[0].priority(), Some(5));
    /// ```
    pub fn method_unboxed_with<H, T, F>(
        &mut self,
        options: HandlerOptions,
        target: Arc<T>,
        method: F,
    ) -> &mut Self
    where
        H: Hook,
        T: Send + Sync + 'static,
        F: for<'a> Fn(&'a T, &'a H::Payload, &'a HookContext) -> HandlerFuture<'a, H::Patch>
            + Send
            + Sync
            + 'static,
    {
        self.on_with::<H>(options, MethodHandler { target, method })
    }

    /// The collected subscriptions.
    pub fn specs(&self) -> &[HookSpec] {
        &self.specs
    }
}

/// Something the registry accepts: a plugin, a standalone handler or a [`PluginSet`].
#[derive(Clone)]
pub enum Registrable {
    /// A plugin value.
    Plugin(Arc<dyn Plugin>),
    /// A standalone handler function.
    Hook(HookFn),
    /// A named group of items.
    Set(PluginSet),
}

impl fmt::Debug for Registrable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Registrable::Plugin(p) => write!(f, "Plugin({:?})", p.name()),
            Registrable::Hook(h) => write!(f, "Hook({:?})", h.name()),
            Registrable::Set(s) => s.fmt(f),
        }
    }
}

impl<P: Plugin> From<P> for Registrable {
    fn from(plugin: P) -> Self {
        Registrable::Plugin(Arc::new(plugin))
    }
}

impl<P: Plugin> From<Arc<P>> for Registrable {
    fn from(plugin: Arc<P>) -> Self {
        Registrable::Plugin(plugin)
    }
}

impl From<Arc<dyn Plugin>> for Registrable {
    fn from(plugin: Arc<dyn Plugin>) -> Self {
        Registrable::Plugin(plugin)
    }
}

impl From<HookFn> for Registrable {
    fn from(hook: HookFn) -> Self {
        Registrable::Hook(hook)
    }
}

impl From<PluginSet> for Registrable {
    fn from(set: PluginSet) -> Self {
        Registrable::Set(set)
    }
}

/// A named group of plugins, handlers and nested sets, optionally overriding their priority.
///
/// The outermost set that sets a priority wins for everything beneath it.
///
/// ```
/// use mellea_runtime::plugin::PluginSet;
/// let inner = PluginSet::new("inner", []).with_priority(10);
/// let outer = PluginSet::new("outer", [inner.into()]).with_priority(20);
/// assert_eq!(format!("{outer:?}"), "PluginSet('outer', 1 items)");
/// ```
#[derive(Clone)]
pub struct PluginSet {
    name: String,
    items: Vec<Registrable>,
    priority: Option<i32>,
}

impl PluginSet {
    /// A set without a priority override.
    pub fn new(name: impl Into<String>, items: impl IntoIterator<Item = Registrable>) -> Self {
        Self {
            name: name.into(),
            items: items.into_iter().collect(),
            priority: None,
        }
    }

    /// Overrides the priority of every handler beneath this set.
    #[must_use]
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Adds an item.
    #[must_use]
    pub fn with(mut self, item: impl Into<Registrable>) -> Self {
        self.items.push(item.into());
        self
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The set's priority override.
    pub fn priority(&self) -> Option<i32> {
        self.priority
    }

    /// The direct items.
    pub fn items(&self) -> &[Registrable] {
        &self.items
    }

    /// Leaves of the set with the priority override that applies to each (the outermost
    /// set's priority wins).
    pub fn flatten(&self) -> Vec<(Registrable, Option<i32>)> {
        let mut out = Vec::new();
        self.flatten_into(None, &mut out);
        out
    }

    fn flatten_into(&self, outer: Option<i32>, out: &mut Vec<(Registrable, Option<i32>)>) {
        let priority = outer.or(self.priority);
        for item in &self.items {
            match item {
                Registrable::Set(set) => set.flatten_into(priority, out),
                leaf => out.push((leaf.clone(), priority)),
            }
        }
    }
}

impl fmt::Debug for PluginSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PluginSet('{}', {} items)", self.name, self.items.len())
    }
}
