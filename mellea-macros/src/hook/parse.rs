//! Parsing of `#[hook(...)]` arguments and of handler functions.
//!
//! A handler's body is kept as opaque tokens: only the signature needs structure, and a body
//! that does not parse yet (mid-edit) must still reach the compiler unchanged, so that its
//! errors point into the body instead of at the attribute.

use proc_macro2::{Delimiter, Group, TokenStream};
use quote::{ToTokens, TokenStreamExt};
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Expr, LitStr, Signature, Token, Visibility};

use crate::common::args::{
    Arg, ident_value, parse_args, priority_value, set_once, str_value, unknown_key,
};
use crate::common::crate_path::{CratePath, crate_value};
use crate::common::errors::Errors;
use crate::common::keyword::Keywords;
use crate::common::on_error::{OnErrorArg, on_error_value};

/// The five execution modes, spelled as in `#[hook("...", mode = fire_and_forget)]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Sequential,
    Transform,
    Audit,
    Concurrent,
    FireAndForget,
}

/// The spellings of `mode = ...`, in phase order.
pub(crate) const MODES: Keywords<Mode> = Keywords {
    form: "mode = {}",
    what: "mode",
    values: &[
        ("sequential", Mode::Sequential),
        ("transform", Mode::Transform),
        ("audit", Mode::Audit),
        ("concurrent", Mode::Concurrent),
        ("fire_and_forget", Mode::FireAndForget),
    ],
    meaning: None,
};

impl Mode {
    /// The mode's spelling.
    pub(crate) fn name(self) -> &'static str {
        MODES.name_of(self)
    }

    /// Whether handlers in this mode can block (and so may have `on_error = fail`).
    pub(crate) fn may_block(self) -> bool {
        matches!(self, Mode::Sequential | Mode::Concurrent)
    }

    /// The `PluginMode` variant this mode expands to.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Mode::Sequential => "Sequential",
            Mode::Transform => "Transform",
            Mode::Audit => "Audit",
            Mode::Concurrent => "Concurrent",
            Mode::FireAndForget => "FireAndForget",
        }
    }
}

/// The arguments of one `#[hook(...)]`. A field is `None` when it was not given or was invalid
/// (the error is recorded separately).
#[derive(Clone, Default)]
pub(crate) struct HookArgs {
    /// The hook name literal.
    pub(crate) name: Option<LitStr>,
    pub(crate) mode: Option<Mode>,
    pub(crate) priority: Option<i32>,
    pub(crate) on_error: Option<OnErrorArg>,
    /// `crate = path`: where a free handler's expansion finds mellea (a method uses its
    /// plugin's).
    pub(crate) krate: Option<CratePath>,
    /// The `crate` key, for the error when a method's `#[hook]` gives one.
    pub(crate) crate_key: Option<syn::Ident>,
}

impl HookArgs {
    /// The handler's mode, written or default.
    pub(crate) fn mode_or_default(&self) -> Mode {
        self.mode.unwrap_or(Mode::Sequential)
    }
}

const HOOK_KEYS: [&str; 4] = ["mode", "priority", "on_error", "crate"];

/// Parses `"hook_name", mode = ..., priority = N, on_error = ..., crate = path`. Every mistake is recorded in `errors`;
/// a missing hook name is reported on `attribute` (empty tokens: the macro's call site).
pub(crate) fn parse_hook_args(
    tokens: TokenStream,
    attribute: &dyn ToTokens,
    errors: &mut Errors,
) -> HookArgs {
    let mut parsed = HookArgs::default();
    let Some(args) = errors.record(parse_args(tokens)) else {
        return parsed;
    };
    let mut name_seen = false;
    for (index, arg) in args.iter().enumerate() {
        match arg {
            Arg::Positional(value) if index == 0 => {
                name_seen = true;
                parsed.name = hook_name_value(value, errors);
            }
            Arg::Positional(value) => {
                errors.spanned(
                    value,
                    "unexpected argument: `#[hook]` takes the hook name first, then `mode = ...`, `priority = N`, `on_error = ...` and `crate = path`",
                );
            }
            Arg::Named { key, value } if key == "mode" => {
                let mode = MODES.parse(value, errors);
                set_once(&mut parsed.mode, key, mode, errors);
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
                parsed.crate_key.get_or_insert_with(|| key.clone());
            }
            Arg::Named { key, value } if key == "name" && str_value(value).is_some() => {
                errors.spanned(
                    key,
                    "the hook name is given without a key: `#[hook(\"generation_pre_call\")]`",
                );
            }
            Arg::Named { key, .. } => {
                unknown_key(key, "hook", &HOOK_KEYS, errors);
            }
        }
    }
    if !name_seen {
        errors.spanned(
            attribute,
            "missing hook name: write `#[hook(\"generation_pre_call\")]` (the name of the hook this handler subscribes to)",
        );
    }
    parsed
}

fn hook_name_value(value: &Expr, errors: &mut Errors) -> Option<LitStr> {
    if let Some(name) = str_value(value) {
        return Some(name.clone());
    }
    let message = match ident_value(value) {
        Some(ident) => format!("the hook name is a string literal: write `#[hook(\"{ident}\")]`"),
        None => {
            "the hook name is a string literal, e.g. `#[hook(\"generation_pre_call\")]`".to_owned()
        }
    };
    errors.spanned(value, message);
    None
}

/// A function whose body is kept as tokens: a free function under `#[hook]`, or a method of a
/// `#[plugin]` impl.
#[derive(Clone)]
pub(crate) struct HandlerFn {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) defaultness: Option<Token![default]>,
    pub(crate) sig: Signature,
    /// The `{ ... }` group, or a `;` for a body-less declaration.
    pub(crate) body: TokenStream,
}

impl Parse for HandlerFn {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let defaultness = input.parse()?;
        let sig = input.parse()?;
        let body = if input.peek(Token![;]) {
            input.parse::<Token![;]>()?.into_token_stream()
        } else {
            let group: Group = input.parse()?;
            if group.delimiter() != Delimiter::Brace {
                return Err(syn::Error::new(group.span(), "expected a function body"));
            }
            group.into_token_stream()
        };
        Ok(HandlerFn {
            attrs,
            vis,
            defaultness,
            sig,
            body,
        })
    }
}

impl ToTokens for HandlerFn {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.append_all(&self.attrs);
        self.vis.to_tokens(tokens);
        self.defaultness.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        tokens.extend(self.body.clone());
    }
}

/// Whether `attr` is a `#[hook]` attribute (also written `#[mellea::hook]`).
pub(crate) fn is_hook_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "hook")
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn args(tokens: TokenStream) -> (HookArgs, Vec<String>) {
        let mut errors = Errors::new();
        let parsed = parse_hook_args(tokens, &TokenStream::new(), &mut errors);
        (parsed, errors.messages())
    }

    #[test]
    fn name_mode_and_priority_are_read() {
        let (parsed, errors) = args(quote!(
            "generation_pre_call",
            mode = fire_and_forget,
            priority = -7
        ));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(parsed.name.unwrap().value(), "generation_pre_call");
        assert_eq!(parsed.mode, Some(Mode::FireAndForget));
        assert_eq!(parsed.priority, Some(-7));
    }

    #[test]
    fn mode_and_priority_are_optional() {
        let (parsed, errors) = args(quote!("session_reset"));
        assert!(errors.is_empty());
        assert_eq!(parsed.mode, None);
        assert_eq!(parsed.priority, None);
    }

    #[test]
    fn every_mode_spelling_parses() {
        for (spelling, mode) in MODES.values.iter().copied() {
            let ident = syn::Ident::new(spelling, proc_macro2::Span::call_site());
            let (parsed, errors) = args(quote!("session_reset", mode = #ident));
            assert!(errors.is_empty());
            assert_eq!(parsed.mode, Some(mode));
        }
    }

    #[test]
    fn a_missing_name_is_one_error() {
        let (parsed, errors) = args(quote!());
        assert!(parsed.name.is_none());
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("missing hook name"));
        let (_, errors) = args(quote!(mode = audit));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("missing hook name"));
    }

    #[test]
    fn an_identifier_name_is_told_to_be_a_string() {
        let (_, errors) = args(quote!(generation_pre_call));
        assert_eq!(
            errors,
            ["the hook name is a string literal: write `#[hook(\"generation_pre_call\")]`"]
        );
    }

    #[test]
    fn unknown_modes_suggest_the_nearest_mode() {
        let (parsed, errors) = args(quote!("x", mode = fire_and_foget));
        assert_eq!(parsed.mode, None);
        assert_eq!(
            errors,
            [
                "unknown mode `fire_and_foget`: did you mean `fire_and_forget`? (expected one of `sequential`, `transform`, `audit`, `concurrent`, `fire_and_forget`)"
            ]
        );
        let (_, errors) = args(quote!("x", mode = parallel));
        assert!(errors[0].starts_with("unknown mode `parallel`: expected one of `sequential`"));
    }

    #[test]
    fn other_mode_spellings_point_at_the_identifier_form() {
        let (_, errors) = args(quote!("x", mode = PluginMode::Audit));
        assert_eq!(
            errors,
            ["write the mode as a bare identifier: `mode = audit`"]
        );
        let (_, errors) = args(quote!("x", mode = "audit"));
        assert_eq!(
            errors,
            ["the mode is an identifier, not a string: write `mode = audit`"]
        );
    }

    #[test]
    fn each_mistake_in_the_arguments_is_its_own_error() {
        let (parsed, errors) = args(quote!(
            "x",
            mode = audit,
            mode = transform,
            priority = "high",
            colour = 1,
            "y"
        ));
        assert_eq!(parsed.mode, Some(Mode::Audit));
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert_eq!(errors[0], "duplicate `mode` argument");
        assert!(errors[1].starts_with("priority must be an integer literal"));
        assert!(errors[2].starts_with("unknown argument `colour` for `#[hook]`"));
        assert!(errors[3].starts_with("unexpected argument"));
    }

    #[test]
    fn a_handler_keeps_its_body_as_tokens() {
        let handler: HandlerFn = syn::parse2(quote! {
            /// Docs.
            #[allow(unused)]
            pub async fn scrub(&self, payload: &P, ctx: &C) -> R { this is not rust }
        })
        .unwrap();
        assert_eq!(handler.attrs.len(), 2);
        assert_eq!(handler.sig.ident, "scrub");
        assert!(handler.sig.asyncness.is_some());
        assert_eq!(handler.body.to_string(), "{ this is not rust }");
        let round_trip = handler.to_token_stream().to_string();
        assert!(
            round_trip.ends_with("-> R { this is not rust }"),
            "{round_trip}"
        );
    }

    #[test]
    fn hook_attributes_are_recognised_by_their_last_segment() {
        let attrs: Vec<Attribute> = syn::parse_quote! {
            #[hook("a")]
            #[mellea::hook("b")]
            #[hooks("c")]
            #[doc = "d"]
        };
        let found: Vec<bool> = attrs.iter().map(is_hook_attr).collect();
        assert_eq!(found, [true, true, false, false]);
    }
}
