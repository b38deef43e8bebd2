// A handler without its context parameter.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookResult};

struct Recorder;

#[mellea::plugin(name = "recorder")]
impl Recorder {
    #[hook("generation_post_call")]
    async fn record(&self, _payload: &GenerationPostCallPayload) -> HookResult {
        Ok(HookAction::Continue)
    }
}

fn main() {
    let _ = mellea::register(Recorder);
}
