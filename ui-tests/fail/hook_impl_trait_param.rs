// `impl Trait` in a parameter makes a handler generic.
use mellea::hooks::Payload;
use mellea::{HookAction, HookContext, HookResult};

#[mellea::hook("generation_post_call")]
async fn record(_payload: &impl Payload, _ctx: &HookContext) -> HookResult {
    Ok(HookAction::Continue)
}

fn main() {
    let _ = mellea::register(record_hook());
}
