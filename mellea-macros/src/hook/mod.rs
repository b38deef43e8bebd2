//! `#[hook]` on a free async fn. Inside a `#[plugin]` impl the plugin macro consumes the
//! `#[hook]` attributes, so this expansion only sees free functions and misplaced methods.

pub(crate) mod expand;
pub(crate) mod parse;
pub(crate) mod validate;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::FnArg;

use crate::common::errors::Errors;
use parse::HandlerFn;
use validate::HandlerKind;

/// Expands `#[hook(args)] item`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::new();
    let func: HandlerFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            errors.at(
                Span::call_site(),
                "`#[hook]` goes on an `async fn` (a free function, or a method of an impl marked `#[plugin(name = \"...\")]`)",
            );
            let errors = errors.to_compile_errors();
            return quote!(#item #errors);
        }
    };
    if matches!(func.sig.inputs.first(), Some(FnArg::Receiver(_))) {
        errors.at(
            Span::call_site(),
            "`#[hook]` on a method needs `#[plugin(name = \"...\")]` on its impl block: only a plugin registers its methods",
        );
        let errors = errors.to_compile_errors();
        return quote!(#item #errors);
    }

    let args = parse::parse_hook_args(args, &TokenStream::new(), &mut errors);
    let hook = args
        .name
        .as_ref()
        .and_then(|name| validate::resolve_hook(name, &mut errors));
    let types = validate::check_signature(&func.sig, HandlerKind::Free, hook, &mut errors);
    match (hook, types) {
        (Some(hook), Some(types)) if errors.is_empty() => {
            expand::standalone(&func, hook, &args, types)
        }
        _ => {
            let fallback = expand::standalone_fallback(&func);
            let errors = errors.to_compile_errors();
            quote!(#fallback #errors)
        }
    }
}
