// Plugins are shared by concurrent dispatches: handlers borrow `&self`.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

struct Counter {
    calls: u64,
}

#[mellea::plugin(name = "counter")]
impl Counter {
    #[hook("generation_post_call")]
    async fn count(
        &mut self,
        _payload: &GenerationPostCallPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.calls += 1;
        Ok(HookAction::Continue)
    }
}

fn main() {
    let _ = mellea::register(Counter { calls: 0 });
}
