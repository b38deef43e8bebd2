// Modes are written as bare identifiers, not as `PluginMode` paths.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

#[mellea::hook("generation_post_call", mode = PluginMode::Audit)]
async fn record(_payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
    Ok(HookAction::Continue)
}

fn main() {
    let _ = mellea::register(record_hook());
}
