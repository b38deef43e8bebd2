// A plugin-wide `on_error = fail` reaches every handler without its own policy; a TRANSFORM
// handler cannot block, so it must set its own (`scrub` below), or the error names it.
use mellea::hooks::{
    GenerationPostCallPayload, GenerationPreCallPatch, GenerationPreCallPayload,
};
use mellea::{HookAction, HookContext, HookResult};

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

    #[hook("generation_post_call", mode = transform)]
    async fn log(&self, _payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
        Ok(HookAction::Continue)
    }
}

fn main() {
    let _ = mellea::register(Guard);
}
