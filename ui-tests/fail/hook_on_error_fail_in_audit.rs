// `on_error = fail` turns a failure into a block, which an AUDIT handler cannot do.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

struct Recorder;

#[mellea::plugin(name = "recorder")]
impl Recorder {
    #[hook("generation_post_call", mode = audit, on_error = fail)]
    async fn record(&self, _payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
        Ok(HookAction::Continue)
    }
}

#[mellea::hook("generation_post_call", mode = fire_and_forget, on_error = fail)]
async fn ship(_payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
    Ok(HookAction::Continue)
}

fn main() {
    let _ = mellea::register(Recorder);
    let _ = mellea::register(ship_hook());
}
