//! The handler contract: which hook a name means, and whether a signature fits it.
//!
//! Checked here, syntactically: the hook name exists, the handler is `async`, not generic, not
//! `unsafe`, takes `&self` (methods) and exactly a payload and a context, and declares a return
//! type. Whether the *types* are the hook's payload, `HookContext` and the hook's result type is
//! checked by the compiler on the expansion (see `expand.rs`), so aliases and re-exports work and
//! the error still lands on the user's type.

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::{FnArg, LitStr, ReceiverKind, ReturnType, Safety, Signature, Type};

use crate::common::errors::Errors;
use crate::common::hook_table::{self, HookRow};
use crate::common::on_error;
use crate::common::suggest::did_you_mean;

use super::parse::HookArgs;

/// Where a handler lives: it decides whether a `&self` receiver is required or forbidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HandlerKind {
    /// A method of a `#[plugin]` impl: `(&self, payload, ctx)`.
    Method,
    /// A free function: `(payload, ctx)`.
    Free,
}

/// The types of a signature that passed the syntactic checks; the compiler checks them against
/// the hook's types.
#[derive(Clone, Copy)]
pub(crate) struct HandlerTypes<'a> {
    pub(crate) payload: &'a Type,
    pub(crate) context: &'a Type,
    pub(crate) output: &'a Type,
}

/// The hook `name` stands for, or an error on the literal ("did you mean" for a near miss).
pub(crate) fn resolve_hook(name: &LitStr, errors: &mut Errors) -> Option<&'static HookRow> {
    let written = name.value();
    if let Some(row) = hook_table::lookup(&written) {
        return Some(row);
    }
    let names = hook_table::HOOKS.iter().map(|row| row.name);
    let message = match did_you_mean(&written, names) {
        Some(suggestion) => format!(
            "unknown hook `{written}`: did you mean `{suggestion}`?\nthe hooks are: {}",
            hook_table::all_names()
        ),
        None => format!(
            "unknown hook `{written}`\nthe hooks are: {}",
            hook_table::all_names()
        ),
    };
    errors.spanned(name, message);
    None
}

/// How the parameters of a correct handler are written, for messages.
fn expected_params(kind: HandlerKind, hook: Option<&HookRow>) -> String {
    let payload = hook.map_or_else(
        || "payload: &<the hook's payload>".to_owned(),
        HookRow::payload_param,
    );
    let receiver = match kind {
        HandlerKind::Method => "&self, ",
        HandlerKind::Free => "",
    };
    format!("({receiver}{payload}, ctx: &HookContext)")
}

fn expected_return(hook: Option<&HookRow>) -> String {
    hook.map_or_else(
        || "`HookResult<..Patch>` (writable hooks) or `HookResult` (observe-only hooks)".to_owned(),
        |row| format!("`{}`", row.return_type()),
    )
}

/// Whether `tokens` contain `impl Trait` (which makes a handler generic).
fn contains_impl_trait(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => contains_impl_trait(group.stream()),
        _ => false,
    })
}

/// Checks `sig` against the handler contract, recording every violation; the handler's types
/// when the signature has the right shape.
pub(crate) fn check_signature<'a>(
    sig: &'a Signature,
    kind: HandlerKind,
    hook: Option<&HookRow>,
    errors: &mut Errors,
) -> Option<HandlerTypes<'a>> {
    let mut local = Errors::new();
    let ident = &sig.ident;
    let fn_token = &sig.fn_token;

    if sig.asyncness.is_none() {
        local.spanned(
            quote!(#fn_token #ident),
            format!("a hook handler must be an `async fn`: write `async fn {ident}` (the dispatcher awaits it)"),
        );
    }
    if let Safety::Unsafe(unsafe_token) = &sig.safety {
        local.spanned(
            unsafe_token,
            "a hook handler cannot be `unsafe`: the dispatcher calls it from safe code",
        );
    }
    if let Some(abi) = &sig.abi {
        local.spanned(abi, "a hook handler cannot declare an ABI");
    }
    if !sig.generics.params.is_empty() {
        local.spanned(
            &sig.generics,
            "a hook handler cannot be generic: the dispatcher calls it with the hook's own payload type",
        );
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        local.spanned(
            where_clause,
            "a hook handler cannot have a `where` clause: it is called with the hook's own payload type",
        );
    }

    let mut inputs = sig.inputs.iter().peekable();
    match (kind, inputs.peek()) {
        (HandlerKind::Method, Some(FnArg::Receiver(receiver))) => {
            let shared_ref = match &receiver.kind {
                ReceiverKind::Reference(_, _, mutability) => mutability.is_none(),
                ReceiverKind::Typed(_, ty) => {
                    matches!(&**ty, Type::Reference(r) if r.mutability.is_none()
                        && r.elem.to_token_stream().to_string() == "Self")
                }
                _ => false,
            };
            if !shared_ref {
                local.spanned(
                    receiver,
                    "a hook method takes `&self`: a plugin is shared by concurrent dispatches, so keep mutable state behind a `Mutex` or an atomic",
                );
            }
            inputs.next();
        }
        (HandlerKind::Method, _) => {
            local.at(
                sig.paren_token.span.join(),
                format!(
                    "a hook method takes `&self` first: `{}`",
                    expected_params(kind, hook)
                ),
            );
        }
        (HandlerKind::Free, Some(FnArg::Receiver(receiver))) => {
            // `hook::expand` reports methods before checking signatures; kept for completeness.
            local.spanned(receiver, "a free hook handler has no `self` parameter");
            inputs.next();
        }
        (HandlerKind::Free, _) => {}
    }

    let typed: Vec<&syn::PatType> = inputs
        .filter_map(|arg| match arg {
            FnArg::Typed(typed) => Some(typed),
            FnArg::Receiver(_) => None,
        })
        .collect();
    for param in &typed {
        if contains_impl_trait(param.ty.to_token_stream()) {
            local.spanned(
                &param.ty,
                "a hook handler cannot be generic (`impl Trait` in a parameter): take the hook's payload type by reference",
            );
        }
    }
    match typed.len() {
        2 => {}
        found @ (0 | 1) => {
            local.at(
                sig.paren_token.span.join(),
                format!(
                    "a hook handler takes a payload and a context: `{}` ({found} of 2 given)",
                    expected_params(kind, hook),
                ),
            );
        }
        _ => {
            let extra: Vec<_> = typed[2..].iter().collect();
            local.spanned(
                quote!(#(#extra)*),
                format!(
                    "unexpected parameter: a hook handler takes only a payload and a context: `{}`",
                    expected_params(kind, hook),
                ),
            );
        }
    }

    let output = match &sig.output {
        ReturnType::Default => {
            local.at(
                sig.paren_token.span.close(),
                format!(
                    "missing return type: this handler returns {}",
                    expected_return(hook)
                ),
            );
            None
        }
        ReturnType::Type(_, ty) => {
            if contains_impl_trait(ty.to_token_stream()) {
                local.spanned(
                    ty,
                    format!(
                        "a hook handler returns {}, not `impl Trait`",
                        expected_return(hook)
                    ),
                );
            }
            Some(&**ty)
        }
    };

    let clean = local.is_empty();
    errors.extend(local);
    match (clean, output) {
        (true, Some(output)) if typed.len() == 2 => Some(HandlerTypes {
            payload: &typed[0].ty,
            context: &typed[1].ty,
            output,
        }),
        _ => None,
    }
}

/// A handler's own `on_error = fail` needs a mode that can block.
pub(crate) fn check_on_error(args: &HookArgs, errors: &mut Errors) {
    let mode = args.mode_or_default();
    on_error::check_handler(
        args.on_error.as_ref(),
        mode.name(),
        mode.may_block(),
        errors,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn check(kind: HandlerKind, hook: &str, sig: Signature) -> (bool, Vec<String>) {
        let mut errors = Errors::new();
        let row = hook_table::lookup(hook);
        let ok = check_signature(&sig, kind, row, &mut errors).is_some();
        (ok, errors.messages())
    }

    fn method(sig: Signature) -> (bool, Vec<String>) {
        check(HandlerKind::Method, "generation_pre_call", sig)
    }

    #[test]
    fn a_correct_method_passes_and_yields_its_types() {
        let sig: Signature = parse_quote! {
            async fn scrub(&self, payload: &GenerationPreCallPayload, _ctx: &HookContext) -> HookResult<GenerationPreCallPatch>
        };
        let mut errors = Errors::new();
        let types = check_signature(&sig, HandlerKind::Method, None, &mut errors).unwrap();
        assert!(errors.is_empty());
        assert_eq!(
            types.payload.to_token_stream().to_string(),
            "& GenerationPreCallPayload"
        );
        assert_eq!(types.context.to_token_stream().to_string(), "& HookContext");
        assert_eq!(
            types.output.to_token_stream().to_string(),
            "HookResult < GenerationPreCallPatch >"
        );
    }

    #[test]
    fn an_explicit_shared_self_type_is_a_receiver() {
        let (ok, errors) = method(parse_quote! { async fn f(self: &Self, p: &P, c: &C) -> R });
        assert!(ok, "{errors:?}");
    }

    #[test]
    fn a_free_function_takes_no_receiver() {
        let (ok, errors) = check(
            HandlerKind::Free,
            "generation_post_call",
            parse_quote! { async fn f(p: &P, c: &C) -> R },
        );
        assert!(ok, "{errors:?}");
    }

    #[test]
    fn a_non_async_handler_is_one_error() {
        let (ok, errors) = method(parse_quote! { fn scrub(&self, p: &P, c: &C) -> R });
        assert!(!ok);
        assert_eq!(
            errors,
            [
                "a hook handler must be an `async fn`: write `async fn scrub` (the dispatcher awaits it)"
            ]
        );
    }

    #[test]
    fn generic_handlers_are_rejected() {
        let (ok, errors) = method(parse_quote! { async fn f<T>(&self, p: &T, c: &C) -> R });
        assert!(!ok);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("a hook handler cannot be generic"));
        let (_, errors) = method(parse_quote! { async fn f(&self, p: &impl Payload, c: &C) -> R });
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("`impl Trait` in a parameter"));
        let (_, errors) =
            method(parse_quote! { async fn f(&self, p: &P, c: &C) -> R where P: Clone });
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("`where` clause"));
    }

    #[test]
    fn receivers_other_than_shared_self_are_rejected() {
        for sig in [
            parse_quote! { async fn f(&mut self, p: &P, c: &C) -> R },
            parse_quote! { async fn f(self, p: &P, c: &C) -> R },
            parse_quote! { async fn f(self: Arc<Self>, p: &P, c: &C) -> R },
        ] {
            let (ok, errors) = method(sig);
            assert!(!ok);
            assert_eq!(errors.len(), 1);
            assert!(
                errors[0].starts_with("a hook method takes `&self`"),
                "{errors:?}"
            );
        }
    }

    #[test]
    fn a_method_without_receiver_names_the_full_parameter_list() {
        let (ok, errors) = method(parse_quote! { async fn f(p: &P, c: &C) -> R });
        assert!(!ok);
        assert_eq!(
            errors,
            [
                "a hook method takes `&self` first: `(&self, payload: &GenerationPreCallPayload, ctx: &HookContext)`"
            ]
        );
    }

    #[test]
    fn missing_and_extra_parameters_are_counted() {
        let (_, errors) = method(parse_quote! { async fn f(&self, p: &P) -> R });
        assert_eq!(
            errors,
            [
                "a hook handler takes a payload and a context: `(&self, payload: &GenerationPreCallPayload, ctx: &HookContext)` (1 of 2 given)"
            ]
        );
        let (_, errors) =
            method(parse_quote! { async fn f(&self, p: &P, c: &C, extra: u8, more: u8) -> R });
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("unexpected parameter"));
    }

    #[test]
    fn a_missing_return_type_names_the_hooks_result_type() {
        let (_, errors) = method(parse_quote! { async fn f(&self, p: &P, c: &C) });
        assert_eq!(
            errors,
            ["missing return type: this handler returns `HookResult<GenerationPreCallPatch>`"]
        );
        let (_, errors) = check(
            HandlerKind::Free,
            "generation_post_call",
            parse_quote! { async fn f(p: &P, c: &C) },
        );
        assert_eq!(
            errors,
            ["missing return type: this handler returns `HookResult`"]
        );
    }

    #[test]
    fn independent_mistakes_are_all_reported() {
        let (ok, errors) = method(parse_quote! { unsafe fn f<T>(&mut self) });
        assert!(!ok);
        assert_eq!(errors.len(), 6, "{errors:?}");
    }

    #[test]
    fn unknown_hook_names_suggest_near_misses_and_list_the_hooks() {
        let mut errors = Errors::new();
        assert!(resolve_hook(&parse_quote!("generation_pre_cal"), &mut errors).is_none());
        assert!(resolve_hook(&parse_quote!("on_startup"), &mut errors).is_none());
        assert!(resolve_hook(&parse_quote!("tool_post_invoke"), &mut errors).is_some());
        let messages = errors.messages();
        assert_eq!(messages.len(), 2);
        assert!(messages[0].starts_with("unknown hook `generation_pre_cal`: did you mean `generation_pre_call`?\nthe hooks are: session_pre_init, "));
        assert!(messages[1].starts_with("unknown hook `on_startup`\nthe hooks are: "));
        assert!(messages[1].ends_with("streaming_end"));
    }
}
