//! The argument syntax shared by `#[plugin(...)]` and `#[hook(...)]`: a comma-separated list of
//! positional values and `key = value` pairs.
//!
//! Values are parsed as expressions and interpreted afterwards, so a value of the wrong kind
//! (`priority = "high"`) is reported as such, at the value, instead of as a parse error.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Ident, Lit, LitStr, Token, UnOp};

use super::errors::Errors;
use super::suggest::did_you_mean;

/// One argument.
#[derive(Clone)]
pub(crate) enum Arg {
    /// A bare value: the hook name in `#[hook("generation_pre_call")]`.
    Positional(Expr),
    /// `key = value`.
    Named { key: Ident, value: Expr },
}

fn parse_arg(input: ParseStream) -> syn::Result<Arg> {
    if input.peek(Ident::peek_any) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
        let key = Ident::parse_any(input)?;
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(Arg::Named { key, value })
    } else {
        input.parse().map(Arg::Positional)
    }
}

/// Splits attribute arguments into [`Arg`]s.
pub(crate) fn parse_args(tokens: TokenStream) -> syn::Result<Vec<Arg>> {
    let parser = Punctuated::<Arg, Token![,]>::parse_terminated_with;
    let args = (|input: ParseStream| parser(input, parse_arg)).parse2(tokens)?;
    Ok(args.into_iter().collect())
}

/// Records the first occurrence of a `key = value` argument; a repeated key is an error at the
/// repetition.
pub(crate) fn set_once<T>(
    slot: &mut Option<T>,
    key: &Ident,
    value: Option<T>,
    errors: &mut Errors,
) {
    if slot.is_some() {
        errors.spanned(key, format!("duplicate `{key}` argument"));
    } else if value.is_some() {
        *slot = value;
    }
}

/// The error for a key no attribute takes, with a suggestion among `known`; returns the
/// suggestion, so that a misspelt required key is not also reported as missing.
pub(crate) fn unknown_key(
    key: &Ident,
    attribute: &str,
    known: &[&'static str],
    errors: &mut Errors,
) -> Option<&'static str> {
    let name = key.unraw().to_string();
    let expected = known
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let suggestion = did_you_mean(&name, known.iter().copied());
    let message = match suggestion {
        Some(suggestion) => format!(
            "unknown argument `{name}` for `#[{attribute}]`: did you mean `{suggestion}`? (arguments: {expected})"
        ),
        None => {
            format!("unknown argument `{name}` for `#[{attribute}]`; expected one of {expected}")
        }
    };
    errors.spanned(key, message);
    suggestion
}

/// `value` without the invisible group `macro_rules!` puts around a forwarded `$x:literal` or
/// `$x:expr`.
pub(crate) fn ungrouped(value: &Expr) -> &Expr {
    match value {
        Expr::Group(group) => ungrouped(&group.expr),
        _ => value,
    }
}

/// A priority: an integer literal, optionally negative, that fits an `i32`.
pub(crate) fn priority_value(value: &Expr, errors: &mut Errors) -> Option<(i32, Span)> {
    let value = ungrouped(value);
    let (negative, literal) = match value {
        Expr::Lit(lit) => (false, &lit.lit),
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => match ungrouped(&unary.expr) {
            Expr::Lit(lit) => (true, &lit.lit),
            _ => return not_an_integer(value, errors),
        },
        _ => return not_an_integer(value, errors),
    };
    let Lit::Int(int) = literal else {
        return not_an_integer(value, errors);
    };
    let digits = int.base10_digits();
    let text = if negative {
        format!("-{digits}")
    } else {
        digits.to_owned()
    };
    match text.parse::<i32>() {
        Ok(priority) => Some((priority, value.span())),
        Err(_) => {
            errors.spanned(
                value,
                format!("priority {text} does not fit an `i32`; priorities are small integers, lower runs first"),
            );
            None
        }
    }
}

fn not_an_integer<T>(value: &Expr, errors: &mut Errors) -> Option<T> {
    errors.spanned(
        value,
        "priority must be an integer literal, e.g. `priority = 10` (lower runs first; the default is 50)",
    );
    None
}

/// A string literal value.
pub(crate) fn str_value(value: &Expr) -> Option<&LitStr> {
    match ungrouped(value) {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Str(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// A bare identifier value, e.g. `audit` in `mode = audit`.
pub(crate) fn ident_value(value: &Expr) -> Option<&Ident> {
    match ungrouped(value) {
        Expr::Path(path) if path.qself.is_none() => path.path.get_ident(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn priority(tokens: TokenStream) -> (Option<i32>, Vec<String>) {
        let mut errors = Errors::new();
        let expr: Expr = syn::parse2(tokens).unwrap();
        let value = priority_value(&expr, &mut errors).map(|(p, _)| p);
        (value, errors.messages())
    }

    #[test]
    fn positional_and_named_arguments_are_split() {
        let args = parse_args(quote!("generation_pre_call", mode = audit, priority = -5)).unwrap();
        assert_eq!(args.len(), 3);
        assert!(
            matches!(&args[0], Arg::Positional(e) if str_value(e).unwrap().value() == "generation_pre_call")
        );
        assert!(
            matches!(&args[1], Arg::Named { key, value } if key == "mode" && ident_value(value).unwrap() == "audit")
        );
        assert!(matches!(&args[2], Arg::Named { key, .. } if key == "priority"));
    }

    #[test]
    fn a_trailing_comma_and_no_arguments_are_accepted() {
        assert_eq!(parse_args(quote!(name = "x",)).unwrap().len(), 1);
        assert!(parse_args(quote!()).unwrap().is_empty());
    }

    #[test]
    fn keyword_keys_parse_as_named_arguments() {
        let args = parse_args(quote!(crate = "x")).unwrap();
        assert!(matches!(&args[0], Arg::Named { key, .. } if key == "crate"));
    }

    #[test]
    fn an_equality_test_is_a_positional_expression() {
        let args = parse_args(quote!(a == b)).unwrap();
        assert!(matches!(&args[0], Arg::Positional(Expr::Binary(_))));
    }

    #[test]
    fn a_missing_value_is_a_parse_error() {
        assert!(parse_args(quote!(mode =)).is_err());
    }

    #[test]
    fn priorities_are_i32_literals() {
        assert_eq!(priority(quote!(10)), (Some(10), vec![]));
        assert_eq!(priority(quote!(-3)), (Some(-3), vec![]));
        assert_eq!(priority(quote!(-2147483648)), (Some(i32::MIN), vec![]));
    }

    #[test]
    fn non_integer_priorities_are_errors() {
        for tokens in [
            quote!("high"),
            quote!(1.5),
            quote!(high),
            quote!(-x),
            quote!(1 + 2),
        ] {
            let (value, messages) = priority(tokens);
            assert_eq!(value, None);
            assert_eq!(messages.len(), 1);
            assert!(messages[0].starts_with("priority must be an integer literal"));
        }
    }

    #[test]
    fn values_forwarded_by_macro_rules_are_read_through_their_invisible_group() {
        use proc_macro2::{Delimiter, Group};
        let invisible = |tokens: TokenStream| Group::new(Delimiter::None, tokens);
        let (value, messages) = priority(TokenStream::from(proc_macro2::TokenTree::from(
            invisible(quote!(-4)),
        )));
        assert_eq!((value, messages), (Some(-4), vec![]));
        let name = invisible(quote!("generation_pre_call"));
        let mode = invisible(quote!(audit));
        let args = parse_args(quote!(#name, mode = #mode)).unwrap();
        assert!(matches!(&args[0], Arg::Positional(e) if str_value(e).is_some()));
        assert!(
            matches!(&args[1], Arg::Named { value, .. } if ident_value(value).unwrap() == "audit")
        );
    }

    #[test]
    fn out_of_range_priorities_are_errors() {
        let (value, messages) = priority(quote!(3000000000));
        assert_eq!(value, None);
        assert!(messages[0].contains("does not fit an `i32`"));
    }

    #[test]
    fn repeated_keys_are_reported_at_the_repetition() {
        let mut errors = Errors::new();
        let key: Ident = syn::parse_quote!(priority);
        let mut slot = None;
        set_once(&mut slot, &key, Some(1), &mut errors);
        set_once(&mut slot, &key, Some(2), &mut errors);
        assert_eq!(slot, Some(1));
        assert_eq!(errors.messages(), ["duplicate `priority` argument"]);
    }

    #[test]
    fn unknown_keys_suggest_the_nearest_known_key() {
        let mut errors = Errors::new();
        unknown_key(
            &syn::parse_quote!(nmae),
            "plugin",
            &["name", "priority"],
            &mut errors,
        );
        unknown_key(
            &syn::parse_quote!(color),
            "plugin",
            &["name", "priority"],
            &mut errors,
        );
        let messages = errors.messages();
        assert!(
            messages[0].contains("did you mean `name`?"),
            "{}",
            messages[0]
        );
        assert!(
            messages[1].contains("expected one of `name`, `priority`"),
            "{}",
            messages[1]
        );
    }
}
