//! Finds the `#[generation_hook]` methods of a `#[backend]` impl and checks their shape.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{
    Attribute, FnArg, GenericArgument, Ident, ImplItem, ImplItemFn, ItemImpl, Pat, PathArguments,
    ReturnType, Type,
};

use super::parse::{GenerationHook, GenerationKind, generation_hook_args};
use crate::common::errors::Errors;

/// A `#[generation_hook]` method that passed every check.
pub(crate) struct GenerationMethod {
    /// Position in the impl's items.
    pub(crate) index: usize,
    pub(crate) kind: GenerationHook,
    /// The request parameter (first after the receiver).
    pub(crate) request: Ident,
    pub(crate) request_ty: Type,
    /// The declared return type, `Result<Ok, Err>` or an alias of it.
    pub(crate) return_ty: Type,
    /// `Ok` and `Err` types when the return type spells both out.
    pub(crate) ok_ty: Option<Type>,
    pub(crate) err_ty: Option<Type>,
}

/// Whether `attr` is `#[generation_hook(...)]` (by its last path segment, so
/// `#[mellea::generation_hook]` counts too).
pub(crate) fn is_generation_hook(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "generation_hook")
}

/// Removes the `#[generation_hook]` attributes from the impl's methods and returns the methods
/// that carried one and are well-formed; every mistake goes to `errors`.
pub(crate) fn generation_methods(
    item: &mut ItemImpl,
    errors: &mut Errors,
) -> Vec<GenerationMethod> {
    let mut methods = Vec::new();
    for (index, impl_item) in item.items.iter_mut().enumerate() {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let (hooks, others): (Vec<Attribute>, Vec<Attribute>) =
            method.attrs.drain(..).partition(is_generation_hook);
        method.attrs = others;
        let Some(first) = hooks.first() else {
            continue;
        };
        for extra in &hooks[1..] {
            errors.push(syn::Error::new_spanned(
                extra,
                "a method can carry `#[generation_hook]` only once",
            ));
        }
        let Some(kind) = attribute_kind(first, errors) else {
            continue;
        };
        if let Some(checked) = check_method(index, kind, method, errors) {
            methods.push(checked);
        }
    }
    methods
}

fn attribute_kind(attr: &Attribute, errors: &mut Errors) -> Option<GenerationHook> {
    let args = match &attr.meta {
        syn::Meta::Path(_) => proc_macro2::TokenStream::new(),
        syn::Meta::List(list) => list.tokens.clone(),
        syn::Meta::NameValue(nv) => {
            errors.spanned(
                nv,
                "expected `#[generation_hook(chat)]`, `#[generation_hook(batch)]` or `#[generation_hook(stream)]`",
            );
            return None;
        }
    };
    generation_hook_args(args, attr, errors)
}

fn check_method(
    index: usize,
    kind: GenerationHook,
    method: &ImplItemFn,
    errors: &mut Errors,
) -> Option<GenerationMethod> {
    let sig = &method.sig;
    let mut ok = true;
    let mut fail = |error: syn::Error| {
        errors.push(error);
        ok = false;
    };
    if sig.asyncness.is_none() {
        fail(syn::Error::new(
            sig.fn_token.span,
            "a `#[generation_hook]` method must be an `async fn`",
        ));
    }
    if sig.receiver().is_none() {
        fail(syn::Error::new(
            sig.ident.span(),
            "a `#[generation_hook]` method needs a `self` receiver: the backend's model and server come from `self` (`BackendIdentity`)",
        ));
    }
    let request = request_parameter(method, kind);
    let request = match request {
        Ok(request) => Some(request),
        Err(e) => {
            fail(e);
            None
        }
    };
    let return_ty = match &sig.output {
        ReturnType::Type(_, ty) if is_result(ty) => Some((**ty).clone()),
        ReturnType::Type(_, ty) => {
            fail(syn::Error::new_spanned(
                ty,
                "a `#[generation_hook]` method must return a `Result`: its error type carries a plugin's block (`From<mellea::PluginViolation>`)",
            ));
            None
        }
        ReturnType::Default => {
            fail(syn::Error::new(
                sig.paren_token.span.join(),
                "a `#[generation_hook]` method must return a `Result`: its error type carries a plugin's block (`From<mellea::PluginViolation>`)",
            ));
            None
        }
    };
    let (request, request_ty) = request?;
    let return_ty = return_ty?;
    if !ok {
        return None;
    }
    let (ok_ty, err_ty) = result_arguments(&return_ty);
    Some(GenerationMethod {
        index,
        kind,
        request,
        request_ty,
        return_ty,
        ok_ty,
        err_ty,
    })
}

/// The first parameter after the receiver: a plain identifier with a type.
fn request_parameter(method: &ImplItemFn, kind: GenerationHook) -> syn::Result<(Ident, Type)> {
    let sig = &method.sig;
    let what = match kind.kind {
        GenerationKind::Chat => {
            "a chat request (`impl mellea::generation::ChatRequest`, e.g. `mellea::generation::GenerationRequest`)"
        }
        GenerationKind::Batch => {
            "a batch request (`impl mellea::generation::BatchRequest`, e.g. `mellea::generation::BatchGenerationRequest`)"
        }
    };
    let Some(typed) = sig.inputs.iter().find_map(|arg| match arg {
        FnArg::Typed(typed) => Some(typed),
        FnArg::Receiver(_) => None,
    }) else {
        return Err(syn::Error::new(
            sig.paren_token.span.join(),
            format!(
                "a `#[generation_hook]` method takes {what} as its first parameter after `self`"
            ),
        ));
    };
    match &*typed.pat {
        Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
            Ok((pat.ident.clone(), (*typed.ty).clone()))
        }
        other => Err(syn::Error::new_spanned(
            other,
            "the request parameter of a `#[generation_hook]` method must be a plain name (pre-call hooks patch it before the body runs), e.g. `request: GenerationRequest`",
        )),
    }
}

/// `Result<..>`, any path to it, or an alias whose name ends in `Result` (`io::Result`,
/// `anyhow::Result`, `MyResult`).
fn is_result(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident.to_string().ends_with("Result")),
        Type::Group(group) => is_result(&group.elem),
        Type::Paren(paren) => is_result(&paren.elem),
        _ => false,
    }
}

/// `(Ok, Err)` of a `Result<Ok, Err>` written out in full; `None` for aliases such as
/// `anyhow::Result<T>`.
fn result_arguments(ty: &Type) -> (Option<Type>, Option<Type>) {
    let Type::Path(path) = ty else {
        return (None, None);
    };
    let Some(last) = path.path.segments.last() else {
        return (None, None);
    };
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return (None, None);
    };
    let types: Vec<&Type> = args
        .args
        .iter()
        .filter_map(|a| match a {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect();
    match types.as_slice() {
        [ok, err] => (Some((*ok).clone()), Some((*err).clone())),
        [ok] => (Some((*ok).clone()), None),
        _ => (None, None),
    }
}

/// The span errors about the `Ok` / `Err` types point at: the type itself when written out,
/// the whole return type otherwise.
pub(crate) fn span_or(ty: Option<&Type>, fallback: &Type) -> Span {
    ty.map_or_else(|| fallback.span(), Spanned::span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn methods_of(item: ItemImpl) -> (Vec<GenerationMethod>, Option<syn::Error>, ItemImpl) {
        let mut item = item;
        let mut errors = Errors::new();
        let methods = generation_methods(&mut item, &mut errors);
        (methods, errors.into_error(), item)
    }

    #[test]
    fn a_well_formed_method_is_found_and_its_attribute_removed() {
        let (methods, errors, item) = methods_of(parse_quote! {
            impl B {
                #[generation_hook(chat)]
                async fn generate(&self, request: GenerationRequest) -> Result<Reply, Error> { body() }
                fn helper(&self) {}
            }
        });
        assert!(errors.is_none());
        assert_eq!(methods.len(), 1);
        assert_eq!(methods[0].kind.kind, GenerationKind::Chat);
        assert!(!methods[0].kind.streamed);
        assert_eq!(methods[0].request, "request");
        assert!(methods[0].ok_ty.is_some() && methods[0].err_ty.is_some());
        let ImplItem::Fn(f) = &item.items[0] else {
            panic!()
        };
        assert!(f.attrs.is_empty());
    }

    #[test]
    fn an_alias_result_is_accepted_without_its_error_type() {
        let (methods, errors, _) = methods_of(parse_quote! {
            impl B {
                #[mellea::generation_hook(batch)]
                async fn generate(&self, request: BatchGenerationRequest) -> anyhow::Result<Vec<String>> { body() }
            }
        });
        assert!(errors.is_none());
        assert!(methods[0].err_ty.is_none());
    }

    #[test]
    fn every_shape_mistake_is_reported() {
        let (methods, errors, _) = methods_of(parse_quote! {
            impl B {
                #[generation_hook(chat)]
                fn not_async(&self, request: R) -> Result<A, E> { body() }
                #[generation_hook(chat)]
                async fn no_receiver(request: R) -> Result<A, E> { body() }
                #[generation_hook(chat)]
                async fn no_request(&self) -> Result<A, E> { body() }
                #[generation_hook(chat)]
                async fn no_result(&self, request: R) -> String { body() }
                #[generation_hook(chat)]
                async fn tuple_request(&self, (a, b): (A, B)) -> Result<A, E> { body() }
                #[generation_hook(chtt)]
                async fn bad_kind(&self, request: R) -> Result<A, E> { body() }
            }
        });
        assert!(methods.is_empty());
        let messages: Vec<String> = errors.unwrap().into_iter().map(|e| e.to_string()).collect();
        for needle in [
            "must be an `async fn`",
            "needs a `self` receiver",
            "takes a chat request",
            "must return a `Result`",
            "must be a plain name",
            "unknown generation kind",
        ] {
            assert!(
                messages.iter().any(|m| m.contains(needle)),
                "missing {needle}: {messages:?}"
            );
        }
        assert_eq!(messages.len(), 6, "one error per mistake: {messages:?}");
    }
}
