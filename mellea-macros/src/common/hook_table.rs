//! The hook table: every hook's family, name and whether it is writable, written once.
//!
//! Everything else about a hook follows from its row. The macros read the rows directly (to
//! resolve `#[hook("...")]`, suggest near misses and name the expected types), and the runtime
//! builds its `HookType` enum, marker types and `HOOK_COUNT` from the same rows through
//! [`expand_for_each_hook`] (`mellea_macros::__for_each_hook!`), so there is no second copy to
//! keep in step.
//!
//! Type names are derived, not stored: the hook `generation_pre_call` has the marker
//! `GenerationPreCall`, the payload `GenerationPreCallPayload` and, when writable, the patch
//! `GenerationPreCallPatch` (otherwise `NoPatch`). A payload or patch type that does not exist
//! under its derived name fails the runtime's own build.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::crate_path::CratePath;

/// One hook: its family (the `hooks` module it is defined in), its wire name and whether its
/// handlers may return a patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HookRow {
    /// The family, e.g. `generation`: the runtime module `hooks::<family>` holding its types.
    pub(crate) family: &'static str,
    /// Wire name, e.g. `generation_pre_call`.
    pub(crate) name: &'static str,
    /// Whether handlers may patch the payload (the nine writable hooks of the reference).
    pub(crate) writable: bool,
}

const WRITABLE: bool = true;
const OBSERVE: bool = false;

const fn row(family: &'static str, name: &'static str, writable: bool) -> HookRow {
    HookRow {
        family,
        name,
        writable,
    }
}

/// Every hook, in declaration order (the order of `HookType::ALL` and of its bits).
#[rustfmt::skip]
pub(crate) const HOOKS: [HookRow; 27] = [
    row("session",          "session_pre_init",                     WRITABLE),
    row("session",          "session_post_init",                    OBSERVE),
    row("session",          "session_reset",                        OBSERVE),
    row("session",          "session_cleanup",                      OBSERVE),
    row("component",        "component_pre_execute",                WRITABLE),
    row("component",        "component_post_success",               OBSERVE),
    row("component",        "component_post_error",                 OBSERVE),
    row("generation",       "generation_pre_call",                  WRITABLE),
    row("generation",       "generation_post_call",                 OBSERVE),
    row("generation",       "generation_error",                     OBSERVE),
    row("generation",       "generation_event",                     OBSERVE),
    row("generation",       "generation_batch_pre_call",            WRITABLE),
    row("generation",       "generation_batch_post_call",           OBSERVE),
    row("generation",       "generation_batch_error",               OBSERVE),
    row("validation",       "validation_pre_check",                 WRITABLE),
    row("validation",       "validation_post_check",                WRITABLE),
    row("sampling",         "sampling_loop_start",                  WRITABLE),
    row("sampling",         "sampling_iteration",                   OBSERVE),
    row("sampling",         "sampling_repair",                      OBSERVE),
    row("sampling",         "sampling_loop_end",                    OBSERVE),
    row("tool",             "tool_pre_invoke",                      WRITABLE),
    row("tool",             "tool_post_invoke",                     WRITABLE),
    row("adapter_function", "adapter_function_phase_complete",      OBSERVE),
    row("adapter_function", "adapter_function_invocation_complete", OBSERVE),
    row("streaming",        "streaming_start",                      OBSERVE),
    row("streaming",        "streaming_event",                      OBSERVE),
    row("streaming",        "streaming_end",                        OBSERVE),
];

/// The row of the hook named `name`.
pub(crate) fn lookup(name: &str) -> Option<&'static HookRow> {
    HOOKS.iter().find(|row| row.name == name)
}

/// Every hook name, comma-separated (for error messages).
pub(crate) fn all_names() -> String {
    HOOKS
        .iter()
        .map(|row| row.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `snake_case` to `CamelCase`.
fn camel(name: &str) -> String {
    name.split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

impl HookRow {
    /// Marker type implementing `Hook`, e.g. `GenerationPreCall`.
    pub(crate) fn marker(&self) -> String {
        camel(self.name)
    }

    /// Payload type, e.g. `GenerationPreCallPayload`.
    pub(crate) fn payload(&self) -> String {
        format!("{}Payload", self.marker())
    }

    /// Patch type: `GenerationPreCallPatch` for a writable hook, `NoPatch` otherwise.
    pub(crate) fn patch(&self) -> String {
        if self.writable {
            format!("{}Patch", self.marker())
        } else {
            "NoPatch".to_owned()
        }
    }

    pub(crate) fn marker_path(&self, krate: &CratePath, span: Span) -> TokenStream {
        hooks_path(krate, &self.marker(), span)
    }

    pub(crate) fn payload_path(&self, krate: &CratePath, span: Span) -> TokenStream {
        hooks_path(krate, &self.payload(), span)
    }

    pub(crate) fn patch_path(&self, krate: &CratePath, span: Span) -> TokenStream {
        hooks_path(krate, &self.patch(), span)
    }

    /// How the payload parameter is written, e.g. `payload: &GenerationPreCallPayload`.
    pub(crate) fn payload_param(&self) -> String {
        format!("payload: &{}", self.payload())
    }

    /// How the return type is written, e.g. `HookResult<GenerationPreCallPatch>` or
    /// `HookResult`.
    pub(crate) fn return_type(&self) -> String {
        if self.writable {
            format!("HookResult<{}>", self.patch())
        } else {
            "HookResult".to_owned()
        }
    }
}

/// `<crate>::__private::hooks::<name>` with the type name at `span`.
fn hooks_path(krate: &CratePath, name: &str, span: Span) -> TokenStream {
    let ident = Ident::new(name, span);
    let private = krate.private(span);
    quote_spanned!(span=> #private::hooks::#ident)
}

/// `__for_each_hook!(callback)`: invokes `callback!` once with every row, as
/// `(family, Marker, "name", Payload, Patch)`, for the runtime to define its hook types from.
pub(crate) fn expand_for_each_hook(input: TokenStream) -> TokenStream {
    let callback: Ident = match syn::parse2(input) {
        Ok(callback) => callback,
        Err(error) => {
            return syn::Error::new(
                error.span(),
                "`__for_each_hook!` takes the name of a macro to call with the hook rows",
            )
            .to_compile_error();
        }
    };
    let rows = HOOKS.iter().map(|row| {
        let family = format_ident!("{}", row.family);
        let marker = format_ident!("{}", row.marker());
        let name = row.name;
        let payload = format_ident!("{}", row.payload());
        let patch = format_ident!("{}", row.patch());
        quote!((#family, #marker, #name, #payload, #patch))
    });
    quote!(#callback! { #(#rows),* })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_are_unique_and_start_with_their_family() {
        let names: BTreeSet<_> = HOOKS.iter().map(|r| r.name).collect();
        assert_eq!(names.len(), HOOKS.len());
        for row in HOOKS {
            assert!(row.name.starts_with(&format!("{}_", row.family)), "{row:?}");
        }
    }

    #[test]
    fn type_names_follow_the_hook_name() {
        let row = lookup("adapter_function_phase_complete").unwrap();
        assert_eq!(row.marker(), "AdapterFunctionPhaseComplete");
        assert_eq!(row.payload(), "AdapterFunctionPhaseCompletePayload");
        assert_eq!(row.patch(), "NoPatch");
        assert_eq!(
            lookup("tool_post_invoke").unwrap().patch(),
            "ToolPostInvokePatch"
        );
    }

    #[test]
    fn nine_hooks_are_writable() {
        assert_eq!(HOOKS.iter().filter(|r| r.writable).count(), 9);
        assert_eq!(
            lookup("generation_post_call").map(HookRow::return_type),
            Some("HookResult".to_owned())
        );
        assert_eq!(
            lookup("generation_pre_call").map(HookRow::return_type),
            Some("HookResult<GenerationPreCallPatch>".to_owned())
        );
    }

    #[test]
    fn for_each_hook_calls_back_with_every_row_in_order() {
        let output = expand_for_each_hook(quote!(define)).to_string();
        assert!(output.starts_with("define ! {"), "{output}");
        assert!(output.contains(
            "(session , SessionPreInit , \"session_pre_init\" , SessionPreInitPayload , SessionPreInitPatch)"
        ));
        assert!(output.contains(
            "(streaming , StreamingEnd , \"streaming_end\" , StreamingEndPayload , NoPatch)"
        ));
        assert_eq!(output.matches(") ,").count(), HOOKS.len() - 1);
    }
}
