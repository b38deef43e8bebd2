//! Parsing of `#[tool(...)]` arguments and of the function it annotates.

use proc_macro2::TokenStream;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Meta};

use crate::common::args::{Arg, parse_args, set_once, str_value, unknown_key};
use crate::common::errors::Errors;

/// The arguments of `#[tool(...)]`.
#[derive(Default)]
pub(crate) struct ToolArgs {
    /// The tool's name, when not the function's.
    pub(crate) name: Option<LitStr>,
}

const TOOL_KEYS: [&str; 1] = ["name"];

/// Parses `name = "..."`, recording every mistake.
pub(crate) fn parse_tool_args(tokens: TokenStream, errors: &mut Errors) -> ToolArgs {
    let mut parsed = ToolArgs::default();
    let Some(args) = errors.record(parse_args(tokens)) else {
        return parsed;
    };
    for arg in &args {
        match arg {
            Arg::Named { key, value } if key == "name" => {
                let name = match str_value(value) {
                    Some(name) if valid_tool_name(&name.value()) => Some(name.clone()),
                    Some(name) => {
                        errors.spanned(
                            name,
                            "a tool name is 1 to 64 of `a-z`, `A-Z`, `0-9`, `_` and `-` (what OpenAI-compatible servers accept)",
                        );
                        None
                    }
                    None => {
                        errors.spanned(value, "`name` takes a string literal, e.g. `name = \"get_weather\"`");
                        None
                    }
                };
                set_once(&mut parsed.name, key, name, errors);
            }
            Arg::Named { key, .. } => {
                unknown_key(key, "tool", &TOOL_KEYS, errors);
            }
            Arg::Positional(value) => errors.spanned(
                value,
                "`#[tool]` takes only `name = \"...\"` (the description is the function's doc comment)",
            ),
        }
    }
    parsed
}

/// Whether `name` is acceptable as a function-tool name.
pub(crate) fn valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The doc comment of `attrs`, its lines trimmed and joined with newlines.
pub(crate) fn doc_comment(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(text),
                    ..
                }) => Some(text.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    lines.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn names_and_docs() {
        assert!(valid_tool_name("get_weather-2"));
        assert!(!valid_tool_name("get weather") && !valid_tool_name(""));
        let f: syn::ItemFn = syn::parse2(quote! {
            /// Current weather.
            ///
            /// In Celsius.
            async fn f() {}
        })
        .unwrap();
        assert_eq!(doc_comment(&f.attrs), "Current weather.\n\nIn Celsius.");
        let mut errors = Errors::new();
        let args = parse_tool_args(quote!(nme = "x"), &mut errors);
        assert!(args.name.is_none());
        assert!(errors.messages()[0].contains("did you mean `name`"));
    }
}
