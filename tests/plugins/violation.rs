//! A handler's block reaches the caller with everything the handler said: the error a caller
//! gets (`PluginViolation`) carries the handler's `Violation` whole, plus where it was raised.

use mellea::hooks::{
    GenerationPreCall, GenerationPreCallPatch, GenerationPreCallPayload, HookType,
};
use mellea::{HookAction, HookContext, HookResult, PluginRegistry, Violation};

#[mellea::plugin(name = "guard")]
impl Guard {
    #[hook("generation_pre_call")]
    async fn check(
        &self,
        _payload: &GenerationPreCallPayload,
        _ctx: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        let mut details = serde_json::Map::new();
        details.insert("field".into(), "prompt".into());
        details.insert("offset".into(), 17.into());
        Ok(HookAction::Block(
            Violation::new("prompt contains a secret")
                .with_code("PII")
                .with_description("an API key was found in the prompt")
                .with_details(details),
        ))
    }
}

struct Guard;

#[tokio::test]
async fn the_callers_error_keeps_the_handlers_description_and_details() {
    let registry = PluginRegistry::new();
    let _registration = registry.register(Guard).unwrap();
    let blocked = registry
        .dispatch::<GenerationPreCall>(Default::default(), HookContext::new())
        .await
        .expect_err("the guard blocks");
    assert_eq!(blocked.hook, HookType::GenerationPreCall);
    assert_eq!(blocked.plugin_name, "guard.generation_pre_call");
    assert_eq!(blocked.reason, "prompt contains a secret");
    assert_eq!(blocked.code, "PII");
    assert_eq!(blocked.description, "an API key was found in the prompt");
    assert_eq!(blocked.details["field"], "prompt");
    assert_eq!(blocked.details["offset"], 17);
    assert!(blocked.failure.is_none());
}
