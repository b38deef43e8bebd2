//! What `#[tool]` requires of its function: `async`, `Result` output, named arguments of owned
//! types, no generics.

use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Ident, Pat, PathArguments, ReturnType, Signature, Type};

use crate::common::errors::Errors;

/// One argument of the tool: its name and type, and the pattern as the user wrote it.
pub(crate) struct ToolParam {
    pub(crate) ident: Ident,
    pub(crate) pat: Pat,
    pub(crate) ty: Type,
}

/// Checks `sig`, returning the arguments (without the receiver) when it fits.
pub(crate) fn check_signature(
    sig: &Signature,
    attribute: &str,
    errors: &mut Errors,
) -> Vec<ToolParam> {
    if sig.asyncness.is_none() {
        errors.spanned(
            sig.fn_token,
            format!("`#[{attribute}]` goes on an `async fn`: its hooks wrap the function's future"),
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.spanned(
            &sig.generics,
            format!(
                "`#[{attribute}]` functions cannot be generic: their arguments and output have one JSON schema"
            ),
        );
    }
    check_result(&sig.output, attribute, errors);
    let mut params = Vec::new();
    for input in &sig.inputs {
        let FnArg::Typed(typed) = input else { continue };
        let ident = match &*typed.pat {
            Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => pat.ident.clone(),
            other => {
                errors.spanned(
                    other,
                    format!("`#[{attribute}]` arguments must be plain names (`city: String`): each becomes a field of the arguments object"),
                );
                continue;
            }
        };
        if let Type::Reference(reference) = &*typed.ty {
            errors.spanned(
                reference,
                format!(
                    "`#[{attribute}]` arguments are read from the model's JSON: take an owned type (`String`, not `&str`)"
                ),
            );
            continue;
        }
        params.push(ToolParam {
            ident,
            pat: (*typed.pat).clone(),
            ty: (*typed.ty).clone(),
        });
    }
    params
}

/// The output must be `Result<T, E>`: the hooks record success and failure.
pub(crate) fn check_result(output: &ReturnType, attribute: &str, errors: &mut Errors) {
    let bounds = if attribute == "tool" {
        "`T: Serialize + DeserializeOwned`, `E: Display + From<mellea::PluginViolation>`"
    } else {
        "`E: Display + From<mellea::PluginViolation>`"
    };
    let message = format!(
        "`#[{attribute}]` functions return `Result<T, E>` ({bounds}): the hooks record success and failure"
    );
    let ty = match output {
        ReturnType::Default => {
            errors.at(output.span(), message);
            return;
        }
        ReturnType::Type(_, ty) => ty,
    };
    let is_result = match &**ty {
        Type::Path(path) => path.path.segments.last().is_some_and(|last| {
            last.ident == "Result"
                && matches!(&last.arguments, PathArguments::AngleBracketed(args)
                    if args.args.iter().filter(|a| matches!(a, GenericArgument::Type(_))).count() == 2)
        }),
        _ => false,
    };
    if !is_result {
        errors.spanned(ty, message);
    }
}
