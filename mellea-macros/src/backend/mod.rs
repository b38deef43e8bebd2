//! `#[backend]` and `#[generation_hook]`.
//!
//! `#[backend(provider = "...")]` on an impl block consumes the `#[generation_hook(kind)]`
//! attributes of its methods (an outer attribute expands before the inner ones), checks each
//! method's shape, and rewrites its body into a generation. A `#[generation_hook]` that reaches
//! its own expansion was not consumed, i.e. it is not inside a `#[backend]` impl.
//!
//! As for `#[plugin]` / `#[hook]`: parse (`parse`), check (`validate`), generate (`expand`),
//! with every mistake of one invocation collected and reported at once.

mod expand;
mod parse;
mod validate;

use proc_macro2::{Span, TokenStream};
use quote::quote;

use crate::common::errors::Errors;

/// Expands `#[backend(args)]` on `item`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::new();
    let args = parse::backend_args(args, &mut errors);
    let parsed: syn::Item = match syn::parse2(item.clone()) {
        Ok(parsed) => parsed,
        // Not valid Rust: hand it back untouched so the compiler reports the real mistake.
        Err(_) => return item,
    };
    let syn::Item::Impl(mut item_impl) = parsed else {
        errors.spanned(
            &item,
            "`#[backend]` goes on an `impl` block (inherent or trait impl) whose methods carry `#[generation_hook(...)]`",
        );
        return with_errors(item, &errors);
    };
    let methods = validate::generation_methods(&mut item_impl, &mut errors);
    match args.provider.as_ref() {
        Some(provider) if errors.is_empty() => {
            let original = quote!(#item_impl);
            let krate = args.krate.clone().unwrap_or_default();
            let context = expand::Backend {
                provider,
                remote: args.remote.as_ref(),
                krate: &krate,
            };
            match expand::expand_impl(item_impl, &methods, &context) {
                Ok(expanded) => expanded,
                Err(error) => {
                    errors.push(error);
                    with_errors(original, &errors)
                }
            }
        }
        _ => with_errors(quote!(#item_impl), &errors),
    }
}

/// `#[generation_hook]` outside a `#[backend]` impl.
pub(crate) fn expand_stray_generation_hook(_args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::new();
    errors.at(
        Span::call_site(),
        "`#[generation_hook]` only works on a method of an impl block marked `#[backend(provider = \"...\")]`; add that attribute to the impl",
    );
    with_errors(item, &errors)
}

/// The item unchanged plus the errors, so the rest of the user's code still type-checks and
/// one mistake gives one error.
fn with_errors(item: TokenStream, errors: &Errors) -> TokenStream {
    let errors = errors.to_compile_errors();
    quote!(#item #errors)
}
