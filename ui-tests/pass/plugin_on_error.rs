// Failure policies on plugins and handlers: `fail` where a handler can block, `ignore` and
// `disable` anywhere, the handler's own setting winning over its plugin's.
use mellea::hooks::{
    GenerationPostCallPayload, GenerationPreCallPatch, GenerationPreCallPayload,
};
use mellea::{HookAction, HookContext, HookResult, OnError, Plugin, PluginRegistry};

struct Guard;

#[mellea::plugin(name = "guard", on_error = fail)]
impl Guard {
    #[hook("generation_pre_call")]
    async fn check(
        &self,
        _payload: &GenerationPreCallPayload,
        _ctx: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        Ok(HookAction::Continue)
    }

    #[hook("generation_post_call", mode = concurrent, on_error = fail)]
    async fn verify(&self, _payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
        Ok(HookAction::Continue)
    }

    #[hook("generation_error", mode = fire_and_forget, on_error = disable)]
    async fn report(
        &self,
        _payload: &mellea::hooks::GenerationErrorPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        Ok(HookAction::Continue)
    }
}

#[mellea::hook("generation_post_call", mode = audit, on_error = ignore)]
async fn audit(_payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
    Ok(HookAction::Continue)
}

fn main() {
    assert_eq!(Guard.on_error(), OnError::Fail);
    let registry = PluginRegistry::new();
    let registration = registry.register(Guard).unwrap();
    assert_eq!(registration.names().len(), 3);
    let audit = registry.register(audit_hook()).unwrap();
    assert_eq!(audit_hook().spec().on_error(), Some(OnError::Ignore));
    registry.unregister(&audit);
}
