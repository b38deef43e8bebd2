//! Procedural macros of mellea. Use them through the `mellea` crate, which documents them.
//!
//! Each entry point is a thin shim over an `expand(args, item) -> syn::Result<TokenStream2>`
//! function; parsing, validation and code generation live in separate modules per attribute.

use proc_macro::TokenStream;

/// Declares a plugin: `#[plugin(name = "...", priority = N)]` on an inherent `impl` block whose
/// async methods carry `#[hook("hook_name", mode = ..., priority = N)]`.
#[proc_macro_attribute]
pub fn plugin(args: TokenStream, item: TokenStream) -> TokenStream {
    let _ = args;
    item
}

/// Declares a hook handler: on a method inside a `#[plugin]` impl, or on a free async fn.
#[proc_macro_attribute]
pub fn hook(args: TokenStream, item: TokenStream) -> TokenStream {
    let _ = args;
    item
}

/// Instruments a backend: `#[backend(provider = "...")]` on an impl block whose generation
/// methods carry `#[generation_hook(chat | batch | stream)]`.
#[proc_macro_attribute]
pub fn backend(args: TokenStream, item: TokenStream) -> TokenStream {
    let _ = args;
    item
}

/// Marks a backend method as a generation; only valid inside a `#[backend]` impl.
#[proc_macro_attribute]
pub fn generation_hook(args: TokenStream, item: TokenStream) -> TokenStream {
    let _ = args;
    item
}
