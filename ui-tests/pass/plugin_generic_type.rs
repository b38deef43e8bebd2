// A plugin type with type parameters: `impl Plugin` carries the impl's generics and bounds.
use std::fmt::Display;

use mellea::hooks::{SessionPreInit, SessionPreInitPatch, SessionPreInitPayload};
use mellea::{HookAction, HookContext, HookResult, PluginRegistry};

struct Tagger<T> {
    tag: T,
}

#[mellea::plugin(name = "tagger")]
impl<T> Tagger<T>
where
    T: Display + Send + Sync + 'static,
{
    #[hook("session_pre_init")]
    async fn tag(
        &self,
        payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<SessionPreInitPatch> {
        Ok(HookAction::Modify(
            SessionPreInitPatch::new().with_model_id(format!("{}@{}", payload.model_id, self.tag)),
        ))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let registry = PluginRegistry::new();
    let _registration = registry.register(Tagger { tag: 7u32 }).unwrap();
    let mut payload = SessionPreInitPayload::default();
    payload.model_id = "granite".into();
    let dispatched = registry
        .dispatch::<SessionPreInit>(payload, HookContext::new())
        .await
        .unwrap();
    assert_eq!(dispatched.payload.model_id, "granite@7");
}
