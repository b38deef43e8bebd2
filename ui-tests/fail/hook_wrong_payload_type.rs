// The payload of another hook: the error names the payload this hook expects.
use mellea::hooks::{GenerationPreCallPatch, SessionPreInitPayload};
use mellea::{HookAction, HookContext, HookResult};

struct Redactor;

#[mellea::plugin(name = "redactor")]
impl Redactor {
    #[hook("generation_pre_call")]
    async fn scrub(
        &self,
        _payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        Ok(HookAction::Continue)
    }
}

fn main() {
    let _ = mellea::register(Redactor);
}
