//! The Ollama backend against a loopback server speaking Ollama's native API: what the server
//! receives, what callers and hooks get back, and every class of failure.

use crate::support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mellea_backends::ollama::{OllamaBackend, OllamaChatResponse, OllamaConfig, OllamaError};
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
use support::{expected_traceparent, fixture, in_pieces, ndjson_lines, traced_context};

const NDJSON: &str = "application/x-ndjson";
const STREAMED_TEXT: &str = "Borrowing lets code read data without owning it.";

fn backend_at(host: &str, timeout: Duration) -> OllamaBackend {
    OllamaBackend::new(
        OllamaConfig::new("granite4:micro")
            .with_host(host)
            .with_timeout(timeout)
            .with_retry_policy(support::fast_retries()),
    )
    .unwrap()
}

fn backend(server: &MockServer) -> OllamaBackend {
    // `host:port`, the way OLLAMA_HOST is usually written.
    backend_at(
        &format!("127.0.0.1:{}", server.port()),
        Duration::from_secs(10),
    )
}

fn question() -> GenerationRequest {
    GenerationRequest::new([Message::user("What is ownership in Rust?")])
}

fn options(pairs: &[(&str, serde_json::Value)]) -> ModelOptions {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

async fn collect(
    mut stream: ChunkStream<'static, OllamaChatResponse, OllamaError>,
) -> (Vec<OllamaChatResponse>, Option<OllamaError>) {
    let mut chunks = Vec::new();
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

fn text_of(chunks: &[OllamaChatResponse]) -> String {
    chunks.iter().map(OllamaChatResponse::text).collect()
}

#[tokio::test]
async fn chat_posts_ollama_options_format_and_traceparent_and_hooks_see_counts_and_done_reason() {
    let server = MockServer::always(Reply::json(fixture("ollama/chat.json"))).await;
    let mut recorder = Recorder::new("ollama-chat");
    recorder.patch = Some(
        GenerationPreCallPatch::new()
            .with_model_options(options(&[
                (model_option::TEMPERATURE, json!(0.0)),
                (model_option::MAX_TOKENS, json!(128)),
                (model_option::SEED, json!(42)),
                ("num_ctx", json!(8192)),
            ]))
            .with_format(Some(Format::new(
                "Definition",
                json!({"type": "object", "properties": {"definition": {"type": "string"}}}),
            ))),
    );
    let (recorder, _registered) = recorder.register();

    let response = in_session(
        "ollama-chat",
        backend(&server).chat(question().with_option(model_option::TEMPERATURE, 1.0)),
    )
    .with_context(traced_context())
    .await
    .unwrap();

    let received = server.only_request();
    assert_eq!(received.method, "POST");
    assert_eq!(received.path, "/api/chat");
    assert_eq!(received.header("authorization"), None, "no key, no header");
    assert_eq!(
        received.header("traceparent"),
        Some(expected_traceparent().as_str())
    );
    assert_eq!(
        received.json(),
        json!({
            "model": "granite4:micro",
            "messages": [{"role": "user", "content": "What is ownership in Rust?"}],
            "options": {"temperature": 0.0, "num_predict": 128, "seed": 42, "num_ctx": 8192},
            "format": {"type": "object", "properties": {"definition": {"type": "string"}}},
            "stream": false,
        }),
        "the body is built from the patched request, in Ollama's option names"
    );
    assert!(
        response
            .text()
            .starts_with("Ownership means each value has one owner")
    );
    assert_eq!(
        response.total_duration,
        Some(Duration::from_nanos(1_843_209_917))
    );

    let Fired::Pre {
        provider, backend, ..
    } = &recorder.fired()[0]
    else {
        panic!()
    };
    assert_eq!(provider.as_deref(), Some("ollama"));
    let backend = backend.as_ref().unwrap();
    assert!(backend.remote);
    assert_eq!(backend.server_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(backend.server_port, Some(server.port()));

    let output = recorder.output();
    let usage = output.usage.unwrap();
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.total_tokens),
        (Some(31), Some(24), Some(55)),
        "usage from prompt_eval_count / eval_count"
    );
    assert_eq!(
        output.finish_reasons,
        ["stop"],
        "finish reason from done_reason"
    );
    assert_eq!(output.response_model.as_deref(), Some("granite4:micro"));
    assert_eq!(output.response_id, None, "Ollama assigns no response id");
    assert_eq!(output.text.as_deref(), Some(response.text()));
}

#[tokio::test]
async fn an_api_key_is_sent_only_as_a_bearer_token() {
    let server = MockServer::always(Reply::json(fixture("ollama/chat.json"))).await;
    let backend = OllamaBackend::new(
        OllamaConfig::new("granite4:micro")
            .with_host(server.url(""))
            .with_api_key("ollama-proxy-key"),
    )
    .unwrap();
    backend.chat(question()).await.unwrap();
    let received = server.only_request();
    assert_eq!(
        received.header("authorization"),
        Some("Bearer ollama-proxy-key")
    );
    assert!(!String::from_utf8_lossy(&received.body).contains("ollama-proxy-key"));
}

#[tokio::test]
async fn chat_sends_tools_while_tool_calls_are_on_and_returns_the_calls() {
    let server = MockServer::always(Reply::json(fixture("ollama/chat_tool_calls.json"))).await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather"}}]);
    let request = GenerationRequest::new([Message::user("Weather in Paris?")])
        .with_option("tools", tools.clone())
        .with_tool_calls(true);
    let response = backend(&server).chat(request.clone()).await.unwrap();
    assert_eq!(server.only_request().json()["tools"], tools);
    let call = &response.message.tool_calls[0].function;
    assert_eq!(call.name, "get_weather");
    assert_eq!(call.arguments, json!({"city": "Paris", "unit": "celsius"}));

    let server = MockServer::always(Reply::json(fixture("ollama/chat_tool_calls.json"))).await;
    backend(&server)
        .chat(request.with_tool_calls(false))
        .await
        .unwrap();
    assert!(
        server.only_request().json().get("tools").is_none(),
        "no tools once tool calls are off"
    );
}

#[tokio::test]
async fn stream_reads_ndjson_to_the_done_line_and_post_call_sees_text_counts_and_first_chunk_time()
{
    let lines = ndjson_lines(&fixture("ollama/chat_stream.ndjson"));
    let server = MockServer::always(Reply::stream(NDJSON, lines)).await;
    let (recorder, _registered) = Recorder::new("ollama-stream").register();

    let stream = in_session("ollama-stream", backend(&server).chat_stream(question()))
        .with_context(traced_context())
        .await
        .unwrap();
    let (chunks, error) = collect(stream).await;

    assert!(error.is_none(), "{error:?}");
    assert_eq!(chunks.len(), 11);
    assert_eq!(text_of(&chunks), STREAMED_TEXT);
    assert!(chunks.last().unwrap().done);
    let received = server.only_request();
    assert_eq!(received.header("accept"), Some(NDJSON));
    assert_eq!(
        received.header("traceparent"),
        Some(expected_traceparent().as_str())
    );
    assert_eq!(received.json()["stream"], true);

    let output = recorder.output();
    assert_eq!(output.text.as_deref(), Some(STREAMED_TEXT));
    let usage = output.usage.unwrap();
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.total_tokens),
        (Some(27), Some(10), Some(37))
    );
    assert_eq!(output.finish_reasons, ["stop"]);
    assert!(output.time_to_first_chunk.is_some());
}

#[tokio::test]
async fn stream_reassembles_lines_split_across_arbitrary_network_reads() {
    let body = fixture("ollama/chat_stream.ndjson");
    for size in [1, 5, 50] {
        let server = MockServer::always(Reply::Chunked {
            content_type: NDJSON,
            pieces: in_pieces(&body, size),
            gap: Duration::ZERO,
            complete: true,
        })
        .await;
        let stream = backend(&server).chat_stream(question()).await.unwrap();
        let (chunks, error) = collect(stream).await;
        assert!(error.is_none(), "pieces of {size}: {error:?}");
        assert_eq!(text_of(&chunks), STREAMED_TEXT, "pieces of {size}");
    }
}

#[tokio::test]
async fn batch_sends_one_generate_call_per_prompt_and_sums_their_usage() {
    let server = MockServer::start(|request| {
        let prompt = request.json()["prompt"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match prompt.as_str() {
            "1 + 1 =" => Reply::json(fixture("ollama/generate_1.json")),
            _ => Reply::json(fixture("ollama/generate_2.json")),
        }
    })
    .await;
    let mut recorder = Recorder::new("ollama-batch");
    recorder.batch_patch = Some(
        GenerationBatchPreCallPatch::new()
            .with_model_options(options(&[(model_option::MAX_TOKENS, json!(8))])),
    );
    let (recorder, _registered) = recorder.register();

    let outputs = in_session(
        "ollama-batch",
        backend(&server).generate_batch(BatchGenerationRequest::new(["1 + 1 =", "2 + 2 ="])),
    )
    .with_context(traced_context())
    .await
    .unwrap();

    let texts: Vec<&str> = outputs.iter().map(|o| o.response.as_str()).collect();
    assert_eq!(
        texts,
        [" 2", " 4, since two and two make four"],
        "prompt order"
    );
    let mut received = server.received();
    assert_eq!(received.len(), 2, "one call per prompt");
    received.sort_by_key(|r| r.json()["prompt"].as_str().unwrap_or_default().to_owned());
    for (request, prompt) in received.iter().zip(["1 + 1 =", "2 + 2 ="]) {
        assert_eq!(request.path, "/api/generate");
        assert_eq!(
            request.header("traceparent"),
            Some(expected_traceparent().as_str())
        );
        assert_eq!(
            request.json(),
            json!({
                "model": "granite4:micro",
                "prompt": prompt,
                "options": {"num_predict": 8},
                "stream": false,
            })
        );
    }

    let fired = recorder.fired();
    assert_eq!(
        fired.len(),
        2,
        "one pre and one post for the whole batch: {fired:#?}"
    );
    let Fired::BatchPre { num_actions, .. } = &fired[0] else {
        panic!("{fired:#?}")
    };
    assert_eq!(*num_actions, 2);
    let Fired::BatchPost { outputs, usage, .. } = &fired[1] else {
        panic!("{fired:#?}")
    };
    assert_eq!(outputs.len(), 2);
    assert_eq!(outputs[1].finish_reasons, ["length"]);
    let usage = usage.unwrap();
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.total_tokens),
        (Some(17), Some(10), Some(27))
    );
}

#[tokio::test]
async fn batch_fails_as_a_whole_when_one_prompt_fails() {
    let server = MockServer::start(|request| {
        if request.json()["prompt"] == "2 + 2 =" {
            Reply::status_json(404, fixture("ollama/error_404_model.json"))
        } else {
            Reply::json(fixture("ollama/generate_1.json"))
        }
    })
    .await;
    let (recorder, _registered) = Recorder::new("ollama-batch-error").register();
    let error = in_session(
        "ollama-batch-error",
        backend(&server).generate_batch(BatchGenerationRequest::new(["1 + 1 =", "2 + 2 ="])),
    )
    .await
    .unwrap_err();
    assert_eq!(error.error_type(), "invalid_request");
    assert!(matches!(recorder.terminal(), Fired::BatchError { .. }));
    assert_eq!(recorder.error().error_type, "invalid_request");
}

#[tokio::test]
async fn a_block_returns_the_violation_and_never_calls_the_server() {
    let server = MockServer::always(Reply::json(fixture("ollama/chat.json"))).await;
    let mut recorder = Recorder::new("ollama-block");
    recorder.block = Some("blocked by policy".into());
    let (_recorder, _registered) = recorder.register();
    let error = in_session("ollama-block", backend(&server).chat(question()))
        .await
        .unwrap_err();
    assert!(matches!(error, OllamaError::Blocked(_)), "{error:?}");
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn every_error_status_maps_to_its_class_and_fires_the_error_hook_once() {
    let cases: Vec<(Reply, &str, &str)> = vec![
        (
            Reply::status_json(404, fixture("ollama/error_404_model.json")),
            "invalid_request",
            "model \"llama9\" not found, try pulling it first",
        ),
        (
            Reply::status_json(400, fixture("ollama/error_400.json")),
            "invalid_request",
            "invalid options",
        ),
        (
            Reply::status_json(401, r#"{"error":"unauthorized"}"#),
            "auth",
            "OLLAMA_API_KEY",
        ),
        (
            Reply::status_json(
                429,
                r#"{"error":"server busy, please try again.  maximum pending requests exceeded"}"#,
            ),
            "rate_limit",
            "maximum pending requests exceeded",
        ),
        (
            Reply::status_json(500, fixture("ollama/error_500.json")),
            "server_error",
            "llama runner process has terminated",
        ),
    ];
    for (index, (reply, class, fragment)) in cases.into_iter().enumerate() {
        let server = MockServer::always(reply).await;
        let session = format!("ollama-status-{index}");
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
        let seen = recorder.error();
        assert_eq!(seen.error_type, class);
        assert_eq!(seen.message, message);
    }
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error_that_says_to_start_ollama() {
    let port = closed_port().await;
    let (recorder, _registered) = Recorder::new("ollama-unreachable").register();
    let error = in_session(
        "ollama-unreachable",
        backend_at(&format!("127.0.0.1:{port}"), Duration::from_secs(5)).chat(question()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, OllamaError::Unreachable { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("ollama serve") && message.contains("OLLAMA_HOST"),
        "{message}"
    );
    assert_eq!(recorder.error().error_type, "transport");
}

#[tokio::test]
async fn a_silent_server_times_out_after_the_configured_timeout() {
    let server = MockServer::always(Reply::Silence).await;
    let (recorder, _registered) = Recorder::new("ollama-timeout").register();
    let started = Instant::now();
    let error = in_session(
        "ollama-timeout",
        backend_at(&format!("127.0.0.1:{}", server.port()), SHORT_TIMEOUT).chat(question()),
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(error.error_type(), "timeout");
    assert_eq!(recorder.error().error_type, "timeout");
}

#[tokio::test]
async fn truncated_or_foreign_bodies_are_malformed_responses() {
    let whole = fixture("ollama/chat.json");
    let chat_completion = r#"{"id":"chatcmpl-1","object":"chat.completion","choices":[]}"#;
    for body in [
        &whole[..whole.len() - 40],
        chat_completion,
        "Ollama is running",
    ] {
        let server = MockServer::always(Reply::json(body)).await;
        let error = backend(&server).chat(question()).await.unwrap_err();
        assert_eq!(error.error_type(), "malformed_response", "{body}: {error}");
        assert!(error.to_string().contains("Ollama's native API"), "{error}");
    }
}

#[tokio::test]
async fn a_stream_cut_mid_way_yields_its_chunks_then_a_transport_error_with_the_partial_text() {
    let lines = ndjson_lines(&fixture("ollama/chat_stream.ndjson"));
    let server = MockServer::always(Reply::Chunked {
        content_type: NDJSON,
        pieces: lines[..3].to_vec(),
        gap: Duration::from_millis(5),
        complete: false,
    })
    .await;
    let (recorder, _registered) = Recorder::new("ollama-cut").register();
    let stream = in_session("ollama-cut", backend(&server).chat_stream(question()))
        .await
        .unwrap();
    let (chunks, error) = collect(stream).await;
    assert_eq!(text_of(&chunks), "Borrowing lets");
    let error = error.unwrap();
    assert!(matches!(error, OllamaError::Transport { .. }), "{error:?}");
    let Fired::Error { error, partial, .. } = recorder.terminal() else {
        panic!()
    };
    assert_eq!(error.error_type, "transport");
    assert_eq!(
        partial.and_then(|p| p.text).as_deref(),
        Some("Borrowing lets")
    );
}

#[tokio::test]
async fn a_stream_that_ends_without_its_done_line_is_a_malformed_response() {
    let lines = ndjson_lines(&fixture("ollama/chat_stream.ndjson"));
    let server = MockServer::always(Reply::stream(NDJSON, lines[..10].to_vec())).await;
    let (recorder, _registered) = Recorder::new("ollama-no-done").register();
    let stream = in_session("ollama-no-done", backend(&server).chat_stream(question()))
        .await
        .unwrap();
    let (chunks, error) = collect(stream).await;
    assert_eq!(chunks.len(), 10);
    let error = error.unwrap();
    assert_eq!(error.error_type(), "malformed_response");
    assert!(
        error.to_string().contains(r#"a line with `"done": true`"#),
        "{error}"
    );
    assert_eq!(recorder.error().error_type, "malformed_response");
}

#[tokio::test]
async fn an_error_line_mid_stream_is_a_server_error() {
    let mut lines = ndjson_lines(&fixture("ollama/chat_stream.ndjson"));
    lines.truncate(4);
    lines.push(
        "{\"error\":\"an error was encountered while running the model: unexpected EOF\"}\n".into(),
    );
    let server = MockServer::always(Reply::stream(NDJSON, lines)).await;
    let (recorder, _registered) = Recorder::new("ollama-error-line").register();
    let stream = in_session(
        "ollama-error-line",
        backend(&server).chat_stream(question()),
    )
    .await
    .unwrap();
    let (chunks, error) = collect(stream).await;
    assert_eq!(chunks.len(), 4);
    let error = error.unwrap();
    assert!(
        matches!(error, OllamaError::ErrorEvent { chunks: 4, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("unexpected EOF"), "{error}");
    assert_eq!(recorder.error().error_type, "server_error");
}
