//! The OpenAI-compatible backend against a loopback server speaking the real wire format:
//! what the server receives (path, headers, patched body), what callers and hooks get back,
//! and every class of failure.

use crate::support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mellea_backends::openai::{ChatChunk, OpenAiBackend, OpenAiConfig, OpenAiError};
use mellea_runtime::generation::{
    BatchGenerationRequest, ChunkStream, ClassifyError, GenerationRequest, Message,
};
use mellea_runtime::hooks::{
    Format, GenerationBatchPreCallPatch, GenerationPreCallPatch, ModelOptions, model_option,
};
use mellea_runtime::session::in_session;
use opentelemetry::context::FutureExt as _;
use serde_json::json;
use support::recorder::{Fired, Recorder, SHORT_TIMEOUT};
use support::server::{MockServer, Reply, closed_port};
use support::{expected_traceparent, fixture, in_pieces, ndjson_lines, sse_events, traced_context};

const KEY: &str = "sk-test-4f9a1c2e7b3d";
const SSE: &str = "text/event-stream";

fn backend_at(base_url: &str, timeout: Duration) -> OpenAiBackend {
    OpenAiBackend::new(
        OpenAiConfig::new("gpt-4o-mini")
            .with_base_url(base_url)
            .with_api_key(KEY)
            .with_timeout(timeout)
            .with_retry_policy(support::fast_retries()),
    )
    .unwrap()
}

fn backend(server: &MockServer) -> OpenAiBackend {
    backend_at(&server.url("/v1"), Duration::from_secs(10))
}

fn question() -> GenerationRequest {
    GenerationRequest::new([
        Message::system("Answer in one sentence."),
        Message::user("What does ownership buy Rust?"),
    ])
}

fn options(pairs: &[(&str, serde_json::Value)]) -> ModelOptions {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

async fn collect(
    stream: ChunkStream<'static, ChatChunk, OpenAiError>,
) -> (Vec<ChatChunk>, Option<OpenAiError>) {
    let mut chunks = Vec::new();
    let mut stream = stream;
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => chunks.push(chunk),
            Err(error) => {
                assert!(
                    stream.next().await.is_none(),
                    "the stream ends after an error"
                );
                return (chunks, Some(error));
            }
        }
    }
    (chunks, None)
}

fn text_of(chunks: &[ChatChunk]) -> String {
    chunks.iter().filter_map(ChatChunk::text).collect()
}

#[tokio::test]
async fn chat_posts_the_patched_request_with_key_and_traceparent_and_hooks_see_the_response() {
    let server = MockServer::always(Reply::json(fixture("openai/chat_completion.json"))).await;
    let mut recorder = Recorder::new("openai-chat");
    recorder.patch = Some(
        GenerationPreCallPatch::new()
            .with_model_options(options(&[
                (model_option::TEMPERATURE, json!(0.0)),
                (model_option::MAX_TOKENS, json!(64)),
                (model_option::SEED, json!(7)),
                (
                    "tools",
                    json!([{"type": "function", "function": {"name": "f"}}]),
                ),
            ]))
            .with_format(Some(Format::new(
                "Answer",
                json!({"type": "object", "properties": {"text": {"type": "string"}}}),
            )))
            .with_tool_calls(false),
    );
    let (recorder, _registered) = recorder.register();
    let request = question()
        .with_option(model_option::TEMPERATURE, 0.9)
        .with_tool_calls(true);

    let response = in_session("openai-chat", backend(&server).chat(request))
        .with_context(traced_context())
        .await
        .unwrap();

    let received = server.only_request();
    assert_eq!(received.method, "POST");
    assert_eq!(received.path, "/v1/chat/completions");
    assert_eq!(
        received.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(received.header("content-type"), Some("application/json"));
    assert_eq!(received.header("accept"), Some("application/json"));
    assert_eq!(
        received.header("traceparent"),
        Some(expected_traceparent().as_str())
    );
    assert_eq!(
        received.json(),
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "Answer in one sentence."},
                {"role": "user", "content": "What does ownership buy Rust?"},
            ],
            "temperature": 0.0,
            "max_tokens": 64,
            "seed": 7,
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "Answer",
                "schema": {"type": "object", "properties": {"text": {"type": "string"}}},
                "strict": true,
            }},
            "stream": false,
        }),
        "the body is built from the patched request: the hook's options and format, and no tools once it switched tool calls off"
    );

    assert_eq!(
        response.text(),
        Some("Ownership lets the Rust compiler prove memory safety without a garbage collector.")
    );
    assert_eq!(
        response.id.as_deref(),
        Some("chatcmpl-BqYm5fJ9cL3xQe2Vt7nKpW8sR1aZd")
    );

    let fired = recorder.fired();
    let Fired::Pre {
        model,
        provider,
        stream,
        backend,
        ..
    } = &fired[0]
    else {
        panic!("{fired:#?}")
    };
    assert_eq!(model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(provider.as_deref(), Some("openai"));
    assert!(!stream);
    let backend = backend.as_ref().unwrap();
    assert!(
        backend.remote,
        "a backend with a server is remote (CLIENT spans)"
    );
    assert_eq!(backend.server_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(backend.server_port, Some(server.port()));

    let output = recorder.output();
    let usage = output.usage.unwrap();
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.total_tokens),
        (Some(28), Some(15), Some(43))
    );
    assert_eq!(usage.cache_read_input_tokens, Some(0));
    assert_eq!(
        output.response_model.as_deref(),
        Some("gpt-4o-mini-2024-07-18")
    );
    assert_eq!(
        output.response_id.as_deref(),
        Some("chatcmpl-BqYm5fJ9cL3xQe2Vt7nKpW8sR1aZd")
    );
    assert_eq!(output.finish_reasons, ["stop"]);
    assert_eq!(output.text.as_deref(), response.text());
    assert_eq!(output.time_to_first_chunk, None, "not streamed");
}

#[tokio::test]
async fn chat_reports_cached_prompt_tokens_and_reasoning_tokens() {
    let server = MockServer::always(Reply::json(fixture(
        "openai/chat_completion_reasoning.json",
    )))
    .await;
    let (recorder, _registered) = Recorder::new("openai-reasoning").register();
    in_session("openai-reasoning", backend(&server).chat(question()))
        .await
        .unwrap();
    let usage = recorder.output().usage.unwrap();
    assert_eq!(usage.input_tokens, Some(1180));
    assert_eq!(usage.output_tokens, Some(245));
    assert_eq!(usage.cache_read_input_tokens, Some(1024));
    assert_eq!(usage.reasoning_tokens, Some(192));
}

#[tokio::test]
async fn chat_sends_tools_while_tool_calls_are_on_and_returns_the_calls() {
    let server = MockServer::always(Reply::json(fixture(
        "openai/chat_completion_tool_calls.json",
    )))
    .await;
    let (recorder, _registered) = Recorder::new("openai-tools").register();
    let tools = json!([{"type": "function", "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }}]);
    let request = GenerationRequest::new([Message::user("Weather in Paris?")])
        .with_option("tools", tools.clone())
        .with_option("tool_choice", "auto")
        .with_tool_calls(true);
    let response = in_session("openai-tools", backend(&server).chat(request))
        .await
        .unwrap();
    let body = server.only_request().json();
    assert_eq!(body["tools"], tools);
    assert_eq!(body["tool_choice"], "auto");
    let calls = response.tool_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].id.as_deref(),
        Some("call_Xo3tZbQ8vN1kLr5Yw2SeJd7H")
    );
    assert_eq!(calls[0].function.name, "get_weather");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&calls[0].function.arguments).unwrap(),
        json!({"city": "Paris", "unit": "celsius"})
    );
    assert_eq!(response.text(), None);
    assert_eq!(recorder.output().finish_reasons, ["tool_calls"]);
}

#[tokio::test]
async fn traceparent_is_sent_inside_a_trace_and_only_there() {
    let server = MockServer::always(Reply::json(fixture("openai/chat_completion.json"))).await;
    let backend = backend(&server);
    let response = backend.chat(question()).await.unwrap();
    assert_eq!(response.choices[0].finish_reason.as_deref(), Some("stop"));
    backend
        .chat(question())
        .with_context(traced_context())
        .await
        .unwrap();
    let received = server.received();
    assert_eq!(
        received[0].header("traceparent"),
        None,
        "no trace, no header"
    );
    assert_eq!(
        received[1].header("traceparent"),
        Some(expected_traceparent().as_str()),
        "outside any session too"
    );
}

#[tokio::test]
async fn dropping_a_stream_early_ends_the_generation_as_cancelled() {
    let events = sse_events(&fixture("openai/chat_completion_stream.sse"));
    let server = MockServer::always(Reply::stream(SSE, events)).await;
    let (recorder, _registered) = Recorder::new("openai-drop").register();
    let mut stream = in_session("openai-drop", backend(&server).chat_stream(question()))
        .await
        .unwrap();
    for _ in 0..2 {
        stream.next().await.unwrap().unwrap();
    }
    drop(stream);
    // The cancelled hook fires from the drop on a spawned task.
    for _ in 0..100 {
        if recorder.fired().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(recorder.error().error_type, "cancelled");
}

#[tokio::test]
async fn stream_yields_every_chunk_and_post_call_sees_text_usage_and_time_to_first_chunk() {
    let events = sse_events(&fixture("openai/chat_completion_stream.sse"));
    let server = MockServer::always(Reply::stream(SSE, events)).await;
    let (recorder, _registered) = Recorder::new("openai-stream").register();

    let stream = in_session(
        "openai-stream",
        backend(&server).chat_stream(question().with_option(model_option::TEMPERATURE, 0.3)),
    )
    .with_context(traced_context())
    .await
    .unwrap();
    let (chunks, error) = collect(stream).await;

    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        text_of(&chunks),
        "Borrowing lets code read data without owning it."
    );
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty(), "the usage chunk has no choices");
    assert_eq!(last.usage.unwrap().total_tokens, Some(29));

    let received = server.only_request();
    assert_eq!(received.header("accept"), Some(SSE));
    assert_eq!(
        received.header("traceparent"),
        Some(expected_traceparent().as_str())
    );
    let body = received.json();
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["temperature"], 0.3);

    let Fired::Pre { stream, .. } = &recorder.fired()[0] else {
        panic!()
    };
    assert!(stream, "pre-call knows the call streams");
    let output = recorder.output();
    assert_eq!(
        output.text.as_deref(),
        Some("Borrowing lets code read data without owning it.")
    );
    let usage = output.usage.unwrap();
    assert_eq!(
        (usage.input_tokens, usage.output_tokens),
        (Some(19), Some(10))
    );
    assert_eq!(
        output.response_id.as_deref(),
        Some("chatcmpl-BqYt4Lm9QwE2Rx6ZpV8cN1kJ5hS0d")
    );
    assert_eq!(
        output.response_model.as_deref(),
        Some("gpt-4o-mini-2024-07-18")
    );
    assert_eq!(output.finish_reasons, ["stop"]);
    assert!(output.time_to_first_chunk.is_some());
}

#[tokio::test]
async fn stream_reassembles_events_split_across_arbitrary_network_reads() {
    let body = fixture("openai/chat_completion_stream.sse");
    for size in [1, 7, 64] {
        let server = MockServer::always(Reply::Chunked {
            content_type: SSE,
            pieces: in_pieces(&body, size),
            gap: Duration::ZERO,
            complete: true,
        })
        .await;
        let stream = backend(&server).chat_stream(question()).await.unwrap();
        let (chunks, error) = collect(stream).await;
        assert!(error.is_none(), "pieces of {size}: {error:?}");
        assert_eq!(
            text_of(&chunks),
            "Borrowing lets code read data without owning it.",
            "pieces of {size}"
        );
        assert_eq!(chunks.len(), 13, "pieces of {size}");
    }
}

#[tokio::test]
async fn stream_that_ends_after_its_finish_reason_but_without_done_still_succeeds() {
    // Some servers close the stream without `data: [DONE]`.
    let mut events = sse_events(&fixture("openai/chat_completion_stream.sse"));
    events.truncate(events.len() - 2); // drop the usage chunk and [DONE]
    let server = MockServer::always(Reply::stream(SSE, events)).await;
    let (recorder, _registered) = Recorder::new("openai-no-done").register();
    let stream = in_session("openai-no-done", backend(&server).chat_stream(question()))
        .await
        .unwrap();
    let (chunks, error) = collect(stream).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(chunks.len(), 12);
    assert_eq!(recorder.output().finish_reasons, ["stop"]);
}

#[tokio::test]
async fn batch_sends_every_prompt_in_one_completions_call_and_reports_the_aggregate_usage() {
    let server = MockServer::always(Reply::json(fixture("openai/completions_batch.json"))).await;
    let mut recorder = Recorder::new("openai-batch");
    recorder.batch_patch = Some(
        GenerationBatchPreCallPatch::new()
            .with_model_options(options(&[(model_option::MAX_TOKENS, json!(12))])),
    );
    let (recorder, _registered) = recorder.register();
    let request = BatchGenerationRequest::new(["1 + 1 =", "2 + 2 =", "3 * 2 ="])
        .with_option(model_option::MAX_TOKENS, 500);

    let batch = in_session("openai-batch", backend(&server).complete_batch(request))
        .with_context(traced_context())
        .await
        .unwrap();

    let received = server.only_request();
    assert_eq!(received.path, "/v1/completions");
    assert_eq!(
        received.header("traceparent"),
        Some(expected_traceparent().as_str())
    );
    assert_eq!(
        received.json(),
        json!({
            "model": "gpt-4o-mini",
            "prompt": ["1 + 1 =", "2 + 2 =", "3 * 2 ="],
            "max_tokens": 12,
            "stream": false,
        })
    );
    let texts: Vec<&str> = batch.completions.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            " 2",
            " 4",
            " 6, because three twos make six; multiplication is repeated"
        ]
    );

    let fired = recorder.fired();
    assert_eq!(
        fired.len(),
        2,
        "one pre and one post for the whole batch: {fired:#?}"
    );
    let Fired::BatchPre {
        num_actions,
        backend,
        ..
    } = &fired[0]
    else {
        panic!("{fired:#?}")
    };
    assert_eq!(*num_actions, 3);
    assert_eq!(backend.as_ref().unwrap().provider, "openai");
    let Fired::BatchPost { outputs, usage, .. } = &fired[1] else {
        panic!("{fired:#?}")
    };
    assert_eq!(outputs.len(), 3);
    assert_eq!(outputs[1].text.as_deref(), Some(" 4"));
    assert_eq!(outputs[2].finish_reasons, ["length"]);
    assert_eq!(
        outputs[0].response_id.as_deref(),
        Some("cmpl-BqYv7Hc3kP9mXe1TqL5wR8bN2zJ4g")
    );
    let usage = usage.unwrap();
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.total_tokens),
        (Some(18), Some(16), Some(34)),
        "the provider's aggregate usage, not a sum over outputs"
    );
}

#[tokio::test]
async fn batch_with_fewer_completions_than_prompts_is_a_malformed_response() {
    let server = MockServer::always(Reply::json(fixture("openai/completions_batch.json"))).await;
    let (recorder, _registered) = Recorder::new("openai-batch-short").register();
    let request = BatchGenerationRequest::new(["a", "b", "c", "d"]);
    let error = in_session(
        "openai-batch-short",
        backend(&server).complete_batch(request),
    )
    .await
    .unwrap_err();
    assert_eq!(error.error_type(), "malformed_response");
    assert!(
        error
            .to_string()
            .contains("4 prompts were sent but 3 completions came back")
    );
    assert_eq!(recorder.error().error_type, "malformed_response");
}

#[tokio::test]
async fn batch_failure_fires_the_batch_error_hook_with_its_class() {
    let server =
        MockServer::always(Reply::status_json(500, fixture("openai/error_500.json"))).await;
    let (recorder, _registered) = Recorder::new("openai-batch-error").register();
    let error = in_session(
        "openai-batch-error",
        backend(&server).complete_batch(BatchGenerationRequest::new(["a"])),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, OpenAiError::Server { status: 500, .. }),
        "{error}"
    );
    assert!(matches!(recorder.terminal(), Fired::BatchError { .. }));
    assert_eq!(recorder.error().error_type, "server_error");
}

#[tokio::test]
async fn a_block_returns_the_violation_and_never_calls_the_server() {
    let server = MockServer::always(Reply::json(fixture("openai/chat_completion.json"))).await;
    let mut recorder = Recorder::new("openai-block");
    recorder.block = Some("no questions about ownership".into());
    let (recorder, _registered) = recorder.register();
    let error = in_session("openai-block", backend(&server).chat(question()))
        .await
        .unwrap_err();
    let OpenAiError::Blocked(violation) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(violation.reason, "no questions about ownership");
    assert!(server.received().is_empty(), "the server is not called");
    assert_eq!(recorder.error().error_type, "PluginViolation");
}

/// Every HTTP error status, its class, and a fragment its message must carry.
#[tokio::test]
async fn every_error_status_maps_to_its_class_and_fires_the_error_hook_once() {
    let cases: Vec<(Reply, &str, &str)> = vec![
        (
            Reply::status_json(401, fixture("openai/error_401.json")),
            "auth",
            "Set OPENAI_API_KEY",
        ),
        (
            Reply::status_json(
                403,
                r#"{"error":{"message":"Project does not have access to model","type":"invalid_request_error"}}"#,
            ),
            "auth",
            "HTTP 403",
        ),
        (
            Reply::status_json(429, fixture("openai/error_429.json"))
                .with_header("retry-after", "20"),
            "rate_limit",
            "wait 20s",
        ),
        (
            Reply::status_json(400, fixture("openai/error_400.json")),
            "invalid_request",
            "Invalid 'temperature'",
        ),
        (
            Reply::status_json(404, fixture("openai/error_404_model.json")),
            "invalid_request",
            "The model `gpt-9` does not exist",
        ),
        (
            Reply::status_json(408, r#"{"error":{"message":"Request timed out."}}"#),
            "timeout",
            "HTTP 408",
        ),
        (
            Reply::status_json(500, fixture("openai/error_500.json")),
            "server_error",
            "The server had an error",
        ),
        (
            Reply::Body {
                status: 502,
                content_type: "text/html",
                body: "<html><body><h1>502 Bad Gateway</h1></body></html>".into(),
                headers: Vec::new(),
            },
            "server_error",
            "502 Bad Gateway",
        ),
        (
            Reply::status_json(
                503,
                r#"{"object":"error","message":"The model is still loading","type":"ServiceUnavailableError","code":503}"#,
            ),
            "server_error",
            "The model is still loading",
        ),
    ];
    for (index, (reply, class, fragment)) in cases.into_iter().enumerate() {
        let server = MockServer::always(reply).await;
        let session = format!("openai-status-{index}");
        let (recorder, _registered) = Recorder::new(&session).register();
        let error = in_session(session, backend(&server).chat(question()))
            .await
            .unwrap_err();
        let message = error.to_string();
        assert_eq!(error.error_type(), class, "{message}");
        assert!(
            message.contains(fragment),
            "{message:?} should contain {fragment:?}"
        );
        assert!(
            message.contains(&server.url("/v1/chat/completions")),
            "{message}"
        );
        let seen = recorder.error();
        assert_eq!(seen.error_type, class);
        assert_eq!(seen.type_name, "BackendError");
        assert_eq!(seen.message, message);
    }
}

#[tokio::test]
async fn the_api_key_never_appears_in_an_error_even_when_the_server_echoes_it() {
    let echo = format!(r#"{{"error":{{"message":"Incorrect API key provided: {KEY}."}}}}"#);
    let server = MockServer::always(Reply::status_json(401, echo)).await;
    let error = backend(&server).chat(question()).await.unwrap_err();
    assert!(!error.to_string().contains(KEY), "{error}");
    assert!(!format!("{error:?}").contains(KEY), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("Incorrect API key provided: <redacted>.")
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error_that_says_what_to_set() {
    let port = closed_port().await;
    let backend = backend_at(
        &format!("http://127.0.0.1:{port}/v1"),
        Duration::from_secs(5),
    );
    let (recorder, _registered) = Recorder::new("openai-unreachable").register();
    let error = in_session("openai-unreachable", backend.chat(question()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, OpenAiError::Unreachable { .. }),
        "{error:?}"
    );
    assert_eq!(error.error_type(), "transport");
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "cannot connect to http://127.0.0.1:{port}/v1/chat/completions"
        )),
        "{message}"
    );
    assert!(message.contains("OPENAI_BASE_URL"), "{message}");
    assert!(
        message.contains("refused"),
        "the I/O cause is named: {message}"
    );
    assert_eq!(recorder.error().error_type, "transport");
}

#[tokio::test]
async fn a_silent_server_times_out_after_the_configured_timeout() {
    let server = MockServer::always(Reply::Silence).await;
    let backend = backend_at(&server.url("/v1"), SHORT_TIMEOUT);
    let (recorder, _registered) = Recorder::new("openai-timeout").register();
    let started = Instant::now();
    let error = in_session("openai-timeout", backend.chat(question()))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(error, OpenAiError::Timeout { .. }), "{error:?}");
    assert!(
        error.to_string().contains("raise it with `with_timeout`"),
        "{error}"
    );
    assert_eq!(recorder.error().error_type, "timeout");
}

#[tokio::test]
async fn a_truncated_json_body_is_a_malformed_response() {
    let whole = fixture("openai/chat_completion.json");
    let server = MockServer::always(Reply::json(&whole[..whole.len() / 2])).await;
    let (recorder, _registered) = Recorder::new("openai-truncated").register();
    let error = in_session("openai-truncated", backend(&server).chat(question()))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "malformed_response");
    assert!(error.to_string().contains("truncated"), "{error}");
    assert_eq!(recorder.error().error_type, "malformed_response");
}

#[tokio::test]
async fn a_body_that_is_not_the_wire_format_is_a_malformed_response() {
    for (body, content_type) in [
        ("<html><body>Welcome to nginx!</body></html>", "text/html"),
        (r#"{"models":[]}"#, "application/json"),
    ] {
        let server = MockServer::always(Reply::Body {
            status: 200,
            content_type,
            body: body.into(),
            headers: Vec::new(),
        })
        .await;
        let error = backend(&server).chat(question()).await.unwrap_err();
        assert_eq!(error.error_type(), "malformed_response", "{body}: {error}");
        assert!(
            error.to_string().contains("OpenAI-compatible API"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn a_connection_closed_before_the_declared_length_is_a_transport_error() {
    let whole = fixture("openai/chat_completion.json");
    let server = MockServer::always(Reply::ShortBody {
        status: 200,
        body: whole[..100].to_owned(),
        declared: whole.len(),
    })
    .await;
    let (recorder, _registered) = Recorder::new("openai-short-body").register();
    let error = in_session("openai-short-body", backend(&server).chat(question()))
        .await
        .unwrap_err();
    assert!(matches!(error, OpenAiError::Transport { .. }), "{error:?}");
    assert!(
        error.to_string().contains("while reading the response"),
        "{error}"
    );
    assert!(
        error.to_string().contains("message length"),
        "the cause is named: {error}"
    );
    assert_eq!(recorder.error().error_type, "transport");
}

#[tokio::test]
async fn a_stream_cut_mid_way_yields_its_chunks_then_a_transport_error_with_the_partial_text() {
    let events = sse_events(&fixture("openai/chat_completion_stream.sse"));
    let server = MockServer::always(Reply::Chunked {
        content_type: SSE,
        pieces: events[..4].to_vec(),
        gap: Duration::from_millis(5),
        complete: false,
    })
    .await;
    let (recorder, _registered) = Recorder::new("openai-cut").register();
    let stream = in_session("openai-cut", backend(&server).chat_stream(question()))
        .await
        .unwrap();
    let (chunks, error) = collect(stream).await;
    assert_eq!(text_of(&chunks), "Borrowing lets");
    let error = error.expect("a cut stream ends in an error");
    assert!(matches!(error, OpenAiError::Transport { .. }), "{error:?}");
    assert!(
        error.to_string().contains("after 4 chunks of the stream"),
        "{error}"
    );
    let fired = recorder.fired();
    let Some(Fired::Error { error, partial, .. }) = fired.last() else {
        panic!("{fired:#?}")
    };
    assert_eq!(error.error_type, "transport");
    assert_eq!(
        partial.as_ref().and_then(|p| p.text.as_deref()),
        Some("Borrowing lets")
    );
    recorder.terminal();
}

#[tokio::test]
async fn a_stream_that_ends_before_its_finish_reason_and_done_is_a_malformed_response() {
    let events = sse_events(&fixture("openai/chat_completion_stream.sse"));
    let server = MockServer::always(Reply::stream(SSE, events[..5].to_vec())).await;
    let (recorder, _registered) = Recorder::new("openai-no-end").register();
    let stream = in_session("openai-no-end", backend(&server).chat_stream(question()))
        .await
        .unwrap();
    let (chunks, error) = collect(stream).await;
    assert_eq!(chunks.len(), 5);
    let error = error.unwrap();
    assert_eq!(error.error_type(), "malformed_response");
    assert!(
        error
            .to_string()
            .contains("without its end marker (`data: [DONE]`)"),
        "{error}"
    );
    assert_eq!(recorder.error().error_type, "malformed_response");
}

#[tokio::test]
async fn a_stream_cut_inside_an_event_is_a_malformed_response() {
    let body = fixture("openai/chat_completion_stream.sse");
    let server = MockServer::always(Reply::stream(SSE, vec![body[..700].to_owned()])).await;
    let stream = backend(&server).chat_stream(question()).await.unwrap();
    let (_, error) = collect(stream).await;
    let error = error.unwrap();
    assert_eq!(error.error_type(), "malformed_response");
    assert!(
        error.to_string().contains("in the middle of a frame"),
        "{error}"
    );
}

#[tokio::test]
async fn an_error_event_mid_stream_is_a_server_error() {
    let mut events = sse_events(&fixture("openai/chat_completion_stream.sse"));
    events.truncate(3);
    events.push(
        "data: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\"}}\n\n".into(),
    );
    let server = MockServer::always(Reply::stream(SSE, events)).await;
    let (recorder, _registered) = Recorder::new("openai-error-event").register();
    let stream = in_session(
        "openai-error-event",
        backend(&server).chat_stream(question()),
    )
    .await
    .unwrap();
    let (chunks, error) = collect(stream).await;
    assert_eq!(chunks.len(), 3);
    let error = error.unwrap();
    assert!(
        matches!(error, OpenAiError::ErrorEvent { chunks: 3, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("The server had an error"),
        "{error}"
    );
    assert_eq!(recorder.error().error_type, "server_error");
}

#[tokio::test]
async fn a_garbage_event_in_the_stream_is_a_malformed_response() {
    let mut events = sse_events(&fixture("openai/chat_completion_stream.sse"));
    events.insert(2, "data: {\"choices\": [oops\n\n".into());
    let server = MockServer::always(Reply::stream(SSE, events)).await;
    let stream = backend(&server).chat_stream(question()).await.unwrap();
    let (chunks, error) = collect(stream).await;
    assert_eq!(chunks.len(), 2);
    let error = error.unwrap();
    assert_eq!(error.error_type(), "malformed_response");
    assert!(
        error.to_string().contains("frame 3 of the stream"),
        "{error}"
    );
}

#[tokio::test]
async fn a_stalled_stream_times_out() {
    let events = sse_events(&fixture("openai/chat_completion_stream.sse"));
    let server = MockServer::always(Reply::Chunked {
        content_type: SSE,
        pieces: events,
        gap: Duration::from_secs(8),
        complete: true,
    })
    .await;
    let backend = backend_at(&server.url("/v1"), SHORT_TIMEOUT);
    let (recorder, _registered) = Recorder::new("openai-stall").register();
    let started = Instant::now();
    let stream = in_session("openai-stall", backend.chat_stream(question()))
        .await
        .unwrap();
    let (chunks, error) = collect(stream).await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(chunks.len(), 1, "the first event arrived before the stall");
    let error = error.unwrap();
    assert!(matches!(error, OpenAiError::Timeout { .. }), "{error:?}");
    assert_eq!(recorder.error().error_type, "timeout");
}

#[tokio::test]
async fn a_stream_refused_with_an_error_status_fails_the_call_itself() {
    let server =
        MockServer::always(Reply::status_json(401, fixture("openai/error_401.json"))).await;
    let (recorder, _registered) = Recorder::new("openai-stream-401").register();
    let Err(error) = in_session(
        "openai-stream-401",
        backend(&server).chat_stream(question()),
    )
    .await
    else {
        panic!("a refused stream is an error of the call")
    };
    assert_eq!(error.error_type(), "auth");
    assert_eq!(recorder.error().error_type, "auth");
}

#[test]
fn ndjson_helper_keeps_line_ends() {
    // Guards the fixture helpers the Ollama tests share with these.
    assert_eq!(ndjson_lines("a\nb\n"), ["a\n", "b\n"]);
}
