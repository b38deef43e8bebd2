// A plugin has one handler per hook.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

struct Recorder;

#[mellea::plugin(name = "recorder")]
impl Recorder {
    #[hook("generation_post_call")]
    async fn latency(
        &self,
        _payload: &GenerationPostCallPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        Ok(HookAction::Continue)
    }

    #[hook("generation_post_call", mode = audit)]
    async fn usage(&self, _payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
        Ok(HookAction::Continue)
    }
}

fn main() {
    let _ = mellea::register(Recorder);
}
