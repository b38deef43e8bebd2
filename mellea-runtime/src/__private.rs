//! What macro expansions call. Not public API: no stability guarantees.

pub use crate::hooks;
pub use crate::plugin;

// #[plugin] / #[hook]
//
// A handler is called through three conversions, written by the expansion as
// `<UserType as Conversion<..>>::convert(..)` with the user's own type tokens. When the user's
// type is the hook's type each conversion is the identity; otherwise exactly one trait bound
// fails, and its `on_unimplemented` message names the type the hook expects, on the user's type.
pub use crate::hooks::{Hook, NoPatch};
pub use crate::plugin::{
    BoxFuture, HandlerError, HookAction, HookContext, HookFn, HookResult, Plugin, PluginHooks,
    PluginMode,
};

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
