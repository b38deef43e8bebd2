//! `on_error = ignore | fail | disable`, shared by `#[hook]` and `#[plugin]`: parsing, and the
//! rule that `fail` needs a mode that can block.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;
use syn::Expr;

use super::crate_path::CratePath;
use super::errors::Errors;
use super::keyword::Keywords;

/// A failure policy, spelled as in `on_error = disable`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnError {
    Ignore,
    Fail,
    Disable,
}

/// The spellings of `on_error = ...`.
pub(crate) const POLICIES: Keywords<OnError> = Keywords {
    form: "on_error = {}",
    what: "failure policy",
    values: &[
        ("ignore", OnError::Ignore),
        ("fail", OnError::Fail),
        ("disable", OnError::Disable),
    ],
    meaning: Some(
        "`ignore` logs and goes on, `fail` blocks the dispatch, `disable` unregisters the handler",
    ),
};

impl OnError {
    /// `OnError::X` in the runtime.
    pub(crate) fn path(self, krate: &CratePath) -> TokenStream {
        let variant = Ident::new(
            match self {
                OnError::Ignore => "Ignore",
                OnError::Fail => "Fail",
                OnError::Disable => "Disable",
            },
            Span::call_site(),
        );
        let private = krate.private(Span::call_site());
        quote!(#private::OnError::#variant)
    }
}

/// A policy as written: the value, and the `on_error = ...` tokens errors point at.
#[derive(Clone)]
pub(crate) struct OnErrorArg {
    pub(crate) policy: OnError,
    pub(crate) tokens: TokenStream,
}

/// Reads the value of `on_error = value`, recording a mistake at the value.
pub(crate) fn on_error_value(key: &Ident, value: &Expr, errors: &mut Errors) -> Option<OnErrorArg> {
    let policy = POLICIES.parse(value, errors)?;
    Some(OnErrorArg {
        policy,
        tokens: quote!(#key = #value),
    })
}

/// Why `fail` is refused in `mode`: the second half of both messages.
fn cannot_block(mode: &str) -> String {
    format!(
        "`{mode}` mode cannot block, so a failure there could not stop anything. `on_error = fail` is allowed in `sequential` (the default) and `concurrent` mode"
    )
}

/// A handler's own `on_error = fail` in a mode that cannot block.
pub(crate) fn check_handler(
    own: Option<&OnErrorArg>,
    mode: &str,
    may_block: bool,
    errors: &mut Errors,
) {
    if let Some(arg) = own.filter(|arg| arg.policy == OnError::Fail && !may_block) {
        errors.spanned(
            &arg.tokens,
            format!(
                "`on_error = fail` turns a failure of this handler into a block, but {}; use `on_error = ignore` or `on_error = disable` here, or change the mode",
                cannot_block(mode)
            ),
        );
    }
}

/// A plugin's `on_error = fail` reaching a handler (one without its own policy) in a mode that
/// cannot block.
pub(crate) fn check_plugin_default(
    plugin: Option<&OnErrorArg>,
    handler: &Ident,
    mode: &str,
    may_block: bool,
    errors: &mut Errors,
) {
    if let Some(arg) = plugin.filter(|arg| arg.policy == OnError::Fail && !may_block) {
        errors.spanned(
            &arg.tokens,
            format!(
                "this plugin's `on_error = fail` applies to its handler `{handler}`, but {}; give `{handler}` its own `on_error = ignore` (or `disable`), or change its mode",
                cannot_block(mode)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: TokenStream) -> (Option<OnError>, Vec<String>) {
        let mut errors = Errors::new();
        let key: Ident = syn::parse_quote!(on_error);
        let value: Expr = syn::parse2(value).unwrap();
        let parsed = on_error_value(&key, &value, &mut errors).map(|arg| arg.policy);
        (parsed, errors.messages())
    }

    #[test]
    fn every_policy_parses() {
        for (name, policy) in POLICIES.values.iter().copied() {
            let ident = Ident::new(name, Span::call_site());
            assert_eq!(parse(quote!(#ident)), (Some(policy), vec![]));
        }
    }

    #[test]
    fn unknown_policies_list_the_three_and_suggest_a_near_miss() {
        let (parsed, errors) = parse(quote!(crash));
        assert_eq!(parsed, None);
        assert!(
            errors[0].starts_with(
                "unknown failure policy `crash`: expected one of `ignore`, `fail`, `disable` (`ignore` logs"
            ),
            "{errors:?}"
        );
        let (_, errors) = parse(quote!(fial));
        assert!(errors[0].contains("did you mean `fail`?"), "{errors:?}");
    }

    #[test]
    fn strings_and_paths_are_told_the_bare_spelling() {
        let (_, errors) = parse(quote!("fail"));
        assert_eq!(
            errors,
            ["the failure policy is an identifier, not a string: write `on_error = fail`"]
        );
        let (_, errors) = parse(quote!(OnError::Disable));
        assert_eq!(
            errors,
            ["write the failure policy as a bare identifier: `on_error = disable`"]
        );
    }

    #[test]
    fn fail_is_refused_only_where_a_mode_cannot_block() {
        let key: Ident = syn::parse_quote!(on_error);
        let value: Expr = syn::parse_quote!(fail);
        let mut errors = Errors::new();
        let fail = on_error_value(&key, &value, &mut errors);
        check_handler(fail.as_ref(), "sequential", true, &mut errors);
        assert!(errors.is_empty());
        check_handler(fail.as_ref(), "audit", false, &mut errors);
        let handler: Ident = syn::parse_quote!(log);
        check_plugin_default(
            fail.as_ref(),
            &handler,
            "fire_and_forget",
            false,
            &mut errors,
        );
        let messages = errors.messages();
        assert_eq!(messages.len(), 2);
        assert!(
            messages[0].contains("`audit` mode cannot block"),
            "{}",
            messages[0]
        );
        assert!(messages[1].contains("handler `log`"), "{}", messages[1]);
        assert!(messages[1].contains("`fire_and_forget` mode cannot block"));
    }
}
