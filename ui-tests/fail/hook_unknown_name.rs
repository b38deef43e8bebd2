// A name that is not close to any hook lists the hooks.
use mellea::hooks::SessionPostInitPayload;
use mellea::{HookAction, HookContext, HookResult};

#[mellea::hook("on_startup")]
async fn announce(_payload: &SessionPostInitPayload, _ctx: &HookContext) -> HookResult {
    Ok(HookAction::Continue)
}

fn main() {
    let _ = mellea::register(announce_hook());
}
