//! Code generation: each `#[generation_hook]` method becomes a generation.
//!
//! The `async fn` becomes a plain `fn` returning a future, so that the check "does anyone
//! listen" (one atomic load) happens before any future exists, and the future callers get is
//! `GenerationFuture<body, Box<instrumented>>`: when nobody listens it is the user's body
//! itself, no larger than the bare method's future. (An `async fn` wrapper would store its arguments
//! twice, rust-lang/rust#62958.) The user's body is written once, as a closure over the request
//! returning an `async move` block; the listened-to path runs boxed, driven by a
//! `<crate>::__private::Generation`, which fires pre-call, runs the body under the
//! generation's OTel context and fires exactly one of post-call / error.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, GenericParam, Generics, Ident, ImplItemFn, Lifetime, LitBool, LitStr, Pat, Type};

use super::parse::{GenerationHook, GenerationKind};
use super::validate::{GenerationMethod, span_or};
use crate::common::crate_path::CratePath;

/// What `#[backend(...)]` says about every generation of the impl.
pub(crate) struct Backend<'a> {
    pub(crate) provider: &'a LitStr,
    pub(crate) remote: Option<&'a LitBool>,
    pub(crate) krate: &'a CratePath,
}

/// Where the method lives: trait impls and inherent impls capture lifetimes differently.
pub(crate) struct ImplContext<'a> {
    pub(crate) self_ty: &'a Type,
    pub(crate) generics: &'a Generics,
    pub(crate) is_trait_impl: bool,
}

/// Rewrites one generation method.
pub(crate) fn instrument(
    method: &mut ImplItemFn,
    generation: &GenerationMethod,
    backend: &Backend<'_>,
    context: &ImplContext<'_>,
) -> syn::Result<()> {
    make_request_mut(method);
    if !context.is_trait_impl {
        name_elided_lifetimes(method);
    }
    let request = &generation.request;
    let request_ty = request_type(method).ok_or_else(|| {
        syn::Error::new_spanned(&generation.request_ty, "the request parameter needs a type")
    })?;
    if contains_impl_trait(&request_ty) {
        return Err(syn::Error::new_spanned(
            &generation.request_ty,
            "the request parameter of a `#[generation_hook]` method cannot be `impl Trait`; name the type, or use a generic parameter `R: ChatRequest`",
        ));
    }
    let provider = backend.provider;
    let remote = match backend.remote {
        Some(remote) => quote!(::core::option::Option::Some(#remote)),
        None => quote!(::core::option::Option::None),
    };
    let kind = Ident::new(generation.kind.kind.variant(), Span::call_site());
    let private = backend.krate.private(Span::call_site());
    let return_ty = erase_impl_trait(&generation.return_ty);
    let ok_span = span_or(generation.ok_ty.as_ref(), &generation.return_ty);
    let err_span = span_or(generation.err_ty.as_ref(), &generation.return_ty);

    // Each call that can fail to type-check is spanned, path, arguments and `.await`, on the
    // user's token it is about, so a type that does not fit gets one error, there.
    let request_span = generation.request_ty.span();
    let request_at = Ident::new(&request.to_string(), request_span);
    let self_private = backend.krate.private(context.self_ty.span());
    let snapshot = quote_spanned! {context.self_ty.span()=>
        #self_private::snapshot_if_listening(
            #self_private::GenerationKind::#kind, &self,
        )
    };
    let GenerationHook {
        kind: which,
        streamed,
    } = generation.kind;
    let pre_call = match (which, streamed) {
        (GenerationKind::Chat, false) => "pre_call",
        (GenerationKind::Chat, true) => "stream_pre_call",
        (GenerationKind::Batch, _) => "batch_pre_call",
    };
    let pre_call = Ident::new(pre_call, request_span);
    let pre_call = quote_spanned! {request_span=>
        __mellea_generation.#pre_call(&mut #request_at).await
    };
    let err_private = backend.krate.private(err_span);
    let blocked = quote_spanned! {err_span=>
        #err_private::violation_into(__mellea_violation)
    };
    let describe = quote!(|__mellea_error| #private::describe_error!(__mellea_error));
    let body_call = quote!(__mellea_body(#request));
    let complete = match (which, streamed) {
        (GenerationKind::Chat, false) => quote_spanned! {ok_span=>
            __mellea_generation.complete(#body_call, #describe).await
        },
        (GenerationKind::Chat, true) => quote_spanned! {ok_span=>
            __mellea_generation.complete_stream(#body_call, #describe, #describe).await
        },
        (GenerationKind::Batch, _) => quote_spanned! {ok_span=>
            __mellea_generation.complete_batch(#body_call, #describe).await
        },
    };
    let body = &method.block;
    method.block = syn::parse_quote_spanned! {body.span()=> {
        let __mellea_snapshot = #snapshot;
        // `mut` on the parameter, not a `let mut` rebinding inside the block: the block keeps
        // the captured request where it is instead of copying it into a second slot.
        let __mellea_body = move |#[allow(unused_mut)] mut #request: #request_ty| async move {
            // The first return edge fixes the block's output type to the method's return
            // type, so `?`, `return` and coercions in the body behave as in the method itself.
            #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::empty_loop, clippy::let_with_type_underscore)]
            if false {
                let __mellea_return: #return_ty = loop {};
                return __mellea_return;
            }
            #body
        };
        match __mellea_snapshot {
            ::core::option::Option::None => #private::GenerationFuture::Bare { body: #body_call },
            ::core::option::Option::Some(__mellea_snapshot) => {
                #private::GenerationFuture::Instrumented { generation: #private::boxed(async move {
                    let mut __mellea_generation = #private::Generation::start(
                        #private::GenerationKind::#kind,
                        __mellea_snapshot,
                        #provider,
                        #remote,
                    );
                    if let ::core::result::Result::Err(__mellea_violation) = #pre_call {
                        return ::core::result::Result::Err(#blocked);
                    }
                    #complete
                }) }
            }
        }
    }};
    make_plain_fn(method, &generation.return_ty, context);
    Ok(())
}

/// `async fn f(..) -> R` becomes `fn f(..) -> impl Future<Output = R> (+ use<..>)`.
fn make_plain_fn(method: &mut ImplItemFn, return_ty: &Type, context: &ImplContext<'_>) {
    let async_span = method
        .sig
        .asyncness
        .take()
        .map_or_else(Span::call_site, |a| a.span);
    // Trait impls capture every lifetime in scope in any edition; inherent methods spell their
    // captures out, so the same code works in edition 2021 and 2024.
    let captures = if context.is_trait_impl {
        quote!()
    } else {
        let params = context
            .generics
            .params
            .iter()
            .chain(method.sig.generics.params.iter());
        let (lifetimes, others): (Vec<_>, Vec<_>) =
            params.partition(|p| matches!(p, GenericParam::Lifetime(_)));
        let names = lifetimes
            .into_iter()
            .chain(others)
            .map(|param| match param {
                GenericParam::Lifetime(l) => {
                    let lifetime = &l.lifetime;
                    quote!(#lifetime)
                }
                GenericParam::Type(t) => {
                    let ident = &t.ident;
                    quote!(#ident)
                }
                GenericParam::Const(c) => {
                    let ident = &c.ident;
                    quote!(#ident)
                }
            });
        quote!(+ use<#(#names),*>)
    };
    method.sig.output = syn::parse_quote_spanned! {async_span=>
        -> impl ::core::future::Future<Output = #return_ty> #captures
    };
}

/// The request parameter's type, after lifetimes were named.
fn request_type(method: &ImplItemFn) -> Option<Type> {
    method.sig.inputs.iter().find_map(|arg| match arg {
        FnArg::Typed(typed) => Some((*typed.ty).clone()),
        FnArg::Receiver(_) => None,
    })
}

/// Gives every elided lifetime of the signature (`&self`, `&T`, `'_`) a name, so the returned
/// future can list what it captures.
fn name_elided_lifetimes(method: &mut ImplItemFn) {
    let mut named: Vec<Lifetime> = Vec::new();
    let mut fresh = |span: Span| {
        let lifetime = Lifetime::new(&format!("'__mellea_{}", named.len()), span);
        named.push(lifetime.clone());
        lifetime
    };
    for input in &mut method.sig.inputs {
        match input {
            FnArg::Receiver(receiver) => match &mut receiver.kind {
                syn::ReceiverKind::Reference(and, lifetime @ None, _) => {
                    *lifetime = Some(fresh(and.span));
                }
                syn::ReceiverKind::Typed(_, ty) => name_in_type(ty, &mut fresh),
                _ => {}
            },
            FnArg::Typed(typed) => name_in_type(&mut typed.ty, &mut fresh),
        }
    }
    for lifetime in named.into_iter().rev() {
        method
            .sig
            .generics
            .params
            .insert(0, GenericParam::Lifetime(syn::LifetimeParam::new(lifetime)));
    }
}

fn name_in_type(ty: &mut Type, fresh: &mut impl FnMut(Span) -> Lifetime) {
    match ty {
        Type::Reference(reference) => {
            match &mut reference.lifetime {
                None => reference.lifetime = Some(fresh(reference.and_token.span)),
                Some(l) if l.ident == "_" => *l = fresh(l.span()),
                Some(_) => {}
            }
            name_in_type(&mut reference.elem, fresh);
        }
        Type::Path(path) => {
            for segment in &mut path.path.segments {
                if let syn::PathArguments::AngleBracketed(args) = &mut segment.arguments {
                    for arg in &mut args.args {
                        match arg {
                            syn::GenericArgument::Lifetime(l) if l.ident == "_" => {
                                *l = fresh(l.span());
                            }
                            syn::GenericArgument::Type(inner) => name_in_type(inner, fresh),
                            _ => {}
                        }
                    }
                }
            }
        }
        Type::Paren(p) => name_in_type(&mut p.elem, fresh),
        Type::Group(g) => name_in_type(&mut g.elem, fresh),
        Type::Slice(s) => name_in_type(&mut s.elem, fresh),
        Type::Array(a) => name_in_type(&mut a.elem, fresh),
        Type::Tuple(t) => t.elems.iter_mut().for_each(|e| name_in_type(e, fresh)),
        _ => {}
    }
}

fn contains_impl_trait(ty: &Type) -> bool {
    match ty {
        Type::ImplTrait(_) => true,
        Type::Reference(r) => contains_impl_trait(&r.elem),
        Type::Paren(p) => contains_impl_trait(&p.elem),
        Type::Group(g) => contains_impl_trait(&g.elem),
        _ => false,
    }
}

/// Pre-call hooks patch the request in place, so its parameter is made `mut`.
fn make_request_mut(method: &mut ImplItemFn) {
    let request = method.sig.inputs.iter_mut().find_map(|arg| match arg {
        FnArg::Typed(typed) => Some(typed),
        FnArg::Receiver(_) => None,
    });
    if let Some(typed) = request
        && let Pat::Ident(pat) = &mut *typed.pat
    {
        pat.mutability = Some(syn::Token![mut](pat.ident.span()));
    }
}

/// The return type with every `impl Trait` replaced by `_`, so it can be named in a turbofish.
fn erase_impl_trait(ty: &Type) -> Type {
    let mut ty = ty.clone();
    erase_in(&mut ty);
    ty
}

fn erase_in(ty: &mut Type) {
    match ty {
        Type::ImplTrait(_) => *ty = syn::parse_quote!(_),
        Type::Path(path) => {
            for segment in &mut path.path.segments {
                if let syn::PathArguments::AngleBracketed(args) = &mut segment.arguments {
                    for arg in &mut args.args {
                        if let syn::GenericArgument::Type(inner) = arg {
                            erase_in(inner);
                        }
                    }
                }
            }
        }
        Type::Reference(r) => erase_in(&mut r.elem),
        Type::Paren(p) => erase_in(&mut p.elem),
        Type::Group(g) => erase_in(&mut g.elem),
        Type::Slice(s) => erase_in(&mut s.elem),
        Type::Array(a) => erase_in(&mut a.elem),
        Type::Ptr(p) => erase_in(&mut p.elem),
        Type::Tuple(t) => t.elems.iter_mut().for_each(erase_in),
        _ => {}
    }
}

/// The impl with every generation method rewritten.
pub(crate) fn expand_impl(
    mut item: syn::ItemImpl,
    methods: &[GenerationMethod],
    backend: &Backend<'_>,
) -> syn::Result<TokenStream> {
    let self_ty = (*item.self_ty).clone();
    let generics = item.generics.clone();
    let context = ImplContext {
        self_ty: &self_ty,
        generics: &generics,
        is_trait_impl: item.trait_.is_some(),
    };
    for generation in methods {
        if let syn::ImplItem::Fn(method) = &mut item.items[generation.index] {
            instrument(method, generation, backend, &context)?;
        }
    }
    Ok(quote!(#item))
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn impl_trait_is_erased_everywhere_in_the_return_type() {
        let ty: Type = parse_quote!(Result<(impl Stream, Vec<impl Display>), E>);
        let erased = erase_impl_trait(&ty);
        assert_eq!(
            quote!(#erased).to_string(),
            quote!(Result<(_, Vec<_>), E>).to_string()
        );
    }
}
