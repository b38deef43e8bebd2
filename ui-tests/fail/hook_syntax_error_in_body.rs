// A body that does not parse (mid-edit) is passed through untouched: the compiler reports the
// syntax error itself, once, and nothing about the plugin.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookContext, HookResult};

struct Recorder;

#[mellea::plugin(name = "recorder")]
impl Recorder {
    #[hook("generation_post_call")]
    async fn record(&self, payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
        let latency = ;
        Ok(mellea::HookAction::Continue)
    }
}

fn main() {
    let _ = mellea::register(Recorder);
}
