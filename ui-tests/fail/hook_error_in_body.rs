// A mistake inside a handler's body is reported inside the body, as without the macro.
use mellea::hooks::{GenerationPreCallPatch, GenerationPreCallPayload};
use mellea::{HookAction, HookContext, HookResult};

struct Redactor;

#[mellea::plugin(name = "redactor")]
impl Redactor {
    #[hook("generation_pre_call")]
    async fn scrub(
        &self,
        payload: &GenerationPreCallPayload,
        _ctx: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        let retries: u32 = payload.model_options.len();
        let _ = retries;
        Ok(HookAction::Continue)
    }
}

fn main() {
    let _ = mellea::register(Redactor);
}
