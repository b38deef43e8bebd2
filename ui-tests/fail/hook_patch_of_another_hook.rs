// A writable hook's handler returns that hook's patch, not another one's.
use mellea::hooks::{GenerationPreCallPayload, SessionPreInitPatch};
use mellea::{HookAction, HookContext, HookResult};

#[mellea::hook("generation_pre_call")]
async fn scrub(
    _payload: &GenerationPreCallPayload,
    _ctx: &HookContext,
) -> HookResult<SessionPreInitPatch> {
    Ok(HookAction::Continue)
}

fn main() {
    let _ = mellea::register(scrub_hook());
}
