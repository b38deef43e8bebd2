// The string form of `crate` must hold a path.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

struct Recorder;

#[mellea::plugin(name = "recorder", crate = "mellea runtime")]
impl Recorder {
    #[hook("generation_post_call")]
    async fn record(&self, _payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
        Ok(HookAction::Continue)
    }
}

fn main() {
    let _ = mellea::register(Recorder);
}
