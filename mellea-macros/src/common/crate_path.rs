//! `crate = path`: where an expansion finds mellea's runtime items.
//!
//! Expansions name everything through `<crate>::__private`, by default `::mellea::__private`,
//! the path users of the `mellea` facade have. A crate that depends on `mellea-runtime`
//! directly, or renames `mellea` in its `Cargo.toml`, says where the items are instead:
//! `#[backend(provider = "...", crate = ::mellea_runtime)]`, as `#[tokio::main(crate = "...")]`
//! and `#[serde(crate = "...")]` do. Both the path and its string form are accepted.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote_spanned};
use syn::{Expr, Lit, Path};

use super::errors::Errors;

/// The path of the crate the expansion names items through.
#[derive(Clone, Default)]
pub(crate) struct CratePath(Option<Path>);

impl CratePath {
    /// `<crate>::__private`, with `span` on the default path's tokens (a user's path keeps its
    /// own spans, so a wrong path is reported where it is written).
    pub(crate) fn private(&self, span: Span) -> TokenStream {
        match &self.0 {
            Some(path) => {
                // `__private` at the path's span: a path that does not lead to mellea is
                // reported on the path as written, not on the whole attribute.
                let at = path.segments.last().map_or(span, |last| last.ident.span());
                quote_spanned!(at=> #path::__private)
            }
            None => quote_spanned!(span=> ::mellea::__private),
        }
    }
}

const EXAMPLE: &str = "e.g. `crate = ::mellea_runtime` or `crate = \"mellea_runtime\"`";

/// Reads the value of `crate = value`: a path, or a string literal holding one.
pub(crate) fn crate_value(value: &Expr, errors: &mut Errors) -> Option<CratePath> {
    let value = super::args::ungrouped(value);
    match value {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => {
            Some(CratePath(Some(path.path.clone())))
        }
        Expr::Lit(lit) => match &lit.lit {
            Lit::Str(text) => match text.parse::<Path>() {
                Ok(path) => Some(CratePath(Some(respan(path, text.span())))),
                Err(_) => {
                    errors.spanned(
                        text,
                        format!(
                            "`{}` is not a path: `crate` names the crate mellea's items are reached through, {EXAMPLE}",
                            text.value()
                        ),
                    );
                    None
                }
            },
            _ => {
                errors.spanned(
                    value,
                    format!("expected a path to the mellea crate, {EXAMPLE}"),
                );
                None
            }
        },
        _ => {
            errors.spanned(
                value,
                format!("expected a path to the mellea crate, {EXAMPLE}"),
            );
            None
        }
    }
}

/// A path parsed from a string, with every token at the string's span.
fn respan(path: Path, span: Span) -> Path {
    let tokens: TokenStream = path
        .into_token_stream()
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect();
    syn::parse2(tokens).unwrap_or_else(|_| unreachable!("a path re-spanned is still a path"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(value: TokenStream) -> (Option<String>, Vec<String>) {
        let mut errors = Errors::new();
        let value: Expr = syn::parse2(value).unwrap();
        let path = crate_value(&value, &mut errors)
            .map(|krate| krate.private(Span::call_site()).to_string());
        (path, errors.messages())
    }

    #[test]
    fn the_default_is_the_facade() {
        assert_eq!(
            CratePath::default().private(Span::call_site()).to_string(),
            ":: mellea :: __private"
        );
    }

    #[test]
    fn a_path_or_its_string_form_is_accepted() {
        for value in [quote!(::mellea_runtime), quote!("::mellea_runtime")] {
            assert_eq!(
                parse(value),
                (Some(":: mellea_runtime :: __private".to_owned()), vec![])
            );
        }
        assert_eq!(
            parse(quote!(self::reexported::mellea)).0.as_deref(),
            Some("self :: reexported :: mellea :: __private")
        );
    }

    #[test]
    fn anything_else_is_one_error_that_shows_the_syntax() {
        for value in [quote!(1), quote!("not a path!"), quote!(a + b)] {
            let (path, errors) = parse(value);
            assert!(path.is_none());
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(errors[0].contains("crate = ::mellea_runtime"), "{errors:?}");
        }
    }
}
