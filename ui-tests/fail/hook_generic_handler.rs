// Handlers are called with the hook's own payload type, so they cannot be generic.
use mellea::HookContext;
use mellea::hooks::Payload;
use mellea::{HookAction, HookResult};

struct Recorder;

#[mellea::plugin(name = "recorder")]
impl Recorder {
    #[hook("generation_post_call")]
    async fn record<P: Payload>(&self, _payload: &P, _ctx: &HookContext) -> HookResult {
        Ok(HookAction::Continue)
    }
}

fn main() {
    let _ = mellea::register(Recorder);
}
