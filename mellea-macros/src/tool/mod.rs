//! `#[tool]` on an `async fn` (free function or method): the tool hooks around every call, and
//! the tool's definition and call runner next to it.

pub(crate) mod expand;
pub(crate) mod parse;
pub(crate) mod validate;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{ImplItemFn, LitStr};

use crate::common::errors::Errors;

/// Expands `#[tool(args)] item`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::new();
    let func: ImplItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            errors.at(
                Span::call_site(),
                "`#[tool]` goes on an `async fn` (a free function or a method)",
            );
            let errors = errors.to_compile_errors();
            return quote!(#item #errors);
        }
    };
    let args = parse::parse_tool_args(args, &mut errors);
    let params = validate::check_signature(&func.sig, "tool", &mut errors);
    if !errors.is_empty() {
        let fallback = expand::fallback(&func);
        let errors = errors.to_compile_errors();
        return quote!(#fallback #errors);
    }
    let name = args.name.unwrap_or_else(|| {
        let name = func.sig.ident.to_string();
        LitStr::new(name.trim_start_matches("r#"), func.sig.ident.span())
    });
    expand::expand(&expand::Tool {
        func: &func,
        name,
        description: parse::doc_comment(&func.attrs),
        params,
    })
}
