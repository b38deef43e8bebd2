// `generation_post_call` is observe-only: its handlers cannot return a patch.
use mellea::hooks::{GenerationPostCallPayload, GenerationPreCallPatch};
use mellea::{HookAction, HookContext, HookResult};

struct Recorder;

#[mellea::plugin(name = "recorder")]
impl Recorder {
    #[hook("generation_post_call")]
    async fn record(
        &self,
        _payload: &GenerationPostCallPayload,
        _ctx: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        Ok(HookAction::Continue)
    }
}

fn main() {
    let _ = mellea::register(Recorder);
}
