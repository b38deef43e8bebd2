// Handlers run on any worker thread: their future must be `Send`. The error points at the
// handler and, in its notes, at the value held across `.await`.
use std::rc::Rc;

use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

struct Recorder;

#[mellea::plugin(name = "recorder")]
impl Recorder {
    #[hook("generation_post_call")]
    async fn record(&self, _payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
        let seen = Rc::new(1);
        std::future::ready(()).await;
        drop(seen);
        Ok(HookAction::Continue)
    }
}

fn main() {
    let _ = mellea::register(Recorder);
}
