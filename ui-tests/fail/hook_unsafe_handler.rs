// The dispatcher calls handlers from safe code.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

#[mellea::hook("generation_post_call")]
async unsafe fn record(_payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
    Ok(HookAction::Continue)
}

fn main() {
    let _ = mellea::register(record_hook());
}
