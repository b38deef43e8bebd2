//! Code generation for `#[plugin]`: the impl block without its `#[hook]` attributes, and an
//! `impl Plugin` whose `hooks` subscribes each handler.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream};
use quote::{ToTokens, TokenStreamExt, quote, quote_spanned};
use syn::spanned::Spanned;

use super::parse::{ImplBlock, ImplEntry, PluginArgs};
use super::validate::Handler;
use crate::common::crate_path::CratePath;
use crate::hook::expand::{cfg_attrs, handler_future, mode_path};
use crate::hook::parse::{Mode, is_hook_attr};

/// The user's impl block as written, minus the `#[hook]` attributes this macro consumed.
pub(crate) fn user_impl(block: &ImplBlock) -> TokenStream {
    let mut body = TokenStream::new();
    body.append_all(&block.inner_attrs);
    for entry in &block.entries {
        match entry {
            ImplEntry::Fn(func) => {
                let mut func = (**func).clone();
                func.attrs.retain(|attr| !is_hook_attr(attr));
                func.to_tokens(&mut body);
            }
            ImplEntry::Other(item) => {
                let mut item = (**item).clone();
                if let Some(attrs) = item_attrs_mut(&mut item) {
                    attrs.retain(|attr| !is_hook_attr(attr));
                }
                item.to_tokens(&mut body);
            }
        }
    }
    let mut group = Group::new(Delimiter::Brace, body);
    group.set_span(block.brace_span);
    let mut tokens = block.header_tokens.clone();
    tokens.append(group);
    tokens
}

fn item_attrs_mut(item: &mut syn::ImplItem) -> Option<&mut Vec<syn::Attribute>> {
    match item {
        syn::ImplItem::Const(item) => Some(&mut item.attrs),
        syn::ImplItem::Fn(item) => Some(&mut item.attrs),
        syn::ImplItem::Type(item) => Some(&mut item.attrs),
        syn::ImplItem::Macro(item) => Some(&mut item.attrs),
        _ => None,
    }
}

/// One `hooks.method_unboxed_with::<Hook, Self, _>(..)` subscription.
fn subscription(krate: &CratePath, handler: &Handler<'_>, hooks: &Ident) -> TokenStream {
    let private = krate.private(Span::call_site());
    let func = handler.func;
    let ident = &func.sig.ident;
    let marker = handler.hook.marker_path(krate, ident.span());
    let mode = mode_path(krate, handler.args.mode.unwrap_or(Mode::Sequential));
    let priority = handler
        .args
        .priority
        .map(|priority| quote!(.with_priority(#priority)));
    let on_error = handler.args.on_error.as_ref().map(|arg| {
        let policy = arg.policy.path(krate);
        quote!(.with_on_error(#policy))
    });
    let this = Ident::new("this", Span::call_site());
    let payload = Ident::new("payload", Span::call_site());
    let ctx = Ident::new("ctx", Span::call_site());
    let future = handler_future(
        krate,
        quote!(Self::#ident),
        quote!(#this,),
        ident,
        handler.hook,
        handler.types,
        &payload,
        &ctx,
    );
    let cfgs = cfg_attrs(func);
    quote! {
        #(#cfgs)*
        #hooks.method_unboxed_with::<#marker, Self, _>(
            #private::HandlerOptions::new(#mode) #priority #on_error,
            ::std::sync::Arc::clone(&self),
            |#this, #payload, #ctx| #future,
        );
    }
}

/// `impl Plugin for SelfTy`: name, priority and the subscriptions of `handlers`.
pub(crate) fn plugin_impl(
    block: &ImplBlock,
    args: &PluginArgs,
    handlers: &[Handler<'_>],
) -> TokenStream {
    let header = &block.header;
    let (impl_generics, _, where_clause) = header.generics.split_for_impl();
    let self_ty = &header.self_ty;
    // `Plugin` requires `Send + Sync + 'static`. Stating it as a where clause, spanned on the
    // plugin type, makes a type that is not `Sync` one error there; otherwise the supertrait,
    // the subscriptions and every handler future would each report it again. For a generic
    // plugin type the clause limits the impl to the parameters that satisfy it.
    let krate = args.krate.clone().unwrap_or_default();
    let private = krate.private(Span::call_site());
    let span = self_ty.span();
    let plugin_private = krate.private(span);
    let plugin_trait = quote_spanned!(span=> #plugin_private::Plugin);
    let mut predicates: Vec<TokenStream> = where_clause
        .map(|clause| {
            clause
                .predicates
                .iter()
                .map(ToTokens::to_token_stream)
                .collect()
        })
        .unwrap_or_default();
    predicates.push(quote_spanned! {span=>
        #self_ty: ::core::marker::Send + ::core::marker::Sync + 'static
    });
    let name = args
        .name
        .as_ref()
        .map_or_else(String::new, syn::LitStr::value);
    let priority = args.priority.map(|priority| {
        quote! {
            fn priority(&self) -> i32 {
                #priority
            }
        }
    });
    let on_error = args.on_error.as_ref().map(|arg| {
        let policy = arg.policy.path(&krate);
        quote! {
            fn on_error(&self) -> #private::OnError {
                #policy
            }
        }
    });
    let hooks = Ident::new("hooks", Span::call_site());
    let subscriptions = handlers
        .iter()
        .map(|handler| subscription(&krate, handler, &hooks));
    quote! {
        #[automatically_derived]
        impl #impl_generics #plugin_trait for #self_ty where #(#predicates),* {
            fn name(&self) -> &str {
                #name
            }

            #priority

            #on_error

            #[allow(unused_variables)]
            fn hooks(
                self: ::std::sync::Arc<Self>,
                #hooks: &mut #private::PluginHooks,
            ) {
                #(#subscriptions)*
            }
        }
    }
}
