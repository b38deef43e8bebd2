//! `#[hook]` on a free async fn (inside a `#[plugin]` impl the plugin macro consumes it).

use proc_macro2::TokenStream;

pub(crate) fn expand(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
