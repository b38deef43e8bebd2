//! Parsing of `#[plugin(...)]` arguments and of the impl block it annotates.
//!
//! Method bodies stay opaque tokens (see `hook::parse::HandlerFn`); only the impl header and
//! the method signatures are parsed.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, TokenStreamExt};
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Attribute, ImplItem, ItemImpl, LitStr};

use crate::common::args::{Arg, parse_args, priority_value, set_once, str_value, unknown_key};
use crate::common::crate_path::{CratePath, crate_value};
use crate::common::errors::Errors;
use crate::common::on_error::{OnErrorArg, on_error_value};
use crate::hook::parse::HandlerFn;

/// The arguments of `#[plugin(...)]`; a field is `None` when missing or invalid.
#[derive(Clone, Default)]
pub(crate) struct PluginArgs {
    pub(crate) name: Option<LitStr>,
    pub(crate) priority: Option<i32>,
    pub(crate) on_error: Option<OnErrorArg>,
    /// `crate = path`: where the expansion finds mellea.
    pub(crate) krate: Option<CratePath>,
}

const PLUGIN_KEYS: [&str; 4] = ["name", "priority", "on_error", "crate"];

/// Parses `name = "...", priority = N, on_error = ..., crate = path`, recording every mistake.
pub(crate) fn parse_plugin_args(tokens: TokenStream, errors: &mut Errors) -> PluginArgs {
    let mut parsed = PluginArgs::default();
    let Some(args) = errors.record(parse_args(tokens)) else {
        // The arguments do not parse; do not also report the name as missing.
        parsed.name = Some(LitStr::new("", Span::call_site()));
        return parsed;
    };
    let mut name_given = false;
    for arg in &args {
        match arg {
            Arg::Named { key, value } if key == "name" => {
                name_given = true;
                let name = match str_value(value) {
                    Some(name) if name.value().is_empty() => {
                        errors.spanned(name, "the plugin name must not be empty: the registry identifies plugins by name");
                        None
                    }
                    Some(name) => Some(name.clone()),
                    None => {
                        errors.spanned(
                            value,
                            "the plugin name is a string literal: `name = \"my_plugin\"`",
                        );
                        None
                    }
                };
                set_once(&mut parsed.name, key, name, errors);
            }
            Arg::Named { key, value } if key == "priority" => {
                let priority = priority_value(value, errors).map(|(p, _)| p);
                set_once(&mut parsed.priority, key, priority, errors);
            }
            Arg::Named { key, value } if key == "on_error" => {
                let on_error = on_error_value(key, value, errors);
                set_once(&mut parsed.on_error, key, on_error, errors);
            }
            Arg::Named { key, value } if key == "crate" => {
                let krate = crate_value(value, errors);
                set_once(&mut parsed.krate, key, krate, errors);
            }
            Arg::Named { key, .. } => {
                // `nmae = "x"` is one mistake: the misspelling, not also a missing name.
                name_given |= unknown_key(key, "plugin", &PLUGIN_KEYS, errors) == Some("name");
            }
            Arg::Positional(value) => {
                let message = match str_value(value) {
                    Some(name) => format!(
                        "name the plugin with a key: `#[plugin(name = {:?})]`",
                        name.value()
                    ),
                    None => {
                        "unexpected argument: `#[plugin]` takes `name = \"...\"`, `priority = N`, `on_error = ...` and `crate = path`"
                            .to_owned()
                    }
                };
                errors.spanned(value, message);
                name_given |= str_value(value).is_some();
            }
        }
    }
    if !name_given {
        errors.at(
            Span::call_site(),
            "missing plugin name: write `#[plugin(name = \"my_plugin\")]` (the registry identifies plugins by name)",
        );
    }
    parsed
}

/// One item of the impl block.
#[derive(Clone)]
pub(crate) enum ImplEntry {
    /// A method or associated function, body kept as tokens.
    Fn(Box<HandlerFn>),
    /// Anything else (consts, types, macro invocations), parsed by syn.
    Other(Box<ImplItem>),
}

impl Parse for ImplEntry {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.fork().parse::<HandlerFn>().is_ok() {
            input.parse().map(|func| ImplEntry::Fn(Box::new(func)))
        } else {
            input.parse().map(|item| ImplEntry::Other(Box::new(item)))
        }
    }
}

impl ToTokens for ImplEntry {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            ImplEntry::Fn(func) => func.to_tokens(tokens),
            ImplEntry::Other(item) => item.to_tokens(tokens),
        }
    }
}

/// An impl block: the header as written (attributes through where clause), what syn makes of
/// it, and its items.
pub(crate) struct ImplBlock {
    /// The tokens before the `{ ... }`, re-emitted unchanged.
    pub(crate) header_tokens: TokenStream,
    /// The header parsed (with an empty body).
    pub(crate) header: ItemImpl,
    pub(crate) brace_span: Span,
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) entries: Vec<ImplEntry>,
}

/// Why an item is not an impl block.
pub(crate) enum NotAnImpl {
    /// Another kind of item (struct, fn, trait...): reported at `span` as "not on a {kind}".
    Item {
        kind: &'static str,
        span: TokenStream,
    },
    /// An impl whose items do not parse: the parse error (rustc will report the same place).
    Broken(syn::Error),
}

/// Splits `item` into an impl block, or says what it is instead.
pub(crate) fn parse_impl(item: TokenStream) -> Result<ImplBlock, NotAnImpl> {
    let mut trees: Vec<TokenTree> = item.clone().into_iter().collect();
    let body = match trees.last() {
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => {
            Some(group.clone())
        }
        _ => None,
    };
    let header = body.as_ref().and_then(|_| {
        trees.pop();
        let header_tokens: TokenStream = trees.into_iter().collect();
        let mut with_empty_body = header_tokens.clone();
        with_empty_body.append(Group::new(Delimiter::Brace, TokenStream::new()));
        syn::parse2::<ItemImpl>(with_empty_body)
            .ok()
            .map(|header| (header_tokens, header))
    });
    let (Some(body), Some((header_tokens, header))) = (body, header) else {
        return Err(describe_non_impl(item));
    };
    let parse_body = |input: ParseStream| {
        let inner_attrs = input.call(Attribute::parse_inner)?;
        let mut entries = Vec::new();
        while !input.is_empty() {
            entries.push(input.parse()?);
        }
        Ok((inner_attrs, entries))
    };
    let (inner_attrs, entries) = parse_body
        .parse2(body.stream())
        .map_err(NotAnImpl::Broken)?;
    Ok(ImplBlock {
        header_tokens,
        header,
        brace_span: body.span(),
        inner_attrs,
        entries,
    })
}

fn describe_non_impl(item: TokenStream) -> NotAnImpl {
    use syn::Item;
    fn keyword_and_name(keyword: &dyn ToTokens, name: &syn::Ident) -> TokenStream {
        let mut tokens = keyword.to_token_stream();
        name.to_tokens(&mut tokens);
        tokens
    }
    let (kind, span) = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Struct(s)) => ("struct", keyword_and_name(&s.struct_token, &s.ident)),
        Ok(Item::Enum(e)) => ("enum", keyword_and_name(&e.enum_token, &e.ident)),
        Ok(Item::Fn(f)) => ("function", keyword_and_name(&f.sig.fn_token, &f.sig.ident)),
        Ok(Item::Trait(t)) => ("trait", keyword_and_name(&t.trait_token, &t.ident)),
        Ok(Item::Mod(m)) => ("module", keyword_and_name(&m.mod_token, &m.ident)),
        _ => ("this item", item.into_iter().take(1).collect()),
    };
    NotAnImpl::Item { kind, span }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn args(tokens: TokenStream) -> (PluginArgs, Vec<String>) {
        let mut errors = Errors::new();
        let parsed = parse_plugin_args(tokens, &mut errors);
        (parsed, errors.messages())
    }

    #[test]
    fn name_and_priority_are_read() {
        let (parsed, errors) = args(quote!(name = "redactor", priority = 10));
        assert!(errors.is_empty());
        assert_eq!(parsed.name.unwrap().value(), "redactor");
        assert_eq!(parsed.priority, Some(10));
    }

    #[test]
    fn priority_is_optional() {
        let (parsed, errors) = args(quote!(name = "redactor"));
        assert!(errors.is_empty());
        assert_eq!(parsed.priority, None);
    }

    #[test]
    fn a_missing_name_is_one_error() {
        let (parsed, errors) = args(quote!());
        assert!(parsed.name.is_none());
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("missing plugin name"));
        let (_, errors) = args(quote!(priority = 5));
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn an_empty_or_non_string_name_is_an_error() {
        let (_, errors) = args(quote!(name = ""));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("the plugin name must not be empty"));
        let (_, errors) = args(quote!(name = redactor));
        assert_eq!(
            errors,
            ["the plugin name is a string literal: `name = \"my_plugin\"`"]
        );
    }

    #[test]
    fn a_bare_string_is_told_to_use_the_name_key() {
        let (_, errors) = args(quote!("redactor"));
        assert_eq!(
            errors,
            ["name the plugin with a key: `#[plugin(name = \"redactor\")]`"]
        );
    }

    #[test]
    fn unknown_keys_are_reported_with_a_suggestion() {
        let (_, errors) = args(quote!(name = "x", priorty = 3));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("did you mean `priority`?"));
        let (_, errors) = args(quote!(nmae = "x"));
        assert_eq!(
            errors.len(),
            1,
            "a misspelt name is not also missing: {errors:?}"
        );
        assert!(errors[0].contains("did you mean `name`?"));
    }

    #[test]
    fn an_inherent_impl_is_split_into_header_and_items() {
        let block = parse_impl(quote! {
            #[allow(dead_code)]
            impl<T: Send> Redactor<T> where T: Sync {
                #![allow(unused)]
                const LIMIT: usize = 3;
                #[hook("generation_pre_call")]
                async fn scrub(&self, p: &P, c: &C) -> R { not parsed ;;; }
                fn helper(&self) {}
                mac!();
            }
        })
        .ok()
        .unwrap();
        assert!(block.header.trait_.is_none());
        assert_eq!(block.header.generics.params.len(), 1);
        assert_eq!(
            block.header.self_ty.to_token_stream().to_string(),
            "Redactor < T >"
        );
        assert_eq!(block.inner_attrs.len(), 1);
        let kinds: Vec<&str> = block
            .entries
            .iter()
            .map(|entry| match entry {
                ImplEntry::Fn(_) => "fn",
                ImplEntry::Other(_) => "other",
            })
            .collect();
        assert_eq!(kinds, ["other", "fn", "fn", "other"]);
        let ImplEntry::Fn(scrub) = &block.entries[1] else {
            unreachable!()
        };
        assert_eq!(scrub.body.to_string(), "{ not parsed ; ; ; }");
    }

    #[test]
    fn a_trait_impl_parses_with_its_trait() {
        let block =
            parse_impl(quote!(impl Clone for Redactor { fn clone(&self) -> Self { body() } }))
                .ok()
                .unwrap();
        assert!(block.header.trait_.is_some());
    }

    #[test]
    fn other_items_say_what_they_are() {
        for (tokens, expected) in [
            (
                quote!(
                    struct Redactor;
                ),
                "struct",
            ),
            (
                quote!(
                    pub enum Mode {
                        A,
                    }
                ),
                "enum",
            ),
            (
                quote!(
                    async fn scrub() {}
                ),
                "function",
            ),
            (
                quote!(
                    trait Guard {}
                ),
                "trait",
            ),
        ] {
            match parse_impl(tokens) {
                Err(NotAnImpl::Item { kind, .. }) => assert_eq!(kind, expected),
                _ => panic!("{expected} parsed as an impl"),
            }
        }
    }
}
