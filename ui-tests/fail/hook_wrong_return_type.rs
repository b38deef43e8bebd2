// A handler returns the hook's result type.
use mellea::HookContext;
use mellea::hooks::GenerationPreCallPayload;

struct Redactor;

#[mellea::plugin(name = "redactor")]
impl Redactor {
    #[hook("generation_pre_call")]
    async fn scrub(
        &self,
        _payload: &GenerationPreCallPayload,
        _ctx: &HookContext,
    ) -> Result<(), String> {
        Ok(())
    }
}

fn main() {
    let _ = mellea::register(Redactor);
}
