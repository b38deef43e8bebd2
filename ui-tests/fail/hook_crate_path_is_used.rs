// The expansion names mellea's items through the `crate` path it is given: a path that does
// not lead to mellea fails there, on the path as written.
use mellea::hooks::SessionResetPayload;
use mellea::{HookAction, HookContext, HookResult};

mod elsewhere {}

#[mellea::hook("session_reset", crate = crate::elsewhere)]
async fn reset(_payload: &SessionResetPayload, _ctx: &HookContext) -> HookResult {
    Ok(HookAction::Continue)
}

fn main() {}
