//! `#[backend]` and `#[generation_hook]`.

use proc_macro2::TokenStream;

pub(crate) fn expand(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}

pub(crate) fn expand_stray_generation_hook(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
