// The hook name is a string literal.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

#[mellea::hook(generation_post_call)]
async fn record(_payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
    Ok(HookAction::Continue)
}

fn main() {
    let _ = mellea::register(record_hook());
}
