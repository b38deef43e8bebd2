//! Procedural macros of mellea. Use them through the `mellea` crate, which documents them.
//!
//! Each entry point is a thin shim over an `expand(args, item) -> TokenStream2` function of its
//! own module (as in tracing-attributes and thiserror); inside each module, parsing, validation
//! and code generation are separate, and all of them share `common/`: one error accumulator,
//! one `key = value` argument syntax, one "did you mean" and one `crate = path`. On a mistake
//! the expansion is the user's item unchanged plus every spanned error, so one mistake gives
//! one error and two mistakes give two.
#![cfg_attr(docsrs, feature(doc_cfg))]
// No `unsafe`: an exception needs a local `#[allow(unsafe_code)]` and a comment proving why
// nothing safe works.
#![deny(unsafe_code)]

use proc_macro::TokenStream;

mod agent;
mod backend;
mod common;
mod hook;
mod plugin;
mod tool;

/// Declares a plugin: `#[plugin(name = "...", priority = N, on_error = ..., crate = path)]` on an
/// inherent `impl` block whose async methods carry `#[hook("hook_name", mode = ..., priority =
/// N)]`.
///
/// # Expansion
///
/// The impl block without its `#[hook]` attributes, and an `impl Plugin` for its type whose
/// `hooks` subscribes each handler. On a mistake: the same with only the correct handlers, plus
/// one spanned error per mistake (a trait impl or a non-impl item is re-emitted as written).
#[proc_macro_attribute]
pub fn plugin(args: TokenStream, item: TokenStream) -> TokenStream {
    plugin::expand(args.into(), item.into()).into()
}

/// Declares a hook handler: on a method inside a `#[plugin]` impl, or on a free async fn.
///
/// # Expansion
///
/// On a free function: the function unchanged, and `fn <name>_hook() -> HookFn` registering
/// it. On a mistake: the function, a `<name>_hook` that never runs, and one spanned error per
/// mistake, so that uses of either add no errors of their own.
#[proc_macro_attribute]
pub fn hook(args: TokenStream, item: TokenStream) -> TokenStream {
    hook::expand(args.into(), item.into()).into()
}

/// Instruments a backend: `#[backend(provider = "...", remote = bool, crate = path)]` on an impl
/// block whose generation methods carry `#[generation_hook(chat | stream | batch)]`.
#[proc_macro_attribute]
pub fn backend(args: TokenStream, item: TokenStream) -> TokenStream {
    backend::expand(args.into(), item.into()).into()
}

/// Marks a backend method as a generation; only valid inside a `#[backend]` impl, which
/// consumes it.
#[proc_macro_attribute]
pub fn generation_hook(args: TokenStream, item: TokenStream) -> TokenStream {
    backend::expand_stray_generation_hook(args.into(), item.into()).into()
}

/// Makes an `async fn` (free function or method) a tool the model can call: its name is the
/// function's (or `name = "..."`), its description its doc comment, its arguments (owned serde
/// types) the fields of the JSON object the model sends, and its output a `Result` of a serde
/// type. Every call fires `tool_pre_invoke` and exactly one `tool_post_invoke`. Next to
/// `fn f` it defines `fn f_tool() -> ToolDefinition` and
/// `async fn call_f(&ToolCall) -> Result<Message, ToolError>`. See the `mellea` crate's docs.
#[proc_macro_attribute]
pub fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    tool::expand(args.into(), item.into()).into()
}

/// Makes an `async fn` (free function or method) returning `Result` an agent: each call is one
/// invocation firing `component_pre_execute` and exactly one of `component_post_success` /
/// `component_post_error`, in one conversation (the caller's session, else a fresh id) shared
/// by every generation and tool call inside. `#[agent(name = "...", id = "...")]`. See the
/// `mellea` crate's docs.
#[proc_macro_attribute]
pub fn agent(args: TokenStream, item: TokenStream) -> TokenStream {
    agent::expand(args.into(), item.into()).into()
}

/// Not public API: calls the given macro with every row of the hook table, as
/// `(family, Marker, "name", Payload, Patch)`. The runtime defines its hook types from it, so
/// the table `#[hook]` checks names against is the only one there is.
#[doc(hidden)]
#[proc_macro]
pub fn __for_each_hook(input: TokenStream) -> TokenStream {
    common::hook_table::expand_for_each_hook(input.into()).into()
}
