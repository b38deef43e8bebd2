// Inside a plugin, `#[hook]` goes on methods.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

struct Recorder;

#[mellea::plugin(name = "recorder")]
impl Recorder {
    #[hook("generation_post_call")]
    const LIMIT: u64 = 10;

    #[hook("generation_error")]
    async fn record(
        &self,
        _payload: &mellea::hooks::GenerationErrorPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        let _ = Self::LIMIT;
        Ok(HookAction::Continue)
    }
}

fn main() {
    let _ = mellea::register(Recorder);
    let _: Option<GenerationPostCallPayload> = None;
}
