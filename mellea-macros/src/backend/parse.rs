//! Parsing of `#[backend(...)]` and `#[generation_hook(...)]` arguments, with the argument
//! syntax, errors and suggestions shared with `#[plugin]` / `#[hook]` (`crate::common`).

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::{Expr, Lit, LitBool, LitStr};

use crate::common::args::{Arg, parse_args, set_once, str_value, ungrouped, unknown_key};
use crate::common::crate_path::{CratePath, crate_value};
use crate::common::errors::Errors;
use crate::common::keyword::Keywords;

/// Arguments of `#[backend(provider = "...", remote = bool, crate = path)]`. A field is `None`
/// when it was not given or was invalid (the error is recorded separately).
#[derive(Default)]
pub(crate) struct BackendArgs {
    /// The provider name spans and hooks report (`gen_ai.provider.name`).
    pub(crate) provider: Option<LitStr>,
    /// Overrides whether the backend is remote; by default it is iff it declares a server.
    pub(crate) remote: Option<LitBool>,
    /// Where the expansion finds mellea.
    pub(crate) krate: Option<CratePath>,
}

const BACKEND_KEYS: [&str; 3] = ["provider", "remote", "crate"];

/// Parses the arguments of `#[backend(...)]`, recording every mistake.
pub(crate) fn backend_args(tokens: TokenStream, errors: &mut Errors) -> BackendArgs {
    let mut parsed = BackendArgs::default();
    let Some(args) = errors.record(parse_args(tokens)) else {
        return parsed;
    };
    let mut provider_given = false;
    for arg in &args {
        match arg {
            Arg::Named { key, value } if key == "provider" => {
                provider_given = true;
                let provider = provider_value(value, errors);
                set_once(&mut parsed.provider, key, provider, errors);
            }
            Arg::Named { key, value } if key == "remote" => {
                let remote = remote_value(value, errors);
                set_once(&mut parsed.remote, key, remote, errors);
            }
            Arg::Named { key, value } if key == "crate" => {
                let krate = crate_value(value, errors);
                set_once(&mut parsed.krate, key, krate, errors);
            }
            Arg::Named { key, .. } => {
                // `provdier = "x"` is one mistake: the misspelling, not also a missing provider.
                provider_given |=
                    unknown_key(key, "backend", &BACKEND_KEYS, errors) == Some("provider");
            }
            Arg::Positional(value) => {
                let message = match str_value(value) {
                    Some(name) => format!(
                        "name the provider with a key: `#[backend(provider = {:?})]`",
                        name.value()
                    ),
                    None => "unexpected argument: `#[backend]` takes `provider = \"...\"`, `remote = true|false` and `crate = path`".to_owned(),
                };
                provider_given |= str_value(value).is_some();
                errors.spanned(value, message);
            }
        }
    }
    if !provider_given {
        errors.at(
            Span::call_site(),
            "`#[backend]` needs the provider name: `#[backend(provider = \"openai\")]`",
        );
    }
    parsed
}

fn provider_value(value: &Expr, errors: &mut Errors) -> Option<LitStr> {
    match str_value(value) {
        Some(name) if name.value().trim().is_empty() => {
            errors.spanned(
                name,
                "the provider name must not be empty, e.g. `provider = \"openai\"`",
            );
            None
        }
        Some(name) => Some(name.clone()),
        None => {
            errors.spanned(value, "expected a string: `provider = \"openai\"`");
            None
        }
    }
}

fn remote_value(value: &Expr, errors: &mut Errors) -> Option<LitBool> {
    if let Expr::Lit(lit) = ungrouped(value)
        && let Lit::Bool(remote) = &lit.lit
    {
        return Some(remote.clone());
    }
    errors.spanned(value, "expected `remote = true` or `remote = false`");
    None
}

/// The runtime's `GenerationKind`, under the same name: which hooks a generation fires and its
/// GenAI operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GenerationKind {
    /// One chat completion, plain or streamed.
    Chat,
    /// Several prompts in one call.
    Batch,
}

impl GenerationKind {
    /// The runtime variant's name.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            GenerationKind::Chat => "Chat",
            GenerationKind::Batch => "Batch",
        }
    }
}

/// What `#[generation_hook(chat | stream | batch)]` says a method is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GenerationHook {
    pub(crate) kind: GenerationKind,
    /// Whether the answer is a stream of chunks (a chat generation that ends with its stream).
    pub(crate) streamed: bool,
}

const CHAT: GenerationHook = GenerationHook {
    kind: GenerationKind::Chat,
    streamed: false,
};
const STREAM: GenerationHook = GenerationHook {
    kind: GenerationKind::Chat,
    streamed: true,
};
const BATCH: GenerationHook = GenerationHook {
    kind: GenerationKind::Batch,
    streamed: false,
};

/// The spellings of `#[generation_hook(...)]`.
pub(crate) const GENERATION_HOOKS: Keywords<GenerationHook> = Keywords {
    form: "#[generation_hook({})]",
    what: "generation kind",
    values: &[("chat", CHAT), ("batch", BATCH), ("stream", STREAM)],
    meaning: None,
};

/// Parses the arguments of one `#[generation_hook(...)]`; `attribute` is what a missing kind is
/// reported on.
pub(crate) fn generation_hook_args(
    tokens: TokenStream,
    attribute: &dyn ToTokens,
    errors: &mut Errors,
) -> Option<GenerationHook> {
    let args = errors.record(parse_args(tokens))?;
    let mut found: Option<GenerationHook> = None;
    let mut kind_seen = false;
    for (index, arg) in args.iter().enumerate() {
        match arg {
            Arg::Positional(value) if index == 0 => {
                kind_seen = true;
                found = GENERATION_HOOKS.parse(value, errors);
            }
            Arg::Positional(value) => errors.spanned(
                value,
                format!(
                    "a method is one kind of generation: keep one of {}",
                    GENERATION_HOOKS.spellings()
                ),
            ),
            Arg::Named { key, .. } if key == "crate" => errors.spanned(
                key,
                "`crate` is set once for the whole impl: write it on `#[backend(provider = \"...\", crate = path)]`",
            ),
            Arg::Named { key, .. } => errors.spanned(
                key,
                format!(
                    "unknown argument `{key}` for `#[generation_hook]`: it takes only the kind of generation, one of {}",
                    GENERATION_HOOKS.spellings()
                ),
            ),
        }
    }
    if !kind_seen {
        errors.spanned(
            attribute,
            format!(
                "`#[generation_hook]` needs the kind of generation, one of {}: e.g. `#[generation_hook(chat)]`",
                GENERATION_HOOKS.spellings()
            ),
        );
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn backend(tokens: TokenStream) -> (BackendArgs, Vec<String>) {
        let mut errors = Errors::new();
        let args = backend_args(tokens, &mut errors);
        (args, errors.messages())
    }

    fn kind(tokens: TokenStream) -> (Option<GenerationHook>, Vec<String>) {
        let mut errors = Errors::new();
        let found = generation_hook_args(tokens, &TokenStream::new(), &mut errors);
        (found, errors.messages())
    }

    #[test]
    fn provider_remote_and_crate_are_read() {
        let (args, errors) = backend(quote!(provider = "openai", remote = false, crate = ::m));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(args.provider.unwrap().value(), "openai");
        assert!(!args.remote.unwrap().value);
        assert!(args.krate.is_some());
    }

    #[test]
    fn remote_and_crate_are_optional() {
        let (args, errors) = backend(quote!(provider = "ollama"));
        assert!(errors.is_empty());
        assert!(args.remote.is_none() && args.krate.is_none());
    }

    #[test]
    fn a_missing_provider_is_an_error_that_shows_the_syntax() {
        let (_, errors) = backend(quote!(remote = true));
        assert_eq!(
            errors,
            ["`#[backend]` needs the provider name: `#[backend(provider = \"openai\")]`"]
        );
    }

    #[test]
    fn every_mistake_is_reported_not_only_the_first() {
        let (_, errors) = backend(quote!(
            provider = "a",
            provider = "b",
            remote = "yes",
            stream = true,
            provdier = "x",
            crate = 1
        ));
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert_eq!(errors[0], "duplicate `provider` argument");
        assert!(errors[1].contains("remote = true"));
        assert!(errors[2].starts_with("unknown argument `stream` for `#[backend]`"));
        assert!(
            errors[3].contains("did you mean `provider`?"),
            "{}",
            errors[3]
        );
        assert!(errors[4].contains("path to the mellea crate"));
        let (_, errors) = backend(quote!(provder = "openai"));
        assert_eq!(
            errors.len(),
            1,
            "a misspelt provider is not also missing: {errors:?}"
        );
        let (_, errors) = backend(quote!(provider = " "));
        assert!(errors[0].contains("must not be empty"));
    }

    #[test]
    fn a_bare_string_is_told_to_use_the_provider_key() {
        let (_, errors) = backend(quote!("openai"));
        assert_eq!(
            errors,
            ["name the provider with a key: `#[backend(provider = \"openai\")]`"]
        );
    }

    #[test]
    fn the_three_kinds_parse() {
        assert_eq!(kind(quote!(chat)), (Some(CHAT), vec![]));
        assert_eq!(kind(quote!(batch)), (Some(BATCH), vec![]));
        assert_eq!(kind(quote!(stream)), (Some(STREAM), vec![]));
    }

    #[test]
    fn a_misspelt_kind_suggests_the_nearest() {
        let (found, errors) = kind(quote!(strem));
        assert_eq!(found, None);
        assert_eq!(
            errors,
            [
                "unknown generation kind `strem`: did you mean `stream`? (expected one of `chat`, `batch`, `stream`)"
            ]
        );
        let (_, errors) = kind(quote!("chat"));
        assert_eq!(
            errors,
            [
                "the generation kind is an identifier, not a string: write `#[generation_hook(chat)]`"
            ]
        );
    }

    #[test]
    fn a_missing_or_second_kind_and_a_crate_are_errors() {
        assert!(kind(quote!()).1[0].contains("needs the kind"));
        assert!(kind(quote!(chat, batch)).1[0].contains("one kind of generation"));
        assert!(kind(quote!(chat, crate = ::m)).1[0].contains("set once for the whole impl"));
    }
}
