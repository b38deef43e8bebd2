// The signature contract is checked on types, not on spelling: aliases, full paths, the
// expanded `Result`, `self: &Self` and any parameter pattern are accepted. Expansions compile
// without warnings and do not depend on what the user's module calls `Box`, `Arc`, `Option`,
// `Result`, `std` or `core`.
#![deny(warnings)]

#[allow(dead_code)]
struct Box;
#[allow(dead_code)]
struct Arc;
#[allow(dead_code)]
enum Option {}
#[allow(dead_code)]
type Result = ();
#[allow(dead_code)]
mod std {}
#[allow(dead_code)]
mod core {}

type PreCall = mellea::hooks::GenerationPreCallPayload;
type Outcome = mellea::plugin::HookResult<mellea::hooks::GenerationPreCallPatch>;

struct Spellings;

#[mellea::plugin(name = "spellings")]
impl Spellings {
    /// A documented handler with an alias for the payload and the result.
    #[hook("generation_pre_call")]
    #[allow(clippy::unused_async)]
    pub async fn aliases(&self, _: &PreCall, _: &mellea::HookContext) -> Outcome {
        Ok(mellea::HookAction::Continue)
    }

    #[mellea::hook("generation_post_call", mode = audit)]
    async fn expanded(
        self: &Self,
        mellea::hooks::GenerationPostCallPayload { latency_ms, .. }: &mellea::hooks::GenerationPostCallPayload,
        ctx: &mellea::plugin::HookContext,
    ) -> ::core::result::Result<
        mellea::plugin::HookAction<mellea::hooks::NoPatch>,
        mellea::plugin::HandlerError,
    > {
        let _ = (latency_ms, ctx.session_id());
        Ok(mellea::HookAction::Continue)
    }

    #[cfg(all())]
    #[hook("generation_error")]
    async fn only_when_configured(
        &self,
        _payload: &mellea::hooks::GenerationErrorPayload,
        _ctx: &mellea::HookContext,
    ) -> mellea::HookResult {
        Ok(mellea::HookAction::Continue)
    }

    #[cfg(any())]
    #[hook("generation_event")]
    async fn compiled_out(
        &self,
        _payload: &mellea::hooks::GenerationEventPayload,
        _ctx: &mellea::HookContext,
    ) -> mellea::HookResult {
        Ok(mellea::HookAction::Continue)
    }
}

#[mellea::hook("tool_post_invoke")]
async fn r#type(
    _payload: &mellea::hooks::ToolPostInvokePayload,
    _ctx: &mellea::HookContext,
) -> mellea::HookResult<mellea::hooks::ToolPostInvokePatch> {
    Ok(mellea::HookAction::Continue)
}

fn main() {
    let registry = mellea::PluginRegistry::new();
    let registration = registry.register(Spellings).unwrap();
    assert_eq!(
        registration.names(),
        [
            "spellings.generation_pre_call",
            "spellings.generation_post_call",
            "spellings.generation_error",
        ]
    );
    let registration = registry.register(type_hook()).unwrap();
    assert_eq!(registration.names(), [format!("{}::type", module_path!())]);
}
