// `crate = path` on every attribute: expansions reach mellea through the path given, here a
// re-export under another name (what a crate that renames or re-exports mellea writes).
use mellea::generation::{BackendIdentity, GenerationRequest};
use mellea::hooks::{GenerationPreCallPatch, GenerationPreCallPayload, SessionResetPayload};
use mellea::{HookAction, HookContext, HookResult, PluginViolation};

mod reexported {
    pub use ::mellea as runtime;
}

#[derive(Debug)]
struct Error;
impl From<PluginViolation> for Error {
    fn from(_: PluginViolation) -> Self {
        Error
    }
}

struct Backend;
impl BackendIdentity for Backend {
    fn model_id(&self) -> &str {
        "m"
    }
}

#[mellea::backend(provider = "demo", crate = crate::reexported::runtime)]
impl Backend {
    #[mellea::generation_hook(chat)]
    async fn chat(&self, _request: GenerationRequest) -> Result<String, Error> {
        Ok(String::new())
    }
}

struct Guard;

#[mellea::plugin(name = "guard", crate = "crate::reexported::runtime", on_error = fail)]
impl Guard {
    #[hook("generation_pre_call", mode = concurrent)]
    async fn check(
        &self,
        _payload: &GenerationPreCallPayload,
        _ctx: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        Ok(HookAction::Continue)
    }
}

#[mellea::hook("session_reset", mode = audit, crate = self::reexported::runtime)]
async fn reset(_payload: &SessionResetPayload, _ctx: &HookContext) -> HookResult {
    Ok(HookAction::Continue)
}

fn main() {
    let _guard = mellea::register(Guard).unwrap();
    let _reset = mellea::register(reset_hook()).unwrap();
    let _future = Backend.chat(GenerationRequest::default());
}
