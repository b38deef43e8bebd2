//! What makes a `#[plugin]` impl valid: an inherent impl, at least one `#[hook]` method, one
//! handler per hook, and each handler valid on its own (see `hook::validate`).

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Attribute, ImplItem, Meta};

use super::parse::{ImplBlock, ImplEntry, PluginArgs};
use crate::common::errors::Errors;
use crate::common::hook_table::HookRow;
use crate::common::on_error;
use crate::hook::parse::{HandlerFn, HookArgs, is_hook_attr, parse_hook_args};
use crate::hook::validate::{
    HandlerKind, HandlerTypes, check_on_error, check_signature, resolve_hook,
};

/// A `#[hook]` method that passed every check.
pub(crate) struct Handler<'a> {
    pub(crate) func: &'a HandlerFn,
    pub(crate) hook: &'static HookRow,
    pub(crate) args: HookArgs,
    pub(crate) types: HandlerTypes<'a>,
}

/// Whether the block is an inherent impl; a trait impl is an error on the trait.
pub(crate) fn check_inherent(block: &ImplBlock, errors: &mut Errors) -> bool {
    match &block.header.trait_ {
        None => true,
        Some((path, for_token)) => {
            let self_ty = &block.header.self_ty;
            errors.spanned(
                quote::quote!(#path #for_token),
                format!(
                    "`#[plugin]` goes on an inherent impl (`impl {} {{ ... }}`), not on a trait impl: the macro implements the `Plugin` trait itself",
                    self_ty.to_token_stream()
                ),
            );
            false
        }
    }
}

fn item_attrs(item: &ImplItem) -> &[Attribute] {
    match item {
        ImplItem::Const(item) => &item.attrs,
        ImplItem::Fn(item) => &item.attrs,
        ImplItem::Type(item) => &item.attrs,
        ImplItem::Macro(item) => &item.attrs,
        _ => &[],
    }
}

/// The arguments inside `#[hook(...)]`, or an error for `#[hook = ...]`.
fn hook_attr_args(attr: &Attribute, errors: &mut Errors) -> Option<TokenStream> {
    match &attr.meta {
        Meta::List(list) => Some(list.tokens.clone()),
        Meta::Path(_) => Some(TokenStream::new()),
        Meta::NameValue(_) => {
            errors.spanned(
                attr,
                "write the hook name in parentheses: `#[hook(\"generation_pre_call\")]`",
            );
            None
        }
    }
}

/// The valid handlers of `block`, recording every mistake of every `#[hook]`.
pub(crate) fn collect_handlers<'a>(block: &'a ImplBlock, errors: &mut Errors) -> Vec<Handler<'a>> {
    let mut handlers = Vec::new();
    // Hook name -> the method that handles it, to reject a second handler of the same hook.
    let mut seen: BTreeMap<&'static str, &syn::Ident> = BTreeMap::new();
    let mut any_hook_attr = false;

    for entry in &block.entries {
        let func = match entry {
            ImplEntry::Fn(func) => func,
            ImplEntry::Other(item) => {
                for attr in item_attrs(item).iter().filter(|a| is_hook_attr(a)) {
                    any_hook_attr = true;
                    errors.spanned(attr, "`#[hook]` goes on an `async fn` method of the plugin");
                }
                continue;
            }
        };
        let mut hook_attrs = func.attrs.iter().filter(|a| is_hook_attr(a));
        let Some(attr) = hook_attrs.next() else {
            continue;
        };
        any_hook_attr = true;
        for extra in hook_attrs {
            errors.spanned(
                extra,
                "a method has one `#[hook]`: each handler subscribes to one hook (write one method per hook)",
            );
        }

        let Some(tokens) = hook_attr_args(attr, errors) else {
            continue;
        };
        let args = parse_hook_args(tokens, attr, errors);
        if let Some(key) = &args.crate_key {
            errors.spanned(
                key,
                "`crate` is set once for the whole plugin: write it on the impl, `#[plugin(name = \"...\", crate = path)]`",
            );
        }
        let hook = args
            .name
            .as_ref()
            .and_then(|name| resolve_hook(name, errors));
        let types = check_signature(&func.sig, HandlerKind::Method, hook, errors);
        check_on_error(&args, errors);

        let (Some(hook), Some(name)) = (hook, args.name.as_ref()) else {
            continue;
        };
        if let Some(first) = seen.get(hook.name) {
            errors.spanned(
                name,
                format!(
                    "`{hook}` already has a handler in this plugin: `{first}`. A plugin has one handler per hook (the registry names it `<plugin>.{hook}`); merge the two methods, or move one to another plugin",
                    hook = hook.name
                ),
            );
            continue;
        }
        seen.insert(hook.name, &func.sig.ident);
        if let Some(types) = types {
            handlers.push(Handler {
                func,
                hook,
                args,
                types,
            });
        }
    }

    if !any_hook_attr {
        errors.spanned(
            &block.header.self_ty,
            "this `#[plugin]` impl has no `#[hook(\"...\")]` methods, so the plugin would register nothing",
        );
    }
    handlers
}

/// The plugin's `on_error = fail` must not reach a handler in a mode that cannot block (a
/// handler that sets its own policy is not reached).
pub(crate) fn check_plugin_on_error(
    args: &PluginArgs,
    handlers: &[Handler<'_>],
    errors: &mut Errors,
) {
    for handler in handlers.iter().filter(|h| h.args.on_error.is_none()) {
        let mode = handler.args.mode_or_default();
        on_error::check_plugin_default(
            args.on_error.as_ref(),
            &handler.func.sig.ident,
            mode.name(),
            mode.may_block(),
            errors,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::parse::parse_impl;
    use quote::quote;

    fn handlers(tokens: TokenStream) -> (Vec<(String, &'static str)>, Vec<String>) {
        let block = parse_impl(tokens).ok().unwrap();
        let mut errors = Errors::new();
        let found = collect_handlers(&block, &mut errors)
            .iter()
            .map(|h| (h.func.sig.ident.to_string(), h.hook.name))
            .collect();
        (found, errors.messages())
    }

    #[test]
    fn hook_methods_become_handlers_and_other_methods_stay_plain() {
        let (found, errors) = handlers(quote! {
            impl Guard {
                #[hook("generation_pre_call", mode = concurrent)]
                async fn check(&self, p: &P, c: &C) -> R { body() }
                fn helper(&self) {}
                #[mellea::hook("tool_pre_invoke")]
                async fn tools(&self, p: &P, c: &C) -> R { body() }
            }
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            found,
            [
                ("check".to_owned(), "generation_pre_call"),
                ("tools".to_owned(), "tool_pre_invoke")
            ]
        );
    }

    #[test]
    fn a_second_handler_of_a_hook_is_an_error_naming_the_first() {
        let (found, errors) = handlers(quote! {
            impl Guard {
                #[hook("generation_pre_call")]
                async fn first(&self, p: &P, c: &C) -> R { body() }
                #[hook("generation_pre_call")]
                async fn second(&self, p: &P, c: &C) -> R { body() }
            }
        });
        assert_eq!(found.len(), 1);
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .starts_with("`generation_pre_call` already has a handler in this plugin: `first`")
        );
    }

    #[test]
    fn an_impl_without_hooks_is_an_error() {
        let (_, errors) = handlers(quote!(impl Guard { fn helper(&self) {} }));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("has no `#[hook(\"...\")]` methods"));
    }

    #[test]
    fn a_hook_on_a_non_method_item_is_an_error() {
        let (_, errors) = handlers(quote! {
            impl Guard {
                #[hook("generation_pre_call")]
                const LIMIT: u8 = 3;
            }
        });
        assert_eq!(
            errors,
            ["`#[hook]` goes on an `async fn` method of the plugin"]
        );
    }

    #[test]
    fn each_handler_is_validated_independently() {
        let (found, errors) = handlers(quote! {
            impl Guard {
                #[hook("generation_pre_cal")]
                async fn typo(&self, p: &P, c: &C) -> R { body() }
                #[hook("tool_pre_invoke")]
                fn not_async(&self, p: &P, c: &C) -> R { body() }
                #[hook("tool_post_invoke")]
                async fn fine(&self, p: &P, c: &C) -> R { body() }
                #[hook]
                async fn unnamed(&self, p: &P, c: &C) -> R { body() }
            }
        });
        assert_eq!(found, [("fine".to_owned(), "tool_post_invoke")]);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with("unknown hook `generation_pre_cal`"));
        assert!(errors[1].starts_with("a hook handler must be an `async fn`"));
        assert!(errors[2].starts_with("missing hook name"));
    }

    #[test]
    fn trait_impls_are_rejected_at_the_trait() {
        let block = parse_impl(quote!(impl Clone for Guard {})).ok().unwrap();
        let mut errors = Errors::new();
        assert!(!check_inherent(&block, &mut errors));
        assert!(
            errors.messages()[0]
                .starts_with("`#[plugin]` goes on an inherent impl (`impl Guard { ... }`)")
        );
    }
}
