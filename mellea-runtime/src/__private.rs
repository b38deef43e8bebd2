//! What macro expansions call. Not public API: no stability guarantees.
//!
//! Only the items expansions name are here, each re-exported by name, so that nothing reaches
//! users through this module by accident. The facade re-exports it as `mellea::__private`;
//! `crate = path` on the attributes points expansions at another path to it.

// #[backend] / #[generation_hook]
pub use crate::__describe_error as describe_error;
pub use crate::generation::GenerationKind;
pub use crate::generation::scope::Generation;

// What the items below are written with; expansions do not name these.
use crate::error::PluginViolation;
use crate::generation::BackendIdentity;
use crate::generation::snapshot::BackendSnapshot;
use crate::hooks::NoPatch;
use crate::plugin::{HookContext, HookResult};

pin_project_lite::pin_project! {
    /// The future of an instrumented method: its bare body when nobody listened at call time,
    /// the boxed generation otherwise.
    #[project = GenerationFutureProj]
    pub enum GenerationFuture<B, I> {
        /// Nobody listened: the user's body, as it would run without the attribute.
        Bare {
            #[pin]
            body: B,
        },
        /// The body driven by a generation (hooks, spans), on the heap.
        Instrumented {
            generation: core::pin::Pin<Box<I>>,
        },
    }
}

impl<B, I> core::future::Future for GenerationFuture<B, I>
where
    B: core::future::Future,
    I: core::future::Future<Output = B::Output>,
{
    type Output = B::Output;

    #[inline(always)]
    fn poll(
        self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<Self::Output> {
        match self.project() {
            GenerationFutureProj::Bare { body } => body.poll(cx),
            GenerationFutureProj::Instrumented { generation } => generation.as_mut().poll(cx),
        }
    }
}

/// The backend's identity if anyone listens to the hooks of `kind` (one atomic load
/// otherwise): taken at call time, because the body takes the backend.
#[inline(always)]
pub fn snapshot_if_listening<B: BackendIdentity + ?Sized>(
    kind: GenerationKind,
    backend: &B,
) -> Option<BackendSnapshot> {
    if Generation::listening(kind) {
        Some(BackendSnapshot::of(backend))
    } else {
        None
    }
}

/// Moves a future to the heap. The listened-to path of a generation runs boxed, so the
/// future of an instrumented method — what every caller moves around, listened to or not —
/// stays the size of the bare method's.
#[inline(always)]
pub fn boxed<F: core::future::Future>(future: F) -> core::pin::Pin<Box<F>> {
    Box::pin(future)
}

/// Converts a plugin's block into the method's error type.
#[inline(always)]
pub fn violation_into<E: FromViolation>(violation: PluginViolation) -> E {
    E::from_violation(violation)
}

/// Error types a generation method can return a plugin's block through.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry a plugin's block",
    label = "the error type of a `#[generation_hook]` method must implement `From<mellea::PluginViolation>`",
    note = "add `impl From<mellea::PluginViolation> for {Self}` (with thiserror: a variant `Blocked(#[from] mellea::PluginViolation)`)"
)]
pub trait FromViolation {
    /// The conversion.
    fn from_violation(violation: PluginViolation) -> Self;
}

impl<E: From<PluginViolation>> FromViolation for E {
    fn from_violation(violation: PluginViolation) -> Self {
        E::from(violation)
    }
}

// #[plugin] / #[hook]
//
// A handler is called through three conversions, written by the expansion as
// `<UserType as Conversion<..>>::convert(..)` with the user's own type tokens. When the user's
// type is the hook's type each conversion is the identity; otherwise exactly one trait bound
// fails, and its `on_unimplemented` message names the type the hook expects, on the user's type.
pub use crate::plugin::{
    HandlerFuture, HandlerOptions, HookFn, OnError, Plugin, PluginHooks, PluginMode,
};

/// The hook types expansions name as `__private::hooks::X`: every hook's marker and payload,
/// and the patch of each writable hook, generated from the hook table.
pub mod hooks {
    /// Re-exports a writable hook's patch; observe-only handlers return `HookResult<NoPatch>`
    /// through `ObserveReturn`, so expansions never name `NoPatch`.
    macro_rules! patch {
        (NoPatch) => {};
        ($patch:ident) => {
            pub use crate::hooks::$patch;
        };
    }

    macro_rules! expansion_types {
        ($(($family:ident, $marker:ident, $name:literal, $payload:ident, $patch:ident)),* $(,)?) => {
            pub use crate::hooks::{$($marker, $payload),*};
            $(patch!($patch);)*
        };
    }

    mellea_macros::__for_each_hook!(expansion_types);
}

/// The payload parameter of a handler: `&Payload` of the hook it subscribes to.
#[diagnostic::on_unimplemented(
    message = "wrong payload type for this hook: expected `&{Payload}`, found `{Self}`",
    label = "expected `&{Payload}`",
    note = "a handler takes the payload of the hook it subscribes to, by reference"
)]
pub trait PayloadParam<'a, Payload>: Sized {
    /// The dispatcher's payload reference as the handler's parameter.
    fn from_payload(payload: &'a Payload) -> Self;
}

#[diagnostic::do_not_recommend]
impl<'a, P> PayloadParam<'a, P> for &'a P {
    #[inline(always)]
    fn from_payload(payload: &'a P) -> Self {
        payload
    }
}

/// The context parameter of a handler: `&HookContext`.
#[diagnostic::on_unimplemented(
    message = "wrong context type: expected `&HookContext`, found `{Self}`",
    label = "expected `&HookContext`",
    note = "a handler's second parameter is the dispatch context, `ctx: &HookContext`"
)]
pub trait ContextParam<'a>: Sized {
    /// The dispatcher's context reference as the handler's parameter.
    fn from_context(ctx: &'a HookContext) -> Self;
}

#[diagnostic::do_not_recommend]
impl<'a> ContextParam<'a> for &'a HookContext {
    #[inline(always)]
    fn from_context(ctx: &'a HookContext) -> Self {
        ctx
    }
}

/// The return type of a handler of a writable hook: `HookResult<Patch>`.
#[diagnostic::on_unimplemented(
    message = "wrong return type for this hook: expected `HookResult<{Patch}>`, found `{Self}`",
    label = "expected `HookResult<{Patch}>`",
    note = "a handler of this hook returns `Ok(HookAction::Continue)`, `Ok(HookAction::Modify({Patch}))` or `Ok(HookAction::Block(violation))`"
)]
pub trait PatchReturn<Patch> {
    /// The handler's output as the dispatcher's result type.
    fn into_hook_result(self) -> HookResult<Patch>;
}

#[diagnostic::do_not_recommend]
impl<P> PatchReturn<P> for HookResult<P> {
    #[inline(always)]
    fn into_hook_result(self) -> HookResult<P> {
        self
    }
}

/// The return type of a handler of an observe-only hook: `HookResult` (no patch).
#[diagnostic::on_unimplemented(
    message = "wrong return type for an observe-only hook: expected `HookResult`, found `{Self}`",
    label = "expected `HookResult`: this hook cannot be patched",
    note = "an observe-only hook's handler returns `HookResult` (= `HookResult<NoPatch>`): `Ok(HookAction::Continue)` or `Ok(HookAction::Block(violation))`, never a patch"
)]
pub trait ObserveReturn {
    /// The handler's output as the dispatcher's result type.
    fn into_hook_result(self) -> HookResult<NoPatch>;
}

#[diagnostic::do_not_recommend]
impl ObserveReturn for HookResult<NoPatch> {
    #[inline(always)]
    fn into_hook_result(self) -> HookResult<NoPatch> {
        self
    }
}

// #[tool] / #[agent]
pub use crate::tools::invoke::{ToolMeta, invoke as invoke_tool, parse_arguments, result_message};
pub use {schemars, serde, serde_json};

/// The JSON schema of a `#[tool]`'s parameters, without the root's `$schema` and `title` (the
/// tool's name and description say it).
pub fn tool_parameters<A: schemars::JsonSchema>() -> serde_json::Value {
    let mut schema = schemars::SchemaGenerator::default().into_root_schema_for::<A>();
    if let Some(root) = schema.as_object_mut() {
        root.remove("$schema");
        root.remove("title");
    }
    schema.to_value()
}

/// Names the output type of a `#[tool]` body, so that `?` inside it converts into the
/// function's error type.
#[inline(always)]
pub fn tool_body<R, F: core::future::Future<Output = R>>(body: F) -> F {
    body
}
pub use crate::agents::invoke::{AgentMeta, agent_listening, invoke as invoke_agent};

/// Autoref specialisation for `#[agent]`: `(&Capture(&value)).capture_json()` is the value as
/// JSON when its type is `Serialize`, and `None` otherwise (inputs and outputs are captured
/// for content capture only when they can be).
pub struct Capture<'a, T>(pub &'a T);

/// The `Serialize` case of [`Capture`].
pub trait CaptureJson {
    /// The value as JSON.
    fn capture_json(&self) -> Option<serde_json::Value>;
}

impl<T: serde::Serialize> CaptureJson for Capture<'_, T> {
    fn capture_json(&self) -> Option<serde_json::Value> {
        serde_json::to_value(self.0).ok()
    }
}

/// The fallback case of [`Capture`].
pub trait CaptureNone {
    /// Nothing: the type is not `Serialize`.
    fn capture_json(&self) -> Option<serde_json::Value>;
}

impl<T> CaptureNone for &Capture<'_, T> {
    fn capture_json(&self) -> Option<serde_json::Value> {
        None
    }
}
