// The registry identifies plugins by name, so it cannot be empty.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

struct Recorder;

#[mellea::plugin(name = "")]
impl Recorder {
    #[hook("generation_post_call")]
    async fn record(&self, _payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
        Ok(HookAction::Continue)
    }
}

fn main() {
    let _ = mellea::register(Recorder);
}
