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
    validate::check_on_error(&args, &mut errors);
    match (hook, types) {
        (Some(hook), Some(types)) if errors.is_empty() => {
            expand::standalone(&func, hook, &args, types)
        }
        _ => {
            let fallback =
                expand::standalone_fallback(&func, &args.krate.clone().unwrap_or_default());
            let errors = errors.to_compile_errors();
            quote!(#fallback #errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_errors(tokens: &TokenStream) -> usize {
        tokens.to_string().matches("compile_error").count()
    }

    fn fns(tokens: TokenStream) -> Vec<syn::ItemFn> {
        syn::parse2::<syn::File>(tokens)
            .unwrap()
            .items
            .into_iter()
            .map(|item| match item {
                syn::Item::Fn(f) => f,
                _ => panic!("not a fn"),
            })
            .collect()
    }

    #[test]
    fn a_free_handler_stays_as_written_and_gains_a_registration_fn() {
        let output = expand(
            quote!("generation_post_call", mode = audit, priority = -2),
            quote! {
                /// Docs.
                pub(crate) async fn log_latency(p: &P, c: &C) -> R { body() }
            },
        );
        assert_eq!(compile_errors(&output), 0, "{output}");
        let fns = fns(output);
        assert_eq!(fns.len(), 2);
        assert_eq!(fns[0].sig.ident, "log_latency");
        assert_eq!(fns[0].attrs.len(), 1);
        assert_eq!(fns[1].sig.ident, "log_latency_hook");
        let (handler_vis, companion_vis, companion) = (&fns[0].vis, &fns[1].vis, &fns[1]);
        assert_eq!(
            quote!(#companion_vis).to_string(),
            quote!(#handler_vis).to_string()
        );
        let text = quote!(#companion).to_string();
        assert!(text.contains(
            "HookFn :: new_unboxed :: < :: mellea :: __private :: hooks :: GenerationPostCall"
        ));
        // The handler's future is stored inline when small, not boxed.
        assert!(text.contains("__private :: HandlerFuture :: new (async move"));
        assert!(!text.contains("Box :: pin"));
        assert!(text.contains("\"log_latency\""));
        assert!(text.contains("PluginMode :: Audit"));
        assert!(text.contains("with_priority (- 2i32)"));
        assert!(text.contains("ObserveReturn"));
    }

    #[test]
    fn a_cfg_on_the_handler_is_repeated_on_its_registration_fn() {
        let output = expand(
            quote!("session_reset"),
            quote!(
                #[cfg(feature = "audit")]
                async fn f(p: &P, c: &C) -> R {}
            ),
        );
        let fns = fns(output);
        assert_eq!(
            fns[1]
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("cfg"))
                .count(),
            1
        );
    }

    #[test]
    fn a_mistake_keeps_the_function_and_a_stub_registration_fn_with_one_error() {
        let output = expand(
            quote!("session_rest"),
            quote!(
                async fn f(p: &P, c: &C) -> R {}
            ),
        );
        assert_eq!(compile_errors(&output), 1);
        let text = output.to_string();
        assert!(text.contains("async fn f"));
        assert!(text.contains("fn f_hook"));
        assert!(text.contains("unreachable"));
    }

    #[test]
    fn a_method_is_reemitted_unchanged_with_one_error() {
        let item = quote!(
            async fn f(&self, p: &P, c: &C) -> R {}
        );
        let output = expand(quote!("session_reset"), item.clone());
        assert_eq!(compile_errors(&output), 1);
        assert!(output.to_string().starts_with(&item.to_string()));
        assert!(!output.to_string().contains("f_hook"));
    }
}
