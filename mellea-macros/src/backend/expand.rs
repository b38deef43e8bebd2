//! Code generation: each `#[generation_hook]` method body becomes a generation.
//!
//! The user's body runs once, as an `async move` block, either directly (nobody listens: one
//! atomic load more than the bare method) or driven by a `::mellea::__private::Generation`,
//! which fires pre-call, runs the body under the generation's OTel context and fires exactly
//! one of post-call / error.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ImplItemFn, Pat, Type};

use super::parse::{BackendArgs, PathKind};
use super::validate::{GenerationMethod, span_or};

/// Rewrites the body of one generation method.
pub(crate) fn instrument(
    method: &mut ImplItemFn,
    generation: &GenerationMethod,
    args: &BackendArgs,
    self_ty: &Type,
) {
    make_request_mut(method);
    let request = &generation.request;
    let provider = &args.provider;
    let remote = match &args.remote {
        Some(remote) => quote!(::core::option::Option::Some(#remote)),
        None => quote!(::core::option::Option::None),
    };
    let kind = match generation.kind {
        PathKind::Chat | PathKind::Stream => quote!(Chat),
        PathKind::Batch => quote!(Batch),
    };
    let return_ty = erase_impl_trait(&generation.return_ty);
    let ok_span = span_or(generation.ok_ty.as_ref(), &generation.return_ty);
    let err_span = span_or(generation.err_ty.as_ref(), &generation.return_ty);

    // Each call that can fail to type-check is spanned, path, arguments and `.await`, on the
    // user's token it is about, so a type that does not fit gets one error, there.
    let request_span = generation.request_ty.span();
    let request_at = Ident::new(&request.to_string(), request_span);
    let begin = quote_spanned! {self_ty.span()=>
        ::mellea::__private::Generation::begin(
            ::mellea::__private::GenerationKind::#kind, &self, #provider, #remote,
        )
    };
    let pre_call = match generation.kind {
        PathKind::Chat => "pre_call",
        PathKind::Stream => "stream_pre_call",
        PathKind::Batch => "batch_pre_call",
    };
    let pre_call = Ident::new(pre_call, request_span);
    let pre_call = quote_spanned! {request_span=>
        ::mellea::__private::boxed(__mellea_generation.#pre_call(&mut #request_at)).await
    };
    let blocked = quote_spanned! {err_span=>
        ::mellea::__private::violation_into(__mellea_violation)
    };
    let describe = quote!(|__mellea_error| ::mellea::__private::describe_error!(__mellea_error));
    let complete = match generation.kind {
        PathKind::Chat => quote_spanned! {ok_span=>
            ::mellea::__private::boxed(__mellea_generation.complete(__mellea_body, #describe)).await
        },
        PathKind::Batch => quote_spanned! {ok_span=>
            ::mellea::__private::boxed(__mellea_generation.complete_batch(__mellea_body, #describe)).await
        },
        PathKind::Stream => quote_spanned! {ok_span=>
            ::mellea::__private::boxed(
                __mellea_generation.complete_stream(__mellea_body, #describe, #describe),
            )
            .await
        },
    };
    let body = &method.block;
    method.block = syn::parse_quote_spanned! {body.span()=> {
        let mut __mellea_scope = #begin;
        if let ::core::option::Option::Some(__mellea_generation) = &mut __mellea_scope {
            if let ::core::result::Result::Err(__mellea_violation) = #pre_call {
                return ::core::result::Result::Err(#blocked);
            }
        }
        let __mellea_body = async {
            // The first return edge fixes the block's output type to the method's return type,
            // so `?`, `return` and unsizing coercions in the body behave as in the method itself.
            #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::empty_loop, clippy::let_with_type_underscore)]
            if false {
                let __mellea_return: #return_ty = loop {};
                return __mellea_return;
            }
            #body
        };
        match __mellea_scope {
            ::core::option::Option::None => __mellea_body.await,
            ::core::option::Option::Some(__mellea_generation) => #complete,
        }
    }};
}

/// Pre-call hooks patch the request in place, so its parameter is made `mut` (rebinding it
/// instead would cost a move of the whole request on every call).
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
    args: &BackendArgs,
) -> TokenStream {
    let self_ty = (*item.self_ty).clone();
    for generation in methods {
        if let syn::ImplItem::Fn(method) = &mut item.items[generation.index] {
            instrument(method, generation, args, &self_ty);
        }
    }
    quote!(#item)
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
