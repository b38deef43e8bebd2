// A handler without a return type: the error names the result type of this hook.
use mellea::HookContext;
use mellea::hooks::ToolPreInvokePayload;

#[mellea::hook("tool_pre_invoke")]
async fn inspect(_payload: &ToolPreInvokePayload, _ctx: &HookContext) {}

fn main() {
    let _ = mellea::register(inspect_hook());
}
