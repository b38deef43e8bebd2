// Unknown failure policies list the three (with a suggestion for a near miss); a string or a
// path is told the bare spelling.
use mellea::hooks::GenerationPostCallPayload;
use mellea::{HookAction, HookContext, HookResult};

#[mellea::hook("generation_post_call", on_error = crash)]
async fn a(_payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
    Ok(HookAction::Continue)
}

#[mellea::hook("generation_post_call", on_error = fial)]
async fn b(_payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
    Ok(HookAction::Continue)
}

#[mellea::hook("generation_post_call", on_error = "disable")]
async fn c(_payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
    Ok(HookAction::Continue)
}

struct Guard;

#[mellea::plugin(name = "guard", on_error = mellea::OnError::Fail)]
impl Guard {
    #[hook("generation_post_call")]
    async fn d(&self, _payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
        Ok(HookAction::Continue)
    }
}

fn main() {}
