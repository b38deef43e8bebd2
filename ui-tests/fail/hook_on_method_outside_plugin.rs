// A `#[hook]` method is only registered by a `#[plugin]` impl.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

struct Recorder;

impl Recorder {
    #[mellea::hook("generation_post_call")]
    async fn record(&self, _payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
        Ok(HookAction::Continue)
    }
}

fn main() {
    let _ = Recorder;
}
