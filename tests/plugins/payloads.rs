//! Hook types, payload defaults and the write policy in the types.
//!
//! Ports the `[pay]`, `[polt]` and `[pol]` cases of `mellea-plugins.md` §9 and the hook table
//! of §3. Where the reference checks at run time (frozen payloads, dropped writes to
//! non-writable fields), the Rust types rule the mistake out; the `assert_*` helpers below
//! make that a compile-time check.

use std::time::{Duration, SystemTime};

use mellea::PluginViolation;
use mellea::hooks::*;
use mellea::plugin::{HookAction, HookResult, Violation};

/// The 27 hook names of the reference (HEAD), in its order.
const REFERENCE_HOOKS: [&str; 27] = [
    "session_pre_init",
    "session_post_init",
    "session_reset",
    "session_cleanup",
    "component_pre_execute",
    "component_post_success",
    "component_post_error",
    "generation_pre_call",
    "generation_post_call",
    "generation_error",
    "generation_event",
    "generation_batch_pre_call",
    "generation_batch_post_call",
    "generation_batch_error",
    "validation_pre_check",
    "validation_post_check",
    "sampling_loop_start",
    "sampling_iteration",
    "sampling_repair",
    "sampling_loop_end",
    "tool_pre_invoke",
    "tool_post_invoke",
    "adapter_function_phase_complete",
    "adapter_function_invocation_complete",
    "streaming_start",
    "streaming_event",
    "streaming_end",
];

// ---------------------------------------------------------------------------------------------
// Hook types

#[test]
fn hook_types_are_exactly_the_27_of_the_reference() {
    let names: Vec<&str> = HookType::ALL.iter().map(|hook| hook.as_str()).collect();

    assert_eq!(names, REFERENCE_HOOKS);
}

#[test]
fn every_hook_type_parses_from_and_displays_as_its_name() {
    for name in REFERENCE_HOOKS {
        let hook: HookType = name.parse().unwrap();
        assert_eq!(hook.to_string(), name);
    }
}

#[test]
fn unknown_hook_name_is_an_error_that_names_it() {
    let error = "not_a_real_hook".parse::<HookType>().unwrap_err();

    assert_eq!(error.name, "not_a_real_hook");
    assert!(error.to_string().contains("`not_a_real_hook`"));
}

#[test]
fn marker_types_tie_each_name_to_its_hook_type() {
    assert_eq!(SessionPreInit::TYPE, HookType::SessionPreInit);
    assert_eq!(GenerationPreCall::TYPE.as_str(), "generation_pre_call");
    assert_eq!(StreamingEnd::TYPE.as_str(), "streaming_end");
    assert_eq!(
        AdapterFunctionInvocationComplete::TYPE.as_str(),
        "adapter_function_invocation_complete"
    );
}

#[test]
fn hook_masks_group_the_generation_hooks() {
    for hook in HookType::ALL {
        let chat = matches!(
            hook,
            HookType::GenerationPreCall
                | HookType::GenerationPostCall
                | HookType::GenerationError
                | HookType::GenerationEvent
        );
        let batch = matches!(
            hook,
            HookType::GenerationBatchPreCall
                | HookType::GenerationBatchPostCall
                | HookType::GenerationBatchError
        );
        assert_eq!(HookMask::CHAT_GENERATION.contains(hook), chat, "{hook}");
        assert_eq!(HookMask::BATCH_GENERATION.contains(hook), batch, "{hook}");
        assert!(!HookMask::EMPTY.contains(hook));
    }
}

// ---------------------------------------------------------------------------------------------
// Write policy ([polt], [pol])

/// Compiles only if hook `H` accepts no patch at all.
fn assert_observe_only<H: Hook<Patch = NoPatch>>() {
    assert!(!H::WRITABLE, "{}", H::TYPE);
    assert!(!H::TYPE.is_writable());
}

/// Compiles only if `P` is the patch type of hook `H`.
fn assert_patch_type<H: Hook<Patch = P>, P: Patch<H::Payload>>() {
    assert!(H::WRITABLE, "{}", H::TYPE);
    assert!(H::TYPE.is_writable());
}

#[test]
fn observe_only_hooks_accept_no_patch() {
    assert_observe_only::<SessionPostInit>();
    assert_observe_only::<SessionReset>();
    assert_observe_only::<SessionCleanup>();
    assert_observe_only::<ComponentPostSuccess>();
    assert_observe_only::<ComponentPostError>();
    assert_observe_only::<GenerationPostCall>();
    assert_observe_only::<GenerationError>();
    assert_observe_only::<GenerationEvent>();
    assert_observe_only::<GenerationBatchPostCall>();
    assert_observe_only::<GenerationBatchError>();
    assert_observe_only::<SamplingIteration>();
    assert_observe_only::<SamplingRepair>();
    assert_observe_only::<SamplingLoopEnd>();
    assert_observe_only::<AdapterFunctionPhaseComplete>();
    assert_observe_only::<AdapterFunctionInvocationComplete>();
    assert_observe_only::<StreamingStart>();
    assert_observe_only::<StreamingEvent>();
    assert_observe_only::<StreamingEnd>();
}

#[test]
fn observe_only_handlers_can_only_continue_or_block() {
    // `NoPatch` has no values, so `HookAction::Modify` cannot be built for these hooks.
    fn handle(_payload: &ComponentPostErrorPayload) -> HookResult {
        Ok(HookAction::Block(Violation::new(
            "observe-only hooks may still block",
        )))
    }
    let action = handle(&ComponentPostErrorPayload::default()).unwrap();

    assert!(matches!(action, HookAction::Block(_)));
}

#[test]
fn exactly_the_nine_reference_hooks_are_writable() {
    assert_patch_type::<SessionPreInit, SessionPreInitPatch>();
    assert_patch_type::<ComponentPreExecute, ComponentPreExecutePatch>();
    assert_patch_type::<GenerationPreCall, GenerationPreCallPatch>();
    assert_patch_type::<GenerationBatchPreCall, GenerationBatchPreCallPatch>();
    assert_patch_type::<ValidationPreCheck, ValidationPreCheckPatch>();
    assert_patch_type::<ValidationPostCheck, ValidationPostCheckPatch>();
    assert_patch_type::<SamplingLoopStart, SamplingLoopStartPatch>();
    assert_patch_type::<ToolPreInvoke, ToolPreInvokePatch>();
    assert_patch_type::<ToolPostInvoke, ToolPostInvokePatch>();

    let writable: Vec<&str> = HookType::ALL
        .iter()
        .filter(|hook| hook.is_writable())
        .map(|hook| hook.as_str())
        .collect();
    assert_eq!(
        writable,
        [
            "session_pre_init",
            "component_pre_execute",
            "generation_pre_call",
            "generation_batch_pre_call",
            "validation_pre_check",
            "validation_post_check",
            "sampling_loop_start",
            "tool_pre_invoke",
            "tool_post_invoke",
        ]
    );
}

/// The fields a patch with every setter applied reports: exactly the reference's writable
/// fields of that hook (reference §4).
#[test]
fn each_patch_carries_exactly_the_writable_fields_of_its_hook() {
    fn fields<P: Patch<Q>, Q>(patch: P) -> Vec<&'static str> {
        patch.field_names()
    }
    let object = || Object::new(());

    assert_eq!(
        fields(
            SessionPreInitPatch::new()
                .with_model_id("m".into())
                .with_model_options(None)
        ),
        ["model_id", "model_options"]
    );
    assert_eq!(
        fields(
            ComponentPreExecutePatch::new()
                .with_requirements(vec![])
                .with_model_options(ModelOptions::new())
                .with_format(None)
                .with_strategy(None)
                .with_tool_calls_enabled(true)
        ),
        [
            "requirements",
            "model_options",
            "format",
            "strategy",
            "tool_calls_enabled"
        ]
    );
    assert_eq!(
        fields(
            GenerationPreCallPatch::new()
                .with_model_options(ModelOptions::new())
                .with_format(None)
                .with_tool_calls(true)
        ),
        ["model_options", "format", "tool_calls"]
    );
    assert_eq!(
        fields(
            GenerationBatchPreCallPatch::new()
                .with_model_options(ModelOptions::new())
                .with_format(None)
                .with_tool_calls(true)
        ),
        ["model_options", "format", "tool_calls"]
    );
    assert_eq!(
        fields(
            ValidationPreCheckPatch::new()
                .with_requirements(vec![])
                .with_model_options(ModelOptions::new())
        ),
        ["requirements", "model_options"]
    );
    assert_eq!(
        fields(
            ValidationPostCheckPatch::new()
                .with_results(vec![])
                .with_all_validations_passed(true)
        ),
        ["results", "all_validations_passed"]
    );
    assert_eq!(
        fields(SamplingLoopStartPatch::new().with_loop_budget(3)),
        ["loop_budget"]
    );
    assert_eq!(
        fields(ToolPreInvokePatch::new().with_model_tool_call(Some(object()))),
        ["model_tool_call"]
    );
    assert_eq!(
        fields(ToolPostInvokePatch::new().with_tool_output(Some(object()))),
        ["tool_output"]
    );
}

#[test]
fn patch_changes_only_the_fields_it_sets() {
    let mut payload = SessionPreInitPayload::default();
    payload.backend_name = "openai".into();
    payload.model_id = "gpt-4o".into();
    payload.base.request_id = "req-1".into();
    let empty = SessionPreInitPatch::new();
    assert!(empty.is_empty());

    empty.apply(&mut payload);
    SessionPreInitPatch::new()
        .with_model_id("granite4".into())
        .apply(&mut payload);

    assert_eq!(payload.model_id, "granite4");
    assert_eq!(payload.backend_name, "openai");
    assert_eq!(payload.model_options, None);
    assert_eq!(payload.base.request_id, "req-1");
}

#[test]
fn patch_can_clear_an_optional_writable_field() {
    let mut payload = GenerationPreCallPayload::default();
    payload.format = Some(Format::new("Person", serde_json::json!({"type": "object"})));

    GenerationPreCallPatch::new()
        .with_format(None)
        .apply(&mut payload);

    assert_eq!(payload.format, None);
}

// ---------------------------------------------------------------------------------------------
// Payload defaults ([pay])

#[test]
fn base_fields_default_to_no_session_empty_ids_and_now() {
    let before = SystemTime::now();
    let payload = SessionPostInitPayload::default();
    let base = &payload.base;

    assert_eq!(base.session_id, None);
    assert_eq!(base.request_id, "");
    assert_eq!(base.hook, None, "stamped only at dispatch");
    assert!(base.user_metadata.is_empty());
    let age = base.timestamp.duration_since(before).unwrap_or_default();
    assert!(
        age < Duration::from_secs(5),
        "timestamp is taken at construction"
    );
}

#[test]
fn session_payload_defaults_match_the_reference() {
    let pre = SessionPreInitPayload::default();
    assert_eq!(pre.backend_name, "");
    assert_eq!(pre.model_id, "");
    assert_eq!(pre.model_options, None);
    assert_eq!(pre.context_type, "SimpleContext");

    let post = SessionPostInitPayload::default();
    assert_eq!(post.session_id, "");
    assert_eq!(post.model_id, "");
    assert!(post.context.is_none());

    assert!(SessionResetPayload::default().previous_context.is_none());

    let cleanup = SessionCleanupPayload::default();
    assert!(cleanup.context.is_none());
    assert_eq!(cleanup.interaction_count, 0);
    assert_eq!(cleanup.exception, None);
}

#[test]
fn component_payload_defaults_match_the_reference() {
    let pre = ComponentPreExecutePayload::default();
    assert_eq!(pre.action_id, "");
    assert_eq!(pre.component_type, "");
    assert!(pre.action.is_none());
    assert!(pre.context_view.is_none());
    assert!(pre.requirements.is_empty());
    assert!(pre.model_options.is_empty());
    assert_eq!(pre.format, None);
    assert!(pre.strategy.is_none());
    assert!(!pre.tool_calls_enabled);

    let success = ComponentPostSuccessPayload::default();
    assert!(success.result.is_none());
    assert!(success.context_before.is_none() && success.context_after.is_none());
    assert!(success.generate_log.is_none());
    assert!(success.sampling_results.is_none());
    assert_eq!(success.sampling_success, None);
    assert_eq!(success.latency_ms, 0);

    let error = ComponentPostErrorPayload::default();
    assert_eq!(error.error, None);
    assert_eq!(error.error_type, "");
    assert_eq!(error.stack_trace, "");
    assert!(error.context.is_none());
    assert!(error.model_options.is_empty());
}

#[test]
fn generation_payload_defaults_match_the_reference() {
    let pre = GenerationPreCallPayload::default();
    assert!(pre.action.is_none() && pre.context.is_none());
    assert!(pre.model_options.is_empty());
    assert_eq!(pre.format, None);
    assert!(!pre.tool_calls);

    let post = GenerationPostCallPayload::default();
    assert_eq!(post.prompt, None);
    assert_eq!(post.model_output, None);
    assert_eq!(post.latency_ms, 0.0);

    let error = GenerationErrorPayload::default();
    assert_eq!(error.model_output, None);
    assert_eq!(error.latency_ms, 0.0);

    let event = GenerationEventPayload::default();
    assert_eq!(event.event_name, "");
    assert!(event.data.is_empty());

    // `generation_id`, `model` and `provider` are the generation's, read from the hook context
    // instead of copied into each payload; outside a generation there are none.
    let ctx = mellea::HookContext::new();
    assert_eq!(
        (ctx.generation_id(), ctx.model(), ctx.provider()),
        (None, None, None)
    );
}

#[test]
fn generation_batch_payload_defaults_match_the_reference() {
    let pre = GenerationBatchPreCallPayload::default();
    assert!(pre.actions.is_empty());
    assert!(pre.model_options.is_empty());
    assert_eq!(pre.format, None);
    assert!(!pre.tool_calls);
    assert_eq!(pre.num_actions, 0);

    let post = GenerationBatchPostCallPayload::default();
    assert!(post.model_outputs.is_empty());
    assert_eq!(post.usage, None);
    assert_eq!(post.latency_ms, 0.0);

    let error = GenerationBatchErrorPayload::default();
    assert_eq!(error.latency_ms, 0.0);
}

#[test]
fn validation_payload_defaults_match_the_reference() {
    let pre = ValidationPreCheckPayload::default();
    assert_eq!(pre.validation_id, "");
    assert!(pre.requirements.is_empty());
    assert!(pre.target.is_none() && pre.context.is_none());
    assert!(pre.model_options.is_empty());

    let post = ValidationPostCheckPayload::default();
    assert!(post.requirements.is_empty() && post.results.is_empty());
    assert!(!post.all_validations_passed);
    assert_eq!((post.passed_count, post.failed_count), (0, 0));
    assert_eq!(post.exception, None);
}

#[test]
fn sampling_payload_defaults_match_the_reference() {
    let start = SamplingLoopStartPayload::default();
    assert_eq!(start.sampling_id, "");
    assert_eq!(start.strategy_name, "");
    assert!(start.requirements.is_empty());
    assert_eq!(start.loop_budget, 0);

    let iteration = SamplingIterationPayload::default();
    assert_eq!(iteration.iteration, 0);
    assert!(iteration.validation_results.is_empty());
    assert!(!iteration.all_validations_passed);
    assert_eq!((iteration.valid_count, iteration.total_count), (0, 0));

    let repair = SamplingRepairPayload::default();
    assert_eq!(repair.repair_type, "");
    assert!(repair.failed_validations.is_empty());
    assert_eq!(repair.repair_iteration, 0);

    let end = SamplingLoopEndPayload::default();
    assert!(!end.success);
    assert_eq!(end.iterations_used, 0);
    assert_eq!(end.failure_reason, None);
    assert_eq!(end.exception, None);
    assert!(end.all_results.is_empty() && end.all_validations.is_empty());
}

#[test]
fn tool_payload_defaults_match_the_reference() {
    let pre = ToolPreInvokePayload::default();
    assert_eq!(pre.tool_invocation_id, "");
    assert!(pre.model_tool_call.is_none());
    assert!(!pre.is_control_flow);

    let post = ToolPostInvokePayload::default();
    assert!(post.tool_output.is_none() && post.tool_message.is_none());
    assert_eq!(post.execution_time_ms, 0);
    assert!(post.success, "a tool succeeds unless told otherwise");
    assert_eq!(post.error, None);
    assert!(!post.is_control_flow);

    assert!(is_internal_tool("final_answer"));
    assert!(!is_internal_tool("search"));
}

#[test]
fn adapter_and_streaming_payload_defaults_match_the_reference() {
    let invocation = AdapterFunctionInvocationCompletePayload::default();
    assert_eq!(invocation.revision, None);
    assert_eq!(invocation.binding_type, "unknown");
    assert_eq!(invocation.adapter_type, "unknown");
    // The reference has no default; ours never reads as success.
    assert_eq!(invocation.outcome, AdapterOutcome::Error);
    assert_eq!(
        AdapterFunctionPhaseCompletePayload::default().duration_ms,
        0.0
    );

    let start = StreamingStartPayload::default();
    assert!(!start.has_requirements);
    assert_eq!(start.requirement_count, 0);
    assert_eq!(start.chunking_strategy, "");

    let event = StreamingEventPayload::default();
    assert!(event.event.is_none() && event.requirements.is_empty());

    let end = StreamingEndPayload::default();
    assert!(end.success);
    assert_eq!(end.failure_reason, None);
    assert_eq!(end.full_text_length, 0);
    assert_eq!((end.model, end.provider), (None, None));
}

#[test]
fn payload_stores_the_exact_object_it_was_given() {
    let action = Object::new(String::from("summarise"));
    let mut payload = ComponentPreExecutePayload::default();
    payload.action = Some(action.clone());

    let copy = payload.clone();

    assert!(payload.action.as_ref().unwrap().ptr_eq(&action));
    assert!(
        copy.action.unwrap().ptr_eq(&action),
        "cloning shares objects"
    );
}

#[test]
fn cloning_a_payload_leaves_the_original_intact() {
    let original = {
        let mut payload = SessionPreInitPayload::default();
        payload.model_id = "original".into();
        payload
    };
    let mut modified = original.clone();

    SessionPreInitPatch::new()
        .with_model_id("modified".into())
        .apply(&mut modified);

    assert_eq!(original.model_id, "original");
    assert_eq!(modified.model_id, "modified");
}

// ---------------------------------------------------------------------------------------------
// Violations ([blk])

#[test]
fn violation_defaults_its_description_to_the_reason_and_has_no_code() {
    let violation = Violation::new("x");

    assert_eq!(violation.reason, "x");
    assert_eq!(violation.code, "");
    assert_eq!(violation.description, "x");
    assert!(violation.details.is_empty());
}

#[test]
fn violation_keeps_description_and_details() {
    let mut details = serde_json::Map::new();
    details.insert("field".into(), "prompt".into());

    let violation = Violation::new("x")
        .with_code("PII")
        .with_description("a longer story")
        .with_details(details.clone());

    assert_eq!(violation.code, "PII");
    assert_eq!(violation.description, "a longer story");
    assert_eq!(violation.details, details);
}

#[test]
fn plugin_violation_display_brackets_the_code_only_when_set() {
    let with_code = PluginViolation::new(
        HookType::ToolPreInvoke,
        "not permitted",
        "TOOL",
        "allowlist",
    );
    let without_code = PluginViolation::new(HookType::ToolPreInvoke, "not permitted", "", "x");

    assert_eq!(
        with_code.to_string(),
        "Plugin blocked tool_pre_invoke: [TOOL] not permitted"
    );
    assert_eq!(
        without_code.to_string(),
        "Plugin blocked tool_pre_invoke: not permitted"
    );
}
