// A plugin's handlers are expanded by `#[plugin]`, so `crate` goes there, once.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

struct Recorder;

#[mellea::plugin(name = "recorder")]
impl Recorder {
    #[hook("generation_post_call", crate = ::mellea)]
    async fn record(&self, _payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
        Ok(HookAction::Continue)
    }
}

fn main() {
    let _ = mellea::register(Recorder);
}
