// Handlers are `async fn`.
use mellea::hooks::{GenerationPreCallPatch, GenerationPreCallPayload};
use mellea::{HookAction, HookContext, HookResult};

struct Redactor;

#[mellea::plugin(name = "redactor")]
impl Redactor {
    #[hook("generation_pre_call")]
    fn scrub(
        &self,
        _payload: &GenerationPreCallPayload,
        _ctx: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        Ok(HookAction::Continue)
    }
}

fn main() {
    let _ = mellea::register(Redactor);
}
