// A plugin is shared between threads: its type must be `Send + Sync`.
use std::cell::Cell;

use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

struct Counter {
    calls: Cell<u64>,
}

#[mellea::plugin(name = "counter")]
impl Counter {
    #[hook("generation_post_call")]
    async fn count(&self, _payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
        self.calls.set(self.calls.get() + 1);
        Ok(HookAction::Continue)
    }
}

fn main() {}
