//! The hook table is written once (in the macro crate) and the runtime's hook types are built
//! from it, so there is no copy to compare. What is left to test is behaviour: a name
//! `#[hook("...")]` accepts registers for the `HookType` of that name, and that hook's dispatch
//! reaches the handler, in every family, writable or not.

use std::sync::atomic::{AtomicUsize, Ordering};

use mellea::hooks::{
    AdapterFunctionPhaseComplete, AdapterFunctionPhaseCompletePayload, GenerationBatchPreCall,
    GenerationBatchPreCallPatch, GenerationBatchPreCallPayload, Hook, HookType, Object,
    SessionCleanupPayload, ToolPostInvoke, ToolPostInvokePatch, ToolPostInvokePayload,
};
use mellea::plugin::HookFn;
use mellea::{HookAction, HookContext, HookResult, PluginRegistry};

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[mellea::hook("generation_batch_pre_call")]
async fn batch(
    _payload: &GenerationBatchPreCallPayload,
    _ctx: &HookContext,
) -> HookResult<GenerationBatchPreCallPatch> {
    CALLS.fetch_add(1, Ordering::Relaxed);
    Ok(HookAction::Modify(
        GenerationBatchPreCallPatch::new().with_tool_calls(true),
    ))
}

#[mellea::hook("tool_post_invoke", mode = transform)]
async fn tool(
    _payload: &ToolPostInvokePayload,
    _ctx: &HookContext,
) -> HookResult<ToolPostInvokePatch> {
    CALLS.fetch_add(1, Ordering::Relaxed);
    Ok(HookAction::Modify(
        ToolPostInvokePatch::new().with_tool_output(Some(Object::new("patched"))),
    ))
}

#[mellea::hook("adapter_function_phase_complete", mode = audit)]
async fn adapter(_payload: &AdapterFunctionPhaseCompletePayload, _ctx: &HookContext) -> HookResult {
    CALLS.fetch_add(1, Ordering::Relaxed);
    Ok(HookAction::Continue)
}

#[mellea::hook("session_cleanup")]
async fn cleanup(_payload: &SessionCleanupPayload, _ctx: &HookContext) -> HookResult {
    Ok(HookAction::Continue)
}

fn hook_of(hook: HookFn) -> HookType {
    hook.spec().hook()
}

#[test]
fn each_name_registers_for_the_hook_type_of_that_name() {
    for (hook, name) in [
        (batch_hook(), "generation_batch_pre_call"),
        (tool_hook(), "tool_post_invoke"),
        (adapter_hook(), "adapter_function_phase_complete"),
        (cleanup_hook(), "session_cleanup"),
    ] {
        let hook = hook_of(hook);
        assert_eq!(hook.as_str(), name);
        assert_eq!(name.parse::<HookType>(), Ok(hook));
    }
}

#[test]
fn the_table_marks_the_nine_reference_hooks_writable_and_counts_every_hook() {
    assert_eq!(HookType::ALL.len(), mellea::hooks::HOOK_COUNT);
    assert_eq!(HookType::ALL.iter().filter(|h| h.is_writable()).count(), 9);
    let writable = |hook: HookType| hook.is_writable();
    assert!(writable(<GenerationBatchPreCall as Hook>::TYPE));
    assert!(!writable(<AdapterFunctionPhaseComplete as Hook>::TYPE));
    for (index, hook) in HookType::ALL.iter().enumerate() {
        assert_eq!(hook.bit(), 1 << index, "{hook}: bits follow table order");
    }
}

#[tokio::test]
async fn dispatch_of_each_hook_reaches_its_handler_and_applies_its_patch() {
    let registry = PluginRegistry::new();
    let _batch = registry.register(batch_hook()).unwrap();
    let _tool = registry.register(tool_hook()).unwrap();
    let _adapter = registry.register(adapter_hook()).unwrap();
    let before = CALLS.load(Ordering::Relaxed);

    let dispatched = registry
        .dispatch::<GenerationBatchPreCall>(Default::default(), HookContext::new())
        .await
        .unwrap();
    assert!(dispatched.payload.tool_calls);
    let dispatched = registry
        .dispatch::<ToolPostInvoke>(Default::default(), HookContext::new())
        .await
        .unwrap();
    let output = dispatched
        .payload
        .tool_output
        .expect("the patch sets the tool output");
    assert_eq!(output.downcast_ref::<&str>(), Some(&"patched"));
    let dispatched = registry
        .dispatch::<AdapterFunctionPhaseComplete>(Default::default(), HookContext::new())
        .await
        .unwrap();
    let _: AdapterFunctionPhaseCompletePayload = dispatched.into_payload();
    assert_eq!(CALLS.load(Ordering::Relaxed) - before, 3);
}
