//! Code generation for handlers: the future that calls a handler with the hook's types, and the
//! items `#[hook]` adds next to a free function.
//!
//! The call goes through three conversion traits of `::mellea::__private` (`PayloadParam`,
//! `ContextParam`, `PatchReturn` / `ObserveReturn`), each written as
//! `<UserType as Trait<HookType>>::convert(..)` with the user's own type tokens. A handler whose
//! parameter or return type does not fit the hook therefore fails exactly one trait bound, whose
//! `#[diagnostic::on_unimplemented]` message names the expected type, on the user's type.
//! Nothing else in the expansion depends on the user's types, so nothing else fails with it.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use super::parse::{HandlerFn, HookArgs, Mode};
use super::validate::HandlerTypes;
use crate::common::crate_path::CratePath;
use crate::common::hook_table::HookRow;

/// `HandlerFuture::new(async move { ... })` (stored inline when small: no allocation per
/// call): calls `callee(leading_args.., payload, ctx)` and converts its output to the hook's
/// result type. `payload` and `ctx` name the dispatcher's arguments.
#[allow(clippy::too_many_arguments)]
pub(crate) fn handler_future(
    krate: &CratePath,
    callee: TokenStream,
    leading_args: TokenStream,
    handler: &Ident,
    hook: &HookRow,
    types: HandlerTypes<'_>,
    payload: &Ident,
    ctx: &Ident,
) -> TokenStream {
    let HandlerTypes {
        payload: payload_ty,
        context: context_ty,
        output: output_ty,
    } = types;

    let span = payload_ty.span();
    let expected_payload = hook.payload_path(krate, span);
    let private = krate.private(span);
    let payload_arg = quote_spanned! {span=>
        <#payload_ty as #private::PayloadParam<'_, #expected_payload>>::from_payload(#payload)
    };

    let span = context_ty.span();
    let private = krate.private(span);
    let context_arg = quote_spanned! {span=>
        <#context_ty as #private::ContextParam<'_>>::from_context(#ctx)
    };

    let span = output_ty.span();
    let private = krate.private(span);
    let into_result = if hook.writable {
        let patch = hook.patch_path(krate, span);
        quote_spanned! {span=>
            <#output_ty as #private::PatchReturn<#patch>>::into_hook_result
        }
    } else {
        quote_spanned! {span=>
            <#output_ty as #private::ObserveReturn>::into_hook_result
        }
    };

    // Spanned on the handler's name: a future that is not `Send` is reported there, with the
    // compiler's notes pointing at the `.await` in the body that holds the offending value.
    let private = krate.private(handler.span());
    quote_spanned! {handler.span()=>
        #private::HandlerFuture::new(async move {
            #into_result(#callee(#leading_args #payload_arg, #context_arg).await)
        })
    }
}

/// `PluginMode::X` for a mode.
pub(crate) fn mode_path(krate: &CratePath, mode: Mode) -> TokenStream {
    let variant = Ident::new(mode.variant(), Span::call_site());
    let private = krate.private(Span::call_site());
    quote!(#private::PluginMode::#variant)
}

/// The name of the function `#[hook]` adds next to `handler`: `<handler>_hook`.
pub(crate) fn companion_ident(handler: &Ident) -> Ident {
    format_ident!("{}_hook", handler.unraw(), span = handler.span())
}

/// The `#[cfg]`s of a handler, repeated on everything generated for it.
pub(crate) fn cfg_attrs(func: &HandlerFn) -> impl Iterator<Item = &syn::Attribute> {
    func.attrs.iter().filter(|attr| attr.path().is_ident("cfg"))
}

/// The free function unchanged, plus `fn <name>_hook() -> HookFn` registering it.
pub(crate) fn standalone(
    func: &HandlerFn,
    hook: &HookRow,
    args: &HookArgs,
    types: HandlerTypes<'_>,
) -> TokenStream {
    let krate = args.krate.clone().unwrap_or_default();
    let private = krate.private(Span::call_site());
    let ident = &func.sig.ident;
    let name = ident.unraw().to_string();
    let companion = companion_ident(ident);
    let vis = &func.vis;
    let cfgs = cfg_attrs(func);
    let marker = hook.marker_path(&krate, ident.span());
    let payload = Ident::new("payload", Span::call_site());
    let ctx = Ident::new("ctx", Span::call_site());
    let future = handler_future(
        &krate,
        quote!(#ident),
        quote!(),
        ident,
        hook,
        types,
        &payload,
        &ctx,
    );
    let mode = args.mode.map(|mode| {
        let mode = mode_path(&krate, mode);
        quote!(.with_mode(#mode))
    });
    let priority = args
        .priority
        .map(|priority| quote!(.with_priority(#priority)));
    let on_error = args.on_error.as_ref().map(|arg| {
        let policy = arg.policy.path(&krate);
        quote!(.with_on_error(#policy))
    });
    let doc = format!(
        "The `{hook}` handler `{name}`, ready to register: `mellea::register({companion}())`.\n\n\
         Generated by `#[hook]`; the registry names it `<module path>::{name}`.",
        hook = hook.name,
    );
    quote! {
        #func

        #(#cfgs)*
        #[doc = #doc]
        #[must_use]
        #vis fn #companion() -> #private::HookFn {
            #private::HookFn::new_unboxed::<#marker, _>(
                ::core::concat!(::core::module_path!(), "::", #name),
                |#payload, #ctx| #future,
            )
            #mode
            #priority
            #on_error
        }
    }
}

/// After a mistake: the function unchanged, plus a `<name>_hook` that never runs (the crate
/// does not compile), so that call sites of `<name>_hook()` add no errors of their own.
pub(crate) fn standalone_fallback(func: &HandlerFn, krate: &CratePath) -> TokenStream {
    let private = krate.private(Span::call_site());
    let companion = companion_ident(&func.sig.ident);
    let vis = &func.vis;
    let cfgs = cfg_attrs(func);
    quote! {
        #func

        #(#cfgs)*
        #[doc(hidden)]
        #vis fn #companion() -> #private::HookFn {
            ::core::unreachable!("`#[hook]` reported an error for this handler")
        }
    }
}
