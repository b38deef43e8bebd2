// The second parameter is the dispatch context, `&HookContext`.
use mellea::hooks::{GenerationPostCallPayload, PayloadBase};
use mellea::{HookAction, HookResult};

#[mellea::hook("generation_post_call")]
async fn record(_payload: &GenerationPostCallPayload, _ctx: &PayloadBase) -> HookResult {
    Ok(HookAction::Continue)
}

fn main() {
    let _ = mellea::register(record_hook());
}
