//! Parsing of `#[backend(...)]` and `#[generation_hook(...)]` arguments.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::{Ident, LitBool, LitStr};

/// Arguments of `#[backend(provider = "...", remote = bool)]`.
pub(crate) struct BackendArgs {
    /// The provider name spans and hooks report (`gen_ai.provider.name`).
    pub(crate) provider: LitStr,
    /// Overrides whether the backend is remote; by default it is iff it declares a server.
    pub(crate) remote: Option<LitBool>,
}

pub(crate) fn backend_args(args: TokenStream) -> syn::Result<BackendArgs> {
    let mut provider: Option<LitStr> = None;
    let mut remote: Option<LitBool> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("provider") {
            if provider.is_some() {
                return Err(meta.error("`provider` is given twice"));
            }
            let value: LitStr = meta.value()?.parse().map_err(|e| {
                syn::Error::new(e.span(), "expected a string: `provider = \"openai\"`")
            })?;
            if value.value().trim().is_empty() {
                return Err(syn::Error::new(
                    value.span(),
                    "the provider name must not be empty, e.g. `provider = \"openai\"`",
                ));
            }
            provider = Some(value);
            Ok(())
        } else if meta.path.is_ident("remote") {
            if remote.is_some() {
                return Err(meta.error("`remote` is given twice"));
            }
            let value: LitBool = meta.value()?.parse().map_err(|e| {
                syn::Error::new(e.span(), "expected `remote = true` or `remote = false`")
            })?;
            remote = Some(value);
            Ok(())
        } else {
            Err(meta.error(
                "unknown `#[backend]` argument; expected `provider = \"...\"` or `remote = true|false`",
            ))
        }
    });
    parser.parse2(args)?;
    let provider = provider.ok_or_else(|| {
        syn::Error::new(
            Span::call_site(),
            "`#[backend]` needs the provider name: `#[backend(provider = \"openai\")]`",
        )
    })?;
    Ok(BackendArgs { provider, remote })
}

/// What a `#[generation_hook(...)]` method is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PathKind {
    /// One chat completion.
    Chat,
    /// Several prompts in one call.
    Batch,
    /// A chat completion whose answer is a stream of chunks.
    Stream,
}

const KINDS: &str = "`chat`, `batch` or `stream`";

pub(crate) fn generation_hook_args(args: TokenStream, attr_span: Span) -> syn::Result<PathKind> {
    if args.is_empty() {
        return Err(syn::Error::new(
            attr_span,
            format!(
                "`#[generation_hook]` needs the kind of generation: {KINDS}, e.g. `#[generation_hook(chat)]`"
            ),
        ));
    }
    let kind: Ident = syn::parse2(args.clone())
        .map_err(|_| syn::Error::new_spanned(&args, format!("expected one of {KINDS}")))?;
    match kind.to_string().as_str() {
        "chat" => Ok(PathKind::Chat),
        "batch" => Ok(PathKind::Batch),
        "stream" => Ok(PathKind::Stream),
        other => Err(syn::Error::new(
            kind.span(),
            format!("unknown generation kind `{other}`; expected {KINDS}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn provider_and_remote_are_read() {
        let args = backend_args(quote!(provider = "openai", remote = false)).unwrap();
        assert_eq!(args.provider.value(), "openai");
        assert!(!args.remote.unwrap().value);
    }

    #[test]
    fn remote_is_optional() {
        let args = backend_args(quote!(provider = "ollama")).unwrap();
        assert!(args.remote.is_none());
    }

    #[test]
    fn a_missing_provider_is_an_error_that_shows_the_syntax() {
        let err = backend_args(quote!(remote = true)).err().unwrap();
        assert!(
            err.to_string().contains("provider = \\\"openai\\\"")
                || err.to_string().contains("provider = \"openai\"")
        );
    }

    #[test]
    fn unknown_duplicate_and_mistyped_arguments_are_errors() {
        for (args, needle) in [
            (
                quote!(provider = "a", model = "b"),
                "unknown `#[backend]` argument",
            ),
            (quote!(provider = "a", provider = "b"), "given twice"),
            (quote!(provider = openai), "expected a string"),
            (quote!(provider = ""), "must not be empty"),
            (quote!(provider = "a", remote = "yes"), "remote = true"),
        ] {
            let err = backend_args(args).err().expect("should fail");
            assert!(
                err.to_string().contains(needle),
                "{err} should mention {needle}"
            );
        }
    }

    #[test]
    fn the_three_kinds_parse_and_others_do_not() {
        let span = Span::call_site();
        assert_eq!(
            generation_hook_args(quote!(chat), span).unwrap(),
            PathKind::Chat
        );
        assert_eq!(
            generation_hook_args(quote!(batch), span).unwrap(),
            PathKind::Batch
        );
        assert_eq!(
            generation_hook_args(quote!(stream), span).unwrap(),
            PathKind::Stream
        );
        assert!(
            generation_hook_args(quote!(chta), span)
                .err()
                .unwrap()
                .to_string()
                .contains("unknown generation kind `chta`")
        );
        assert!(
            generation_hook_args(quote!(), span)
                .err()
                .unwrap()
                .to_string()
                .contains("needs the kind")
        );
        assert!(generation_hook_args(quote!(chat, batch), span).is_err());
    }
}
