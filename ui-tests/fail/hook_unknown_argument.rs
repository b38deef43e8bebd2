// `#[hook]` takes the hook name, `mode` and `priority`.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

#[mellea::hook("generation_post_call", timeout = 5)]
async fn record(_payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
    Ok(HookAction::Continue)
}

fn main() {
    let _ = mellea::register(record_hook());
}
