// A plugin with a handler for every one of the 27 hooks: each name resolves, each payload and
// result type is accepted, and dispatching each hook reaches its handler.
use std::sync::Mutex;

use mellea::hooks::{
    AdapterFunctionInvocationCompletePayload, AdapterFunctionPhaseCompletePayload,
    ComponentPostErrorPayload, ComponentPostSuccessPayload, ComponentPreExecutePatch,
    ComponentPreExecutePayload, GenerationBatchErrorPayload, GenerationBatchPostCallPayload,
    GenerationBatchPreCallPatch, GenerationBatchPreCallPayload, GenerationErrorPayload,
    GenerationEventPayload, GenerationPostCallPayload, GenerationPreCallPatch,
    GenerationPreCallPayload, Hook, HookType, Payload, SamplingIterationPayload,
    SamplingLoopEndPayload, SamplingLoopStartPatch, SamplingLoopStartPayload,
    SamplingRepairPayload, SessionCleanupPayload, SessionPostInitPayload, SessionPreInitPatch,
    SessionPreInitPayload, SessionResetPayload, StreamingEndPayload, StreamingEventPayload,
    StreamingStartPayload, ToolPostInvokePatch, ToolPostInvokePayload, ToolPreInvokePatch,
    ToolPreInvokePayload, ValidationPostCheckPatch, ValidationPostCheckPayload,
    ValidationPreCheckPatch, ValidationPreCheckPayload,
};
use mellea::{HookAction, HookContext, HookResult, PluginRegistry};

#[derive(Default)]
struct EveryHook {
    seen: Mutex<Vec<HookType>>,
}

impl EveryHook {
    fn saw(&self, payload: &impl Payload) {
        self.seen
            .lock()
            .unwrap()
            .push(payload.base().hook.expect("the dispatcher stamps the hook"));
    }
}

#[mellea::plugin(name = "every_hook")]
impl EveryHook {
    #[hook("session_pre_init")]
    async fn session_pre_init(
        &self,
        payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<SessionPreInitPatch> {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("session_post_init")]
    async fn session_post_init(
        &self,
        payload: &SessionPostInitPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("session_reset")]
    async fn session_reset(&self, payload: &SessionResetPayload, _ctx: &HookContext) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("session_cleanup")]
    async fn session_cleanup(
        &self,
        payload: &SessionCleanupPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("component_pre_execute")]
    async fn component_pre_execute(
        &self,
        payload: &ComponentPreExecutePayload,
        _ctx: &HookContext,
    ) -> HookResult<ComponentPreExecutePatch> {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("component_post_success")]
    async fn component_post_success(
        &self,
        payload: &ComponentPostSuccessPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("component_post_error")]
    async fn component_post_error(
        &self,
        payload: &ComponentPostErrorPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("generation_pre_call")]
    async fn generation_pre_call(
        &self,
        payload: &GenerationPreCallPayload,
        _ctx: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("generation_post_call")]
    async fn generation_post_call(
        &self,
        payload: &GenerationPostCallPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("generation_error")]
    async fn generation_error(
        &self,
        payload: &GenerationErrorPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("generation_event")]
    async fn generation_event(
        &self,
        payload: &GenerationEventPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("generation_batch_pre_call")]
    async fn generation_batch_pre_call(
        &self,
        payload: &GenerationBatchPreCallPayload,
        _ctx: &HookContext,
    ) -> HookResult<GenerationBatchPreCallPatch> {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("generation_batch_post_call")]
    async fn generation_batch_post_call(
        &self,
        payload: &GenerationBatchPostCallPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("generation_batch_error")]
    async fn generation_batch_error(
        &self,
        payload: &GenerationBatchErrorPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("validation_pre_check")]
    async fn validation_pre_check(
        &self,
        payload: &ValidationPreCheckPayload,
        _ctx: &HookContext,
    ) -> HookResult<ValidationPreCheckPatch> {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("validation_post_check")]
    async fn validation_post_check(
        &self,
        payload: &ValidationPostCheckPayload,
        _ctx: &HookContext,
    ) -> HookResult<ValidationPostCheckPatch> {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("sampling_loop_start")]
    async fn sampling_loop_start(
        &self,
        payload: &SamplingLoopStartPayload,
        _ctx: &HookContext,
    ) -> HookResult<SamplingLoopStartPatch> {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("sampling_iteration")]
    async fn sampling_iteration(
        &self,
        payload: &SamplingIterationPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("sampling_repair")]
    async fn sampling_repair(
        &self,
        payload: &SamplingRepairPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("sampling_loop_end")]
    async fn sampling_loop_end(
        &self,
        payload: &SamplingLoopEndPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("tool_pre_invoke")]
    async fn tool_pre_invoke(
        &self,
        payload: &ToolPreInvokePayload,
        _ctx: &HookContext,
    ) -> HookResult<ToolPreInvokePatch> {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("tool_post_invoke")]
    async fn tool_post_invoke(
        &self,
        payload: &ToolPostInvokePayload,
        _ctx: &HookContext,
    ) -> HookResult<ToolPostInvokePatch> {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("adapter_function_phase_complete")]
    async fn adapter_function_phase_complete(
        &self,
        payload: &AdapterFunctionPhaseCompletePayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("adapter_function_invocation_complete")]
    async fn adapter_function_invocation_complete(
        &self,
        payload: &AdapterFunctionInvocationCompletePayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("streaming_start")]
    async fn streaming_start(
        &self,
        payload: &StreamingStartPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("streaming_event")]
    async fn streaming_event(
        &self,
        payload: &StreamingEventPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }

    #[hook("streaming_end")]
    async fn streaming_end(&self, payload: &StreamingEndPayload, _ctx: &HookContext) -> HookResult {
        self.saw(payload);
        Ok(HookAction::Continue)
    }
}

async fn dispatch<H: Hook>(registry: &PluginRegistry)
where
    H::Payload: Default,
{
    let dispatched = registry
        .dispatch::<H>(H::Payload::default(), HookContext::new())
        .await
        .expect("no handler blocks");
    assert_eq!(dispatched.payload.base().hook, Some(H::TYPE));
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let registry = PluginRegistry::new();
    let plugin = std::sync::Arc::new(EveryHook::default());
    let registration = registry.register(plugin.clone()).unwrap();

    let expected: Vec<String> = HookType::ALL
        .iter()
        .map(|hook| format!("every_hook.{hook}"))
        .collect();
    assert_eq!(registration.names(), expected.as_slice());
    for hook in HookType::ALL {
        assert!(registry.has_listeners(hook), "{hook}");
    }

    dispatch::<mellea::hooks::SessionPreInit>(&registry).await;
    dispatch::<mellea::hooks::SessionPostInit>(&registry).await;
    dispatch::<mellea::hooks::SessionReset>(&registry).await;
    dispatch::<mellea::hooks::SessionCleanup>(&registry).await;
    dispatch::<mellea::hooks::ComponentPreExecute>(&registry).await;
    dispatch::<mellea::hooks::ComponentPostSuccess>(&registry).await;
    dispatch::<mellea::hooks::ComponentPostError>(&registry).await;
    dispatch::<mellea::hooks::GenerationPreCall>(&registry).await;
    dispatch::<mellea::hooks::GenerationPostCall>(&registry).await;
    dispatch::<mellea::hooks::GenerationError>(&registry).await;
    dispatch::<mellea::hooks::GenerationEvent>(&registry).await;
    dispatch::<mellea::hooks::GenerationBatchPreCall>(&registry).await;
    dispatch::<mellea::hooks::GenerationBatchPostCall>(&registry).await;
    dispatch::<mellea::hooks::GenerationBatchError>(&registry).await;
    dispatch::<mellea::hooks::ValidationPreCheck>(&registry).await;
    dispatch::<mellea::hooks::ValidationPostCheck>(&registry).await;
    dispatch::<mellea::hooks::SamplingLoopStart>(&registry).await;
    dispatch::<mellea::hooks::SamplingIteration>(&registry).await;
    dispatch::<mellea::hooks::SamplingRepair>(&registry).await;
    dispatch::<mellea::hooks::SamplingLoopEnd>(&registry).await;
    dispatch::<mellea::hooks::ToolPreInvoke>(&registry).await;
    dispatch::<mellea::hooks::ToolPostInvoke>(&registry).await;
    dispatch::<mellea::hooks::AdapterFunctionPhaseComplete>(&registry).await;
    dispatch::<mellea::hooks::AdapterFunctionInvocationComplete>(&registry).await;
    dispatch::<mellea::hooks::StreamingStart>(&registry).await;
    dispatch::<mellea::hooks::StreamingEvent>(&registry).await;
    dispatch::<mellea::hooks::StreamingEnd>(&registry).await;

    assert_eq!(*plugin.seen.lock().unwrap(), HookType::ALL);
}
