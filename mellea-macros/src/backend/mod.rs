//! `#[backend]` and `#[generation_hook]`.
//!
//! `#[backend(provider = "...")]` on an impl block consumes the `#[generation_hook(kind)]`
//! attributes of its methods (an outer attribute expands before the inner ones), checks each
//! method's shape, and rewrites its body into a generation. A `#[generation_hook]` that reaches
//! its own expansion was not consumed, i.e. it is not inside a `#[backend]` impl.

mod expand;
mod parse;
mod validate;

use proc_macro2::{Span, TokenStream};
use quote::quote;

/// Expands `#[backend(args)]` on `item`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let parsed: syn::Item = match syn::parse2(item.clone()) {
        Ok(parsed) => parsed,
        // Not valid Rust: hand it back untouched so the compiler reports the real mistake.
        Err(_) => return item,
    };
    let syn::Item::Impl(mut item_impl) = parsed else {
        let error = syn::Error::new_spanned(
            &item,
            "`#[backend]` goes on an `impl` block (inherent or trait impl) whose methods carry `#[generation_hook(...)]`",
        );
        return with_errors(item, error);
    };
    let mut errors = validate::Errors::default();
    let methods = validate::generation_methods(&mut item_impl, &mut errors);
    match (parse::backend_args(args), errors.into_result()) {
        (Ok(args), None) => {
            let original = quote!(#item_impl);
            expand::expand_impl(item_impl, &methods, &args)
                .unwrap_or_else(|error| with_errors(original, error))
        }
        (Ok(_), Some(error)) => with_errors(quote!(#item_impl), error),
        (Err(mut error), method_errors) => {
            if let Some(method_errors) = method_errors {
                error.combine(method_errors);
            }
            with_errors(quote!(#item_impl), error)
        }
    }
}

/// `#[generation_hook]` outside a `#[backend]` impl.
pub(crate) fn expand_stray_generation_hook(_args: TokenStream, item: TokenStream) -> TokenStream {
    let error = syn::Error::new(
        Span::call_site(),
        "`#[generation_hook]` only works on a method of an impl block marked `#[backend(provider = \"...\")]`; add that attribute to the impl",
    );
    with_errors(item, error)
}

/// The item unchanged plus the errors, so the rest of the user's code still type-checks and
/// one mistake gives one error.
fn with_errors(item: TokenStream, error: syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    quote!(#item #errors)
}
