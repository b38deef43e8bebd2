//! `#[plugin]` on an inherent impl block: consumes the `#[hook]` attributes of its methods and
//! implements `Plugin` for the type.

pub(crate) mod expand;
pub(crate) mod parse;
pub(crate) mod validate;

use proc_macro2::TokenStream;
use quote::quote;

use crate::common::errors::Errors;
use parse::NotAnImpl;

/// Expands `#[plugin(args)] item`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::new();
    let plugin_args = parse::parse_plugin_args(args, &mut errors);
    let block = match parse::parse_impl(item.clone()) {
        Ok(block) => block,
        Err(NotAnImpl::Item { kind, span }) => {
            errors.spanned(
                span,
                format!(
                    "`#[plugin]` goes on an inherent impl block of the plugin type, not on a {kind}: `#[plugin(name = \"...\")] impl MyPlugin {{ ... }}`"
                ),
            );
            let errors = errors.to_compile_errors();
            return quote!(#item #errors);
        }
        Err(NotAnImpl::Broken(error)) => {
            errors.push(error);
            let errors = errors.to_compile_errors();
            return quote!(#item #errors);
        }
    };

    let user_impl = expand::user_impl(&block);
    let plugin_impl = validate::check_inherent(&block, &mut errors).then(|| {
        let handlers = validate::collect_handlers(&block, &mut errors);
        validate::check_plugin_on_error(&plugin_args, &handlers, &mut errors);
        expand::plugin_impl(&block, &plugin_args, &handlers)
    });
    let errors = errors.to_compile_errors();
    quote! {
        #user_impl
        #plugin_impl
        #errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(tokens: TokenStream) -> Vec<syn::Item> {
        syn::parse2::<syn::File>(tokens).unwrap().items
    }

    fn compile_errors(tokens: &TokenStream) -> usize {
        tokens.to_string().matches("compile_error").count()
    }

    #[test]
    fn a_plugin_expands_to_its_impl_without_hook_attributes_and_an_impl_plugin() {
        let output = expand(
            quote!(name = "redactor", priority = 10),
            quote! {
                impl Redactor {
                    #[hook("generation_pre_call", mode = transform, priority = 3)]
                    async fn scrub(&self, p: &P, c: &C) -> R { body() }
                    fn helper(&self) {}
                }
            },
        );
        assert_eq!(compile_errors(&output), 0, "{output}");
        let items = items(output);
        assert_eq!(items.len(), 2);
        let syn::Item::Impl(user) = &items[0] else {
            panic!("not an impl")
        };
        assert!(user.trait_.is_none());
        assert_eq!(user.items.len(), 2);
        let syn::ImplItem::Fn(scrub) = &user.items[0] else {
            panic!("not a fn")
        };
        assert!(
            scrub.attrs.is_empty(),
            "the #[hook] attribute was not consumed"
        );

        let syn::Item::Impl(plugin) = &items[1] else {
            panic!("not an impl")
        };
        let (trait_path, _) = plugin.trait_.as_ref().unwrap();
        assert_eq!(
            quote!(#trait_path).to_string(),
            ":: mellea :: __private :: Plugin"
        );
        let text = quote!(#plugin).to_string();
        assert!(text.contains("\"redactor\""));
        assert!(text.contains("10i32"));
        assert!(text.contains("GenerationPreCall , Self"));
        assert!(text.contains("PluginMode :: Transform"));
        assert!(text.contains("with_priority (3i32)"));
        assert!(text.contains("Self :: scrub"));
    }

    #[test]
    fn failure_policies_expand_to_the_plugins_default_and_the_handlers_own() {
        let output = expand(
            quote!(name = "guard", on_error = fail),
            quote! {
                impl Guard {
                    #[hook("generation_pre_call")]
                    async fn check(&self, p: &P, c: &C) -> R { body() }
                    #[hook("generation_post_call", mode = audit, on_error = disable)]
                    async fn log(&self, p: &P, c: &C) -> R { body() }
                }
            },
        );
        assert_eq!(compile_errors(&output), 0, "{output}");
        let text = output.to_string();
        assert!(text.contains("fn on_error (& self) -> :: mellea :: __private :: OnError { :: mellea :: __private :: OnError :: Fail }"), "{text}");
        assert_eq!(text.matches("with_on_error").count(), 1, "{text}");
        assert!(text.contains("with_on_error (:: mellea :: __private :: OnError :: Disable)"));
    }

    #[test]
    fn a_plugin_wide_fail_reaching_an_audit_handler_is_one_error() {
        let output = expand(
            quote!(name = "guard", on_error = fail),
            quote! {
                impl Guard {
                    #[hook("generation_pre_call")]
                    async fn check(&self, p: &P, c: &C) -> R { body() }
                    #[hook("generation_post_call", mode = audit)]
                    async fn log(&self, p: &P, c: &C) -> R { body() }
                }
            },
        );
        assert_eq!(compile_errors(&output), 1, "{output}");
        assert!(output.to_string().contains("handler `log`"));
    }

    #[test]
    fn a_plugin_without_priority_keeps_the_default_priority() {
        let output = expand(
            quote!(name = "quiet"),
            quote!(impl Quiet { #[hook("session_reset")] async fn f(&self, p: &P, c: &C) -> R {} }),
        );
        assert_eq!(compile_errors(&output), 0);
        assert!(!output.to_string().contains("fn priority"));
    }

    #[test]
    fn a_mistake_keeps_the_impl_and_the_plugin_impl_and_adds_one_error() {
        let output = expand(
            quote!(name = "redactor"),
            quote! {
                impl Redactor {
                    #[hook("generation_pre_cal")]
                    async fn scrub(&self, p: &P, c: &C) -> R {}
                    #[hook("generation_post_call")]
                    async fn after(&self, p: &P, c: &C) -> R {}
                }
            },
        );
        assert_eq!(compile_errors(&output), 1);
        let text = output.to_string();
        assert!(text.contains("impl Redactor"));
        assert!(text.contains("Plugin for Redactor"));
        assert!(
            !text.contains("Self :: scrub"),
            "the misspelled hook was registered"
        );
        assert!(
            text.contains("Self :: after"),
            "the correct handler was dropped"
        );
    }

    #[test]
    fn a_trait_impl_is_reemitted_without_hook_attributes_and_without_impl_plugin() {
        let output = expand(
            quote!(name = "x"),
            quote!(impl Clone for X { #[hook("session_reset")] fn clone(&self) -> Self { X } }),
        );
        assert_eq!(compile_errors(&output), 1);
        let text = output.to_string();
        assert!(!text.contains("Plugin for"));
        assert!(!text.contains("# [hook"));
    }

    #[test]
    fn a_non_impl_item_is_reemitted_unchanged_with_one_error() {
        let item = quote!(
            struct Redactor;
        );
        let output = expand(quote!(name = "x"), item.clone());
        assert_eq!(compile_errors(&output), 1);
        assert!(output.to_string().starts_with(&item.to_string()));
    }
}
