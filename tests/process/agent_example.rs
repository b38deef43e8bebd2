//! The `agent` example's spans: `invoke_agent` is the parent of two `chat` spans and one
//! `execute_tool` span, all with one `gen_ai.conversation.id`; the agent and tool attributes
//! follow the GenAI semantic conventions; content only with capture on. Also the agent's
//! component hooks fire exactly once per invocation, also on failure and when dropped.

#[allow(dead_code)]
#[path = "../../examples/agent.rs"]
mod agent;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mellea::hooks::{
    ComponentPostErrorPayload, ComponentPostSuccessPayload, ComponentPreExecutePatch,
    ComponentPreExecutePayload,
};
use mellea::plugin::{HookAction, HookContext, HookResult};
use mellea::session::in_session;
use mellea::telemetry::TracingConfig;
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;

/// Tests that set up process-wide tracing or register by name take turns.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn str_attr(span: &SpanData, key: &str) -> Option<String> {
    attr(span, key).map(|v| v.as_str().into_owned())
}

async fn traced(capture: bool) -> (String, Vec<SpanData>) {
    let mut config = TracingConfig::default();
    config.capture_content = capture;
    let model = agent::Model::Scripted(agent::Scripted);
    let (answer, tree) = agent::run_traced_with(config, &model).await.unwrap();
    let spans = tree.0.lock().unwrap().clone();
    (answer.unwrap(), spans)
}

#[tokio::test]
async fn the_agent_span_parents_two_chats_and_one_tool_call_in_one_conversation() {
    let _exclusive = crate::support::exclusive();
    let _turn = TURN.lock().await;
    let (answer, spans) = traced(false).await;
    assert_eq!(answer, "It is 21.5 °C and sunny in Paris.");
    assert_eq!(
        spans.len(),
        4,
        "{:#?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let root = spans
        .iter()
        .find(|s| s.name == "invoke_agent weather_agent")
        .unwrap();
    let mut children: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.parent_span_id == root.span_context.span_id())
        .collect();
    children.sort_by_key(|s| s.start_time);
    let names: Vec<&str> = children.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "chat scripted-1",
            "execute_tool get_weather",
            "chat scripted-1"
        ]
    );
    for span in &spans {
        assert_eq!(span.span_context.trace_id(), root.span_context.trace_id());
    }

    let conversation = str_attr(root, "gen_ai.conversation.id").expect("a minted conversation id");
    assert_eq!(conversation.len(), 36, "a UUID: {conversation}");
    for span in &spans {
        assert_eq!(
            str_attr(span, "gen_ai.conversation.id").as_deref(),
            Some(conversation.as_str()),
            "{}",
            span.name
        );
    }

    assert_eq!(root.span_kind, SpanKind::Internal);
    assert_eq!(
        str_attr(root, "gen_ai.operation.name").as_deref(),
        Some("invoke_agent")
    );
    assert_eq!(
        str_attr(root, "gen_ai.agent.name").as_deref(),
        Some("weather_agent")
    );
    assert_eq!(
        str_attr(root, "gen_ai.agent.id").as_deref(),
        Some("weather-agent-v1")
    );
    assert_eq!(
        str_attr(root, "gen_ai.agent.description").as_deref(),
        Some("Answers weather questions, calling `get_weather` when it needs to.")
    );
    let tool = children[1];
    assert_eq!(tool.span_kind, SpanKind::Internal);
    assert_eq!(
        str_attr(tool, "gen_ai.operation.name").as_deref(),
        Some("execute_tool")
    );
    assert_eq!(
        str_attr(tool, "gen_ai.tool.name").as_deref(),
        Some("get_weather")
    );
    assert_eq!(
        str_attr(tool, "gen_ai.tool.call.id").as_deref(),
        Some("call_1")
    );
    assert_eq!(
        str_attr(tool, "gen_ai.tool.type").as_deref(),
        Some("function")
    );
    assert!(str_attr(tool, "gen_ai.tool.description").is_some());
    assert_eq!(tool.status, Status::Unset);

    // Capture off: no content anywhere.
    for span in &spans {
        for key in [
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.tool.call.arguments",
            "gen_ai.tool.call.result",
        ] {
            assert!(attr(span, key).is_none(), "{key} on {}", span.name);
        }
    }
}

#[tokio::test]
async fn with_capture_on_the_spans_carry_messages_tool_calls_and_results() {
    let _exclusive = crate::support::exclusive();
    let _turn = TURN.lock().await;
    let (_, spans) = traced(true).await;
    let root = spans
        .iter()
        .find(|s| s.name.starts_with("invoke_agent"))
        .unwrap();
    let input: serde_json::Value =
        serde_json::from_str(&str_attr(root, "gen_ai.input.messages").unwrap()).unwrap();
    assert_eq!(input[0]["role"], "user");
    assert_eq!(
        input[0]["parts"][0]["content"],
        "What is the weather in Paris?"
    );
    let output: serde_json::Value =
        serde_json::from_str(&str_attr(root, "gen_ai.output.messages").unwrap()).unwrap();
    assert_eq!(
        output[0]["parts"][0]["content"],
        "It is 21.5 °C and sunny in Paris."
    );

    let tool = spans
        .iter()
        .find(|s| s.name.starts_with("execute_tool"))
        .unwrap();
    assert_eq!(
        str_attr(tool, "gen_ai.tool.call.arguments").as_deref(),
        Some(r#"{"city":"Paris"}"#)
    );
    let result: serde_json::Value =
        serde_json::from_str(&str_attr(tool, "gen_ai.tool.call.result").unwrap()).unwrap();
    assert_eq!(result["celsius"], 21.5);

    let mut chats: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name.starts_with("chat"))
        .collect();
    chats.sort_by_key(|s| s.start_time);
    // The first answer is a tool call; the second prompt carries it and its result.
    let first: serde_json::Value =
        serde_json::from_str(&str_attr(chats[0], "gen_ai.output.messages").unwrap()).unwrap();
    assert_eq!(
        first[0]["parts"],
        serde_json::json!([{"type": "tool_call", "id": "call_1", "name": "get_weather",
                            "arguments": {"city": "Paris"}}])
    );
    let second: serde_json::Value =
        serde_json::from_str(&str_attr(chats[1], "gen_ai.input.messages").unwrap()).unwrap();
    assert_eq!(second[2]["parts"][0]["type"], "tool_call");
    assert_eq!(second[3]["role"], "tool");
    assert_eq!(second[3]["parts"][0]["type"], "tool_call_response");
    assert_eq!(second[3]["parts"][0]["id"], "call_1");
}

#[derive(Debug, Clone, PartialEq)]
enum Ended {
    Success { session: Option<String> },
    Error { error_type: String },
}

#[derive(Default)]
struct ComponentRecorder {
    pre: Mutex<Vec<Option<String>>>,
    ended: Mutex<Vec<Ended>>,
}

#[mellea::plugin(name = "agent-component-recorder")]
impl ComponentRecorder {
    #[hook("component_pre_execute")]
    async fn pre(
        &self,
        payload: &ComponentPreExecutePayload,
        _ctx: &HookContext,
    ) -> HookResult<ComponentPreExecutePatch> {
        assert_eq!(payload.component_type, "Agent");
        self.pre.lock().unwrap().push(payload.agent_name.clone());
        Ok(HookAction::Continue)
    }

    #[hook("component_post_success")]
    async fn success(
        &self,
        payload: &ComponentPostSuccessPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        self.ended.lock().unwrap().push(Ended::Success {
            session: payload.base.session_id.as_deref().map(str::to_owned),
        });
        Ok(HookAction::Continue)
    }

    #[hook("component_post_error")]
    async fn error(&self, payload: &ComponentPostErrorPayload, _ctx: &HookContext) -> HookResult {
        self.ended.lock().unwrap().push(Ended::Error {
            error_type: payload.error_type.clone(),
        });
        Ok(HookAction::Continue)
    }
}

#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error("step failed")]
    Failed,
    #[error(transparent)]
    Blocked(#[from] mellea::PluginViolation),
}

/// Fails, panics or stalls, as asked.
#[mellea::agent(name = "moody")]
async fn moody(mode: String) -> Result<String, StepError> {
    match mode.as_str() {
        "fail" => Err(StepError::Failed),
        "panic" => panic!("moody panicked"),
        "stall" => std::future::pending().await,
        _ => Ok(mellea::session::current_session_id().unwrap().to_string()),
    }
}

#[tokio::test]
async fn every_invocation_ends_exactly_once_and_keeps_the_callers_conversation() {
    let _exclusive = crate::support::exclusive();
    let _turn = TURN.lock().await;
    let recorder = Arc::new(ComponentRecorder::default());
    let registration = mellea::register(recorder.clone()).unwrap();

    let seen = in_session("caller-conversation", moody("ok".into()))
        .await
        .unwrap();
    assert_eq!(
        seen, "caller-conversation",
        "the caller's session is the conversation"
    );
    let minted = moody("ok".into()).await.unwrap();
    assert_eq!(minted.len(), 36, "else a fresh UUID: {minted}");
    assert!(matches!(moody("fail".into()).await, Err(StepError::Failed)));
    assert!(
        tokio::spawn(moody("panic".into()))
            .await
            .unwrap_err()
            .is_panic()
    );
    let stalled = tokio::time::timeout(Duration::from_millis(20), moody("stall".into())).await;
    assert!(stalled.is_err());
    mellea::unregister(&registration);

    assert_eq!(recorder.pre.lock().unwrap().len(), 5);
    let ended = recorder.ended.lock().unwrap().clone();
    assert_eq!(
        ended,
        [
            Ended::Success {
                session: Some("caller-conversation".into())
            },
            Ended::Success {
                session: Some(minted)
            },
            Ended::Error {
                error_type: "StepError".into()
            },
            Ended::Error {
                error_type: "panic".into()
            },
            Ended::Error {
                error_type: "cancelled".into()
            },
        ]
    );
}
