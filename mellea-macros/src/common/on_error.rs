//! `on_error = ignore | fail | disable`, shared by `#[hook]` and `#[plugin]`: parsing, and the
//! rule that `fail` needs a mode that can block.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;
use syn::Expr;

use super::args::{ident_value, str_value};
use super::errors::Errors;
use super::suggest::did_you_mean;

/// A failure policy, spelled as in `on_error = disable`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnError {
    Ignore,
    Fail,
    Disable,
}

impl OnError {
    /// Every policy with its spelling.
    pub(crate) const ALL: [(&'static str, OnError); 3] = [
        ("ignore", OnError::Ignore),
        ("fail", OnError::Fail),
        ("disable", OnError::Disable),
    ];

    /// `OnError::X` in the runtime.
    pub(crate) fn path(self) -> TokenStream {
        let variant = Ident::new(
            match self {
                OnError::Ignore => "Ignore",
                OnError::Fail => "Fail",
                OnError::Disable => "Disable",
            },
            Span::call_site(),
        );
        quote!(::mellea::__private::OnError::#variant)
    }

    fn spellings() -> String {
        OnError::ALL
            .iter()
            .map(|(name, _)| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ")
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
    let written = match (ident_value(value), str_value(value)) {
        (Some(ident), _) => ident.to_string(),
        (None, Some(text)) => {
            let spelled = text.value();
            let hint = match OnError::ALL.iter().find(|(name, _)| *name == spelled) {
                Some((name, _)) => format!("write `on_error = {name}`"),
                None => format!("one of {}", OnError::spellings()),
            };
            errors.spanned(
                value,
                format!("the failure policy is an identifier, not a string: {hint}"),
            );
            return None;
        }
        (None, None) => {
            // A path such as `OnError::Fail`: point at the spelling this attribute takes.
            let last = match value {
                Expr::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
                _ => None,
            };
            let suggestion = last
                .as_deref()
                .and_then(|last| did_you_mean(last, OnError::ALL.iter().map(|(n, _)| *n)));
            let message = match suggestion {
                Some(name) => {
                    format!("write the failure policy as a bare identifier: `on_error = {name}`")
                }
                None => format!(
                    "unknown failure policy: expected one of {}",
                    OnError::spellings()
                ),
            };
            errors.spanned(value, message);
            return None;
        }
    };
    let Some((_, policy)) = OnError::ALL.iter().find(|(name, _)| *name == written) else {
        let message = match did_you_mean(&written, OnError::ALL.iter().map(|(n, _)| *n)) {
            Some(name) => format!(
                "unknown failure policy `{written}`: did you mean `{name}`? (expected one of {})",
                OnError::spellings()
            ),
            None => format!(
                "unknown failure policy `{written}`: expected one of {} (`ignore` logs and goes on, `fail` blocks the dispatch, `disable` unregisters the handler)",
                OnError::spellings()
            ),
        };
        errors.spanned(value, message);
        return None;
    };
    Some(OnErrorArg {
        policy: *policy,
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
        for (name, policy) in OnError::ALL {
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
                "unknown failure policy `crash`: expected one of `ignore`, `fail`, `disable`"
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
