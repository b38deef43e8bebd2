//! `#[agent(name = "...")]` on an `async fn` (free function or method): each call is one agent
//! invocation (component hooks, one conversation id).

pub(crate) mod expand;
pub(crate) mod parse;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ImplItemFn;

use crate::common::errors::Errors;
use crate::tool::parse::doc_comment;
use crate::tool::validate::check_result;

/// Expands `#[agent(args)] item`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::new();
    let func: ImplItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            errors.at(
                Span::call_site(),
                "`#[agent]` goes on an `async fn` (a free function or a method)",
            );
            let errors = errors.to_compile_errors();
            return quote!(#item #errors);
        }
    };
    let args = parse::parse_agent_args(args, &mut errors);
    if func.sig.asyncness.is_none() {
        errors.spanned(
            func.sig.fn_token,
            "`#[agent]` goes on an `async fn`: its hooks and spans wrap the function's future",
        );
    }
    check_result(&func.sig.output, "agent", &mut errors);
    match args.name {
        Some(name) if errors.is_empty() => expand::expand(&expand::Agent {
            func: &func,
            name,
            id: args.id,
            description: doc_comment(&func.attrs),
        }),
        _ => {
            let errors = errors.to_compile_errors();
            quote!(#func #errors)
        }
    }
}
