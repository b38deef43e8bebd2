//! The chat and batch paths of `#[backend]` / `#[generation_hook]`: ids, patches reaching the
//! body, blocks, errors, and exactly one terminal hook per generation (reference:
//! mellea-tracing.md §9 cases 33–38, mellea-plugins.md §9 cases 41–44).

use crate::support::echo_backend;

use echo_backend::{Echo, EchoError, Fired, Recorder, assert_each_ended_once, record_session};
use mellea::generation::{BatchGenerationRequest, GenerationRequest, Message};
use mellea::hooks::{Format, GenerationBatchPreCallPatch, GenerationPreCallPatch, ModelOptions};
use mellea::session::in_session;

fn hello() -> GenerationRequest {
    GenerationRequest::new([Message::user("hello world")])
}

#[tokio::test]
async fn pre_call_fires_once_with_a_uuid_generation_id_model_and_provider() {
    let (recorder, registration) = record_session("chat-ids", Recorder::named("chat-ids"));
    let echo = Echo::new();
    let reply = in_session("chat-ids", echo.generate(hello()))
        .await
        .unwrap();
    assert_eq!(reply.text, "hello world");
    let fired = recorder.fired();
    assert_eq!(fired.len(), 2, "{fired:?}");
    let Fired::Pre {
        id,
        model,
        provider,
        stream,
        session,
    } = &fired[0]
    else {
        panic!("first hook should be pre-call: {fired:?}")
    };
    uuid::Uuid::parse_str(id).expect("generation_id is a UUID");
    assert_eq!(model.as_deref(), Some("echo-model"));
    assert_eq!(provider.as_deref(), Some("echo"));
    assert!(!stream);
    assert_eq!(session.as_deref(), Some("chat-ids"));
    mellea::unregister(&registration);
}

#[tokio::test]
async fn post_call_fires_once_with_the_same_id_latency_and_the_output_view() {
    let (recorder, registration) = record_session("chat-post", Recorder::named("chat-post"));
    in_session("chat-post", Echo::new().generate(hello()))
        .await
        .unwrap();
    let fired = recorder.fired();
    let Fired::Post {
        id,
        latency_ms,
        usage,
        text,
        finish,
        ..
    } = &fired[1]
    else {
        panic!("second hook should be post-call: {fired:?}")
    };
    assert_eq!(id, fired[0].id());
    assert!(*latency_ms >= 0.0);
    assert_eq!(usage.unwrap().output_tokens, Some(2));
    assert_eq!(text.as_deref(), Some("hello world"));
    assert_eq!(finish, &["stop"]);
    assert_eq!(assert_each_ended_once(&fired), 1);
    mellea::unregister(&registration);
}

#[tokio::test]
async fn two_generations_get_distinct_ids() {
    let (recorder, registration) =
        record_session("chat-distinct", Recorder::named("chat-distinct"));
    let echo = Echo::new();
    in_session("chat-distinct", async {
        echo.generate(hello()).await.unwrap();
        echo.generate(hello()).await.unwrap();
    })
    .await;
    assert_eq!(assert_each_ended_once(&recorder.fired()), 2);
    mellea::unregister(&registration);
}

#[tokio::test]
async fn accepted_patches_reach_the_body() {
    let mut options = ModelOptions::new();
    options.insert("temperature".into(), 0.0.into());
    let mut recorder = Recorder::named("chat-patch");
    recorder.patch = Some(
        GenerationPreCallPatch::new()
            .with_model_options(options.clone())
            .with_format(Some(Format::new(
                "Answer",
                serde_json::json!({"type": "object"}),
            )))
            .with_tool_calls(true),
    );
    let (_recorder, registration) = record_session("chat-patch", recorder);
    let request = hello().with_option("temperature", 0.9);
    let reply = in_session("chat-patch", Echo::new().generate(request))
        .await
        .unwrap();
    assert_eq!(reply.seen.model_options, options);
    assert_eq!(reply.seen.format.as_deref(), Some("Answer"));
    assert!(reply.seen.tool_calls);
    mellea::unregister(&registration);
}

#[tokio::test]
async fn a_block_returns_the_violation_without_calling_the_backend_and_ends_the_generation() {
    let mut recorder = Recorder::named("chat-block");
    recorder.block = Some("prompt mentions a secret".into());
    let (recorder, registration) = record_session("chat-block", recorder);
    let echo = Echo::new();
    let error = in_session("chat-block", echo.generate(hello()))
        .await
        .unwrap_err();
    let EchoError::Blocked(violation) = error else {
        panic!("expected the violation, got {error:?}")
    };
    assert_eq!(violation.reason, "prompt mentions a secret");
    assert_eq!(violation.plugin_name, "chat-block.generation_pre_call");
    assert_eq!(
        violation.to_string(),
        "Plugin blocked generation_pre_call: [TEST] prompt mentions a secret"
    );
    assert_eq!(echo.calls(), 0, "the backend must not be called");
    let fired = recorder.fired();
    assert_each_ended_once(&fired);
    let Some(Fired::Error { error, .. }) = fired.last() else {
        panic!("{fired:?}")
    };
    assert_eq!(error.error_type, "PluginViolation");
    mellea::unregister(&registration);
}

#[tokio::test]
async fn a_failing_body_fires_the_error_hook_once_and_returns_its_error() {
    let (recorder, registration) = record_session("chat-error", Recorder::named("chat-error"));
    let error = in_session(
        "chat-error",
        Echo::new().generate(hello().with_option("fail", true)),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, EchoError::Failed(_)));
    let fired = recorder.fired();
    assert_each_ended_once(&fired);
    let Fired::Error { id, error, .. } = &fired[1] else {
        panic!("{fired:?}")
    };
    assert_eq!(id, fired[0].id(), "pre-call and error share the id");
    assert_eq!(error.error_type, "EchoError");
    assert_eq!(error.message, "echo failed: asked to fail");
    assert!(!fired.iter().any(|f| matches!(f, Fired::Post { .. })));
    mellea::unregister(&registration);
}

#[tokio::test]
async fn batch_fires_one_pre_and_one_post_with_every_output_and_summed_usage() {
    let mut options = ModelOptions::new();
    options.insert("max_tokens".into(), 7.into());
    let mut recorder = Recorder::named("batch-ok");
    recorder.batch_patch =
        Some(GenerationBatchPreCallPatch::new().with_model_options(options.clone()));
    let (recorder, registration) = record_session("batch-ok", recorder);
    let replies = in_session(
        "batch-ok",
        Echo::new().generate_batch(BatchGenerationRequest::new(["a b", "c d e"])),
    )
    .await
    .unwrap();
    assert_eq!(replies.len(), 2);
    assert_eq!(
        replies[0].seen.model_options, options,
        "the patch reaches the body"
    );
    let fired = recorder.fired();
    assert_eq!(fired.len(), 2, "{fired:?}");
    let Fired::BatchPre { id, num_actions } = &fired[0] else {
        panic!("{fired:?}")
    };
    uuid::Uuid::parse_str(id).unwrap();
    assert_eq!(*num_actions, 2);
    let Fired::BatchPost {
        id: post_id,
        outputs,
        usage,
    } = &fired[1]
    else {
        panic!("{fired:?}")
    };
    assert_eq!(post_id, id);
    assert_eq!(*outputs, 2);
    assert_eq!(
        usage.unwrap().output_tokens,
        Some(3 + 4),
        "usage is summed over outputs"
    );
    mellea::unregister(&registration);
}

#[tokio::test]
async fn a_failing_batch_fires_batch_error_once_and_no_post() {
    let (recorder, registration) = record_session("batch-err", Recorder::named("batch-err"));
    let request = BatchGenerationRequest::new(["x"]).with_option("fail", true);
    let error = in_session("batch-err", Echo::new().generate_batch(request))
        .await
        .unwrap_err();
    assert!(matches!(error, EchoError::Failed(_)));
    let fired = recorder.fired();
    assert_each_ended_once(&fired);
    assert!(matches!(&fired[1], Fired::BatchError { id, .. } if id == fired[0].id()));
    assert!(!fired.iter().any(|f| matches!(f, Fired::BatchPost { .. })));
    mellea::unregister(&registration);
}

#[tokio::test]
async fn plugins_of_another_session_do_not_see_the_generation() {
    let (recorder, registration) = record_session("session-a", Recorder::named("session-a"));
    in_session("session-b", Echo::new().generate(hello()))
        .await
        .unwrap();
    Echo::new().generate(hello()).await.unwrap();
    assert!(recorder.fired().is_empty());
    mellea::unregister(&registration);
}
