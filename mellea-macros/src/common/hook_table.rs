//! The hook names `#[hook("...")]` accepts, and the runtime types each one stands for.
//!
//! This mirrors the runtime's `for_each_hook!` table (a proc-macro crate cannot read another
//! crate's items). The facade test `tests/hook_table.rs` expands `__hook_table!()` and checks,
//! at compile time and at run time, that every row names the runtime's marker, payload and
//! patch types and that the names equal `HookType::ALL` in order.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote_spanned};

/// One hook: its wire name and the names of its types in `mellea::hooks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HookRow {
    /// Wire name, e.g. `generation_pre_call`.
    pub(crate) name: &'static str,
    /// Marker type implementing `Hook`, e.g. `GenerationPreCall`.
    pub(crate) marker: &'static str,
    /// Payload type, e.g. `GenerationPreCallPayload`.
    pub(crate) payload: &'static str,
    /// Patch type for the nine writable hooks; `None` for observe-only hooks (`NoPatch`).
    pub(crate) patch: Option<&'static str>,
}

const fn row(
    name: &'static str,
    marker: &'static str,
    payload: &'static str,
    patch: Option<&'static str>,
) -> HookRow {
    HookRow {
        name,
        marker,
        payload,
        patch,
    }
}

/// Every hook, in the runtime's declaration order.
pub(crate) const HOOKS: [HookRow; 27] = [
    row(
        "session_pre_init",
        "SessionPreInit",
        "SessionPreInitPayload",
        Some("SessionPreInitPatch"),
    ),
    row(
        "session_post_init",
        "SessionPostInit",
        "SessionPostInitPayload",
        None,
    ),
    row("session_reset", "SessionReset", "SessionResetPayload", None),
    row(
        "session_cleanup",
        "SessionCleanup",
        "SessionCleanupPayload",
        None,
    ),
    row(
        "component_pre_execute",
        "ComponentPreExecute",
        "ComponentPreExecutePayload",
        Some("ComponentPreExecutePatch"),
    ),
    row(
        "component_post_success",
        "ComponentPostSuccess",
        "ComponentPostSuccessPayload",
        None,
    ),
    row(
        "component_post_error",
        "ComponentPostError",
        "ComponentPostErrorPayload",
        None,
    ),
    row(
        "generation_pre_call",
        "GenerationPreCall",
        "GenerationPreCallPayload",
        Some("GenerationPreCallPatch"),
    ),
    row(
        "generation_post_call",
        "GenerationPostCall",
        "GenerationPostCallPayload",
        None,
    ),
    row(
        "generation_error",
        "GenerationError",
        "GenerationErrorPayload",
        None,
    ),
    row(
        "generation_event",
        "GenerationEvent",
        "GenerationEventPayload",
        None,
    ),
    row(
        "generation_batch_pre_call",
        "GenerationBatchPreCall",
        "GenerationBatchPreCallPayload",
        Some("GenerationBatchPreCallPatch"),
    ),
    row(
        "generation_batch_post_call",
        "GenerationBatchPostCall",
        "GenerationBatchPostCallPayload",
        None,
    ),
    row(
        "generation_batch_error",
        "GenerationBatchError",
        "GenerationBatchErrorPayload",
        None,
    ),
    row(
        "validation_pre_check",
        "ValidationPreCheck",
        "ValidationPreCheckPayload",
        Some("ValidationPreCheckPatch"),
    ),
    row(
        "validation_post_check",
        "ValidationPostCheck",
        "ValidationPostCheckPayload",
        Some("ValidationPostCheckPatch"),
    ),
    row(
        "sampling_loop_start",
        "SamplingLoopStart",
        "SamplingLoopStartPayload",
        Some("SamplingLoopStartPatch"),
    ),
    row(
        "sampling_iteration",
        "SamplingIteration",
        "SamplingIterationPayload",
        None,
    ),
    row(
        "sampling_repair",
        "SamplingRepair",
        "SamplingRepairPayload",
        None,
    ),
    row(
        "sampling_loop_end",
        "SamplingLoopEnd",
        "SamplingLoopEndPayload",
        None,
    ),
    row(
        "tool_pre_invoke",
        "ToolPreInvoke",
        "ToolPreInvokePayload",
        Some("ToolPreInvokePatch"),
    ),
    row(
        "tool_post_invoke",
        "ToolPostInvoke",
        "ToolPostInvokePayload",
        Some("ToolPostInvokePatch"),
    ),
    row(
        "adapter_function_phase_complete",
        "AdapterFunctionPhaseComplete",
        "AdapterFunctionPhaseCompletePayload",
        None,
    ),
    row(
        "adapter_function_invocation_complete",
        "AdapterFunctionInvocationComplete",
        "AdapterFunctionInvocationCompletePayload",
        None,
    ),
    row(
        "streaming_start",
        "StreamingStart",
        "StreamingStartPayload",
        None,
    ),
    row(
        "streaming_event",
        "StreamingEvent",
        "StreamingEventPayload",
        None,
    ),
    row("streaming_end", "StreamingEnd", "StreamingEndPayload", None),
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

/// `::mellea::__private::hooks::<name>` with every token at `span`.
fn hooks_path(name: &str, span: Span) -> TokenStream {
    let ident = format_ident!("{}", name, span = span);
    quote_spanned!(span=> ::mellea::__private::hooks::#ident)
}

impl HookRow {
    pub(crate) fn is_writable(&self) -> bool {
        self.patch.is_some()
    }

    pub(crate) fn marker_path(&self, span: Span) -> TokenStream {
        hooks_path(self.marker, span)
    }

    pub(crate) fn payload_path(&self, span: Span) -> TokenStream {
        hooks_path(self.payload, span)
    }

    pub(crate) fn patch_path(&self, span: Span) -> TokenStream {
        hooks_path(self.patch.unwrap_or("NoPatch"), span)
    }

    /// How the payload parameter is written, e.g. `payload: &GenerationPreCallPayload`.
    pub(crate) fn payload_param(&self) -> String {
        format!("payload: &{}", self.payload)
    }

    /// How the return type is written, e.g. `HookResult<GenerationPreCallPatch>` or
    /// `HookResult`.
    pub(crate) fn return_type(&self) -> String {
        match self.patch {
            Some(patch) => format!("HookResult<{patch}>"),
            None => "HookResult".to_owned(),
        }
    }
}

/// `__hook_table!()`: the table as `[(&str, HookType); 27]`, plus compile-time proof that each
/// row's payload and patch are its marker's `Hook::Payload` and `Hook::Patch`.
pub(crate) fn expand_table(input: TokenStream) -> TokenStream {
    if !input.is_empty() {
        return syn::Error::new_spanned(input, "`__hook_table!` takes no arguments")
            .to_compile_error();
    }
    let span = Span::call_site();
    let rows = HOOKS.iter().map(|row| {
        let name = row.name;
        let marker = row.marker_path(span);
        quote_spanned!(span=> (#name, <#marker as ::mellea::__private::Hook>::TYPE))
    });
    let type_checks = HOOKS.iter().map(|row| {
        let marker = row.marker_path(span);
        let payload = row.payload_path(span);
        let patch = row.patch_path(span);
        quote_spanned! {span=>
            let _: fn(<#marker as ::mellea::__private::Hook>::Payload) -> #payload = |same| same;
            let _: fn(<#marker as ::mellea::__private::Hook>::Patch) -> #patch = |same| same;
        }
    });
    quote_spanned! {span=>
        {
            let _types_agree = || {
                #(#type_checks)*
            };
            [#(#rows),*]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_markers_and_payloads_are_unique() {
        let names: BTreeSet<_> = HOOKS.iter().map(|r| r.name).collect();
        let markers: BTreeSet<_> = HOOKS.iter().map(|r| r.marker).collect();
        let payloads: BTreeSet<_> = HOOKS.iter().map(|r| r.payload).collect();
        assert_eq!(names.len(), HOOKS.len());
        assert_eq!(markers.len(), HOOKS.len());
        assert_eq!(payloads.len(), HOOKS.len());
    }

    #[test]
    fn each_row_is_named_after_its_marker() {
        for row in HOOKS {
            let camel: String = row
                .name
                .split('_')
                .map(|word| word[..1].to_uppercase() + &word[1..])
                .collect();
            assert_eq!(camel, row.marker, "{}", row.name);
            assert_eq!(format!("{camel}Payload"), row.payload);
            if let Some(patch) = row.patch {
                assert_eq!(format!("{camel}Patch"), patch);
            }
        }
    }

    #[test]
    fn nine_hooks_are_writable() {
        assert_eq!(HOOKS.iter().filter(|r| r.is_writable()).count(), 9);
        assert_eq!(
            lookup("generation_post_call").map(HookRow::return_type),
            Some("HookResult".to_owned())
        );
        assert_eq!(
            lookup("generation_pre_call").map(HookRow::return_type),
            Some("HookResult<GenerationPreCallPatch>".to_owned())
        );
    }
}
