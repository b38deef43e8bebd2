// The five modes are sequential, transform, audit, concurrent and fire_and_forget.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

#[mellea::hook("generation_post_call", mode = parallel)]
async fn record(_payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
    Ok(HookAction::Continue)
}

fn main() {
    let _ = mellea::register(record_hook());
}
