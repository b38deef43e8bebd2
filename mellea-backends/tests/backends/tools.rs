//! Tool-calling conversations on the wire, both backends against loopback servers: typed tool
//! definitions and tool-call / tool-result messages in the request body; tool calls in the
//! answer (plain, and streamed in pieces split across chunks and network reads) as callers and
//! post-call hooks see them.

use crate::support;

use std::time::Duration;

use futures_util::StreamExt;
use mellea_backends::ollama::{OllamaBackend, OllamaConfig};
use mellea_backends::openai::{OpenAiBackend, OpenAiConfig};
use mellea_runtime::generation::{GenerationRequest, Message};
use mellea_runtime::session::in_session;
use mellea_runtime::tools::{ToolCall, ToolDefinition};
use serde_json::json;
use support::in_pieces;
use support::recorder::Recorder;
use support::server::{MockServer, Reply};

fn weather_tool() -> ToolDefinition {
    ToolDefinition::new(
        "get_weather",
        "Current weather of a city.",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )
}

/// The second turn of a tool loop: the model's call and the tool's answer.
fn second_turn() -> GenerationRequest {
    GenerationRequest::new([
        Message::user("Weather in Paris?"),
        Message::assistant("").with_tool_calls([ToolCall::new(
            "get_weather",
            r#"{"city":"Paris"}"#,
        )
        .with_id("call_7")]),
        Message::tool_result("call_7", r#"{"celsius":21}"#),
    ])
    .with_tools([weather_tool()])
}

fn openai(server: &MockServer) -> OpenAiBackend {
    OpenAiBackend::new(
        OpenAiConfig::new("gpt-4o-mini")
            .with_base_url(server.url("/v1"))
            .with_api_key("sk-test")
            .with_timeout(Duration::from_secs(10)),
    )
    .unwrap()
}

fn ollama(server: &MockServer) -> OllamaBackend {
    OllamaBackend::new(
        OllamaConfig::new("granite4:micro")
            .with_host(server.url(""))
            .with_timeout(Duration::from_secs(10)),
    )
    .unwrap()
}

#[tokio::test]
async fn openai_sends_tools_calls_and_results_and_reads_the_calls_back() {
    let server = MockServer::always(Reply::json(
        r#"{"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"finish_reason":"tool_calls",
            "message":{"role":"assistant","content":null,"tool_calls":[
              {"id":"call_8","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Lyon\"}"}}]}}]}"#,
    ))
    .await;
    let (recorder, _registered) = Recorder::new("tools-openai-chat").register();
    let response = in_session("tools-openai-chat", openai(&server).chat(second_turn()))
        .await
        .unwrap();

    let body = server.only_request().json();
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "function": {
            "name": "get_weather", "description": "Current weather of a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])
    );
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_7", "type": "function",
               "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]})
    );
    assert_eq!(
        body["messages"][2],
        json!({"role": "tool", "content": "{\"celsius\":21}", "tool_call_id": "call_7"})
    );
    let expected = vec![ToolCall::new("get_weather", r#"{"city":"Lyon"}"#).with_id("call_8")];
    assert_eq!(
        mellea_runtime::hooks::GenerationOutput::tool_calls(&response),
        expected
    );
    assert_eq!(
        recorder.output().tool_calls,
        expected,
        "hooks see the calls"
    );
}

#[tokio::test]
async fn openai_streamed_tool_call_deltas_are_assembled() {
    // Two calls; the arguments of each arrive in fragments over several events, and the
    // events themselves are cut into 7-byte network reads.
    let events = [
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]}}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]}}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]}}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\":\"Oslo\"}"}}]}}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        r#"{"id":"c","model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}}"#,
    ];
    let mut body: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    body.push_str("data: [DONE]\n\n");
    let server = MockServer::always(Reply::stream("text/event-stream", in_pieces(&body, 7))).await;
    let (recorder, _registered) = Recorder::new("tools-openai-stream").register();
    let request = GenerationRequest::new([Message::user("Weather and time in Oslo?")])
        .with_tools([weather_tool()]);
    in_session("tools-openai-stream", async {
        let mut stream = openai(&server).chat_stream(request).await.unwrap();
        while let Some(chunk) = stream.next().await {
            chunk.unwrap();
        }
    })
    .await;
    assert_eq!(
        recorder.output().tool_calls,
        vec![
            ToolCall::new("get_weather", r#"{"city":"Oslo"}"#).with_id("call_a"),
            ToolCall::new("get_time", "{}").with_id("call_b"),
        ]
    );
    assert_eq!(
        server.only_request().json()["tools"][0]["function"]["name"],
        "get_weather"
    );
}

#[tokio::test]
async fn ollama_sends_tools_calls_and_results_and_reads_the_calls_back() {
    let server = MockServer::always(Reply::json(
        r#"{"model":"granite4:micro","message":{"role":"assistant","content":"",
            "tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Lyon"}}}]},
            "done":true,"done_reason":"stop","prompt_eval_count":3,"eval_count":4}"#,
    ))
    .await;
    let (recorder, _registered) = Recorder::new("tools-ollama-chat").register();
    let response = in_session("tools-ollama-chat", ollama(&server).chat(second_turn()))
        .await
        .unwrap();
    let body = server.only_request().json();
    assert_eq!(body["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(
        body["messages"][1]["tool_calls"],
        json!([{"id": "call_7", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}])
    );
    assert_eq!(
        body["messages"][2],
        json!({"role": "tool", "content": "{\"celsius\":21}", "tool_name": "get_weather", "tool_call_id": "call_7"})
    );
    let expected = vec![ToolCall::new("get_weather", r#"{"city":"Lyon"}"#)];
    assert_eq!(
        mellea_runtime::hooks::GenerationOutput::tool_calls(&response),
        expected
    );
    assert_eq!(recorder.output().tool_calls, expected);
}

#[tokio::test]
async fn ollama_streamed_tool_calls_are_collected_across_lines() {
    let lines = [
        r#"{"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"id":"t1","function":{"index":0,"name":"get_weather","arguments":{"city":"Oslo"}}}]},"done":false}"#,
        r#"{"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"id":"t2","function":{"index":1,"name":"get_time","arguments":{}}}]},"done":false}"#,
        r#"{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":3,"eval_count":4}"#,
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let server =
        MockServer::always(Reply::stream("application/x-ndjson", in_pieces(&body, 11))).await;
    let (recorder, _registered) = Recorder::new("tools-ollama-stream").register();
    let request =
        GenerationRequest::new([Message::user("Weather and time?")]).with_tools([weather_tool()]);
    in_session("tools-ollama-stream", async {
        let mut stream = ollama(&server).chat_stream(request).await.unwrap();
        while let Some(chunk) = stream.next().await {
            chunk.unwrap();
        }
    })
    .await;
    assert_eq!(
        recorder.output().tool_calls,
        vec![
            ToolCall::new("get_weather", r#"{"city":"Oslo"}"#).with_id("t1"),
            ToolCall::new("get_time", "{}").with_id("t2"),
        ]
    );
}
