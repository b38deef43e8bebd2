// `#[plugin]` implements `Plugin` itself, so it goes on an inherent impl.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

struct Recorder;

trait Record {
    async fn record(&self, payload: &GenerationPostCallPayload, ctx: &HookContext) -> HookResult;
}

#[mellea::plugin(name = "recorder")]
impl Record for Recorder {
    #[hook("generation_post_call")]
    async fn record(&self, _payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
        Ok(HookAction::Continue)
    }
}

fn main() {}
