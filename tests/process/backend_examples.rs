//! The `openai` and `ollama` examples run against loopback servers speaking each wire format,
//! fail with a message that says what to set when there is no server, and with tracing on
//! export the real backend's spans to a loopback OTLP collector.
//!
//! Each example is compiled into this test as a module and its `run` function is called, so
//! `cargo test` checks the same code `cargo run --example ...` runs.
// Each example is compiled in as its own module tree, as in its own binary, so the examples'
// shared `support/traced.rs` is compiled once per example.
#![allow(clippy::duplicate_mod)]
#![cfg(all(feature = "openai", feature = "ollama"))]

#[allow(dead_code)] // `main` is the example's entry point, unused here.
#[path = "../../examples/ollama.rs"]
mod ollama_example;
#[allow(dead_code)]
#[path = "../../examples/openai.rs"]
mod openai_example;
use crate::support::otlp_collector;
#[path = "../../mellea-backends/tests/support/server.rs"]
mod server;
#[allow(dead_code)]
#[path = "../../examples/support/traced.rs"]
mod traced;

use mellea::backends::ollama::OllamaConfig;
use mellea::backends::openai::OpenAiConfig;
use mellea::telemetry::{Telemetry, TelemetryBuilder, TracingConfig};
use otlp_collector::{Behaviour, HttpCollector};
use server::{MockServer, Reply, closed_port};

/// Traced tests install tracing process-wide: one at a time.
static TRACED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What `MELLEA_TRACES_ENABLED=1 MELLEA_TRACES_OTLP=1 OTEL_EXPORTER_OTLP_ENDPOINT=...` sets up
/// in the examples' `main`.
fn traced_to(collector: &HttpCollector) -> Telemetry {
    let pairs = [
        ("MELLEA_TRACES_ENABLED", "1".to_owned()),
        ("MELLEA_TRACES_OTLP", "1".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint.clone()),
    ];
    let config = TracingConfig::from_lookup(|name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    });
    traced::start(TelemetryBuilder::from_config(config)).unwrap()
}

/// The names of the chat spans the collector received for the server on `port` (other tests
/// of this binary may run untraced generations meanwhile).
fn chat_spans_for(collector: &HttpCollector, port: u16) -> Vec<String> {
    collector
        .inbox
        .spans()
        .into_iter()
        .filter(|(_, s)| otlp_collector::int(&s.attributes, "server.port") == Some(i64::from(port)))
        .map(|(_, s)| s.name)
        .collect()
}

/// No line of `output` has the hook's report glued after a streamed answer.
fn hook_lines_start_their_line(output: &str) {
    for line in output.lines() {
        assert!(
            !line.contains("[hook]") || line.starts_with("[hook]"),
            "{output}"
        );
    }
    assert!(output.contains("\nstreaming: "), "{output}");
}

const OPENAI_CHAT: &str =
    include_str!("../../mellea-backends/tests/fixtures/openai/chat_completion.json");
const OPENAI_STREAM: &str =
    include_str!("../../mellea-backends/tests/fixtures/openai/chat_completion_stream.sse");
const OLLAMA_CHAT: &str = include_str!("../../mellea-backends/tests/fixtures/ollama/chat.json");
const OLLAMA_STREAM: &str =
    include_str!("../../mellea-backends/tests/fixtures/ollama/chat_stream.ndjson");

/// Answers `/chat/completions` or `/api/chat` whole or streamed, as the request asks.
async fn server(
    whole: &'static str,
    streamed: &'static str,
    content_type: &'static str,
) -> MockServer {
    MockServer::start(move |request| {
        if request.json()["stream"] == true {
            let pieces = streamed.split_inclusive('\n').map(str::to_owned).collect();
            Reply::stream(content_type, pieces)
        } else {
            Reply::json(whole)
        }
    })
    .await
}

#[tokio::test]
async fn openai_example_asks_whole_then_streamed_and_its_hook_reports_each_call() {
    let _exclusive = crate::support::exclusive();
    let server = server(OPENAI_CHAT, OPENAI_STREAM, "text/event-stream").await;
    let config = OpenAiConfig::new("gpt-4o-mini").with_base_url(server.url("/v1"));
    let lines = openai_example::run(config, "What does ownership buy Rust?")
        .await
        .unwrap()
        .lines();

    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert_eq!(
        lines[0],
        format!(
            "asking gpt-4o-mini at {}",
            server.url("/v1/chat/completions")
        )
    );
    assert!(
        lines[1].starts_with("[hook] gpt-4o-mini-2024-07-18 answered in ")
            && lines[1].ends_with(": 28 prompt + 15 completion tokens, finish stop"),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[2],
        "reply: Ownership lets the Rust compiler prove memory safety without a garbage collector."
    );
    assert!(
        lines[3].contains(", first chunk after ")
            && lines[3].ends_with(": 19 prompt + 10 completion tokens, finish stop"),
        "{}",
        lines[3]
    );
    assert_eq!(
        lines[4],
        "streamed: Borrowing lets code read data without owning it."
    );
    let received = server.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].json()["max_tokens"], 200);
    assert_eq!(received[1].json()["stream"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_example_with_tracing_on_exports_both_calls_and_keeps_its_lines_apart() {
    let _exclusive = crate::support::exclusive();
    let _turn = TRACED.lock().await;
    let collector = HttpCollector::start(Behaviour::Accept).await;
    let server = server(OPENAI_CHAT, OPENAI_STREAM, "text/event-stream").await;
    let telemetry = traced_to(&collector);
    let config = OpenAiConfig::new("gpt-4o-mini").with_base_url(server.url("/v1"));
    let transcript = openai_example::run(config, "What does ownership buy Rust?")
        .await
        .unwrap();
    traced::finish(telemetry).expect("every span delivered");
    assert_eq!(
        chat_spans_for(&collector, server.port()),
        ["chat gpt-4o-mini", "chat gpt-4o-mini"]
    );
    hook_lines_start_their_line(&transcript.output());
}

#[tokio::test]
async fn openai_example_without_a_server_or_key_fails_with_what_to_set() {
    let _exclusive = crate::support::exclusive();
    let port = closed_port().await;
    let config = OpenAiConfig::new("m").with_base_url(format!("http://127.0.0.1:{port}/v1"));
    let error = openai_example::run(config, "hi").await.err().unwrap();
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "cannot connect to http://127.0.0.1:{port}/v1/chat/completions"
        )) && message.contains("Set OPENAI_BASE_URL"),
        "{message}"
    );

    // Nothing set: OpenAI's own API, which needs a key.
    let error = openai_example::run(OpenAiConfig::from_lookup(|_| None), "hi")
        .await
        .err()
        .unwrap();
    assert!(error.to_string().contains("set OPENAI_API_KEY"), "{error}");
}

#[tokio::test]
async fn ollama_example_asks_whole_then_streamed_and_its_hook_reports_each_call() {
    let _exclusive = crate::support::exclusive();
    let server = server(OLLAMA_CHAT, OLLAMA_STREAM, "application/x-ndjson").await;
    let config =
        OllamaConfig::new("granite4:micro").with_host(format!("127.0.0.1:{}", server.port()));
    let lines = ollama_example::run(config, "What is ownership in Rust?")
        .await
        .unwrap()
        .lines();

    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert_eq!(
        lines[0],
        format!("asking granite4:micro at {}", server.url("/api/chat"))
    );
    assert!(
        lines[1].starts_with("[hook] granite4:micro answered in ")
            && lines[1].ends_with(": 31 prompt + 24 generated tokens, done_reason stop"),
        "{}",
        lines[1]
    );
    assert!(lines[2].starts_with("reply: Ownership means each value has one owner"));
    assert!(
        lines[3].ends_with(": 27 prompt + 10 generated tokens, done_reason stop"),
        "{}",
        lines[3]
    );
    assert_eq!(
        lines[4],
        "streamed: Borrowing lets code read data without owning it."
    );
    let received = server.received();
    assert_eq!(received[0].json()["options"]["num_predict"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ollama_example_with_tracing_on_exports_both_calls_and_keeps_its_lines_apart() {
    let _exclusive = crate::support::exclusive();
    let _turn = TRACED.lock().await;
    let collector = HttpCollector::start(Behaviour::Accept).await;
    let server = server(OLLAMA_CHAT, OLLAMA_STREAM, "application/x-ndjson").await;
    let telemetry = traced_to(&collector);
    let config =
        OllamaConfig::new("granite4:micro").with_host(format!("127.0.0.1:{}", server.port()));
    let transcript = ollama_example::run(config, "What is ownership in Rust?")
        .await
        .unwrap();
    traced::finish(telemetry).expect("every span delivered");
    assert_eq!(
        chat_spans_for(&collector, server.port()),
        ["chat granite4:micro", "chat granite4:micro"]
    );
    hook_lines_start_their_line(&transcript.output());
}

#[tokio::test]
async fn ollama_example_without_a_server_says_to_start_ollama() {
    let _exclusive = crate::support::exclusive();
    let port = closed_port().await;
    let config = OllamaConfig::new("granite4:micro").with_host(format!("127.0.0.1:{port}"));
    let error = ollama_example::run(config, "hi").await.err().unwrap();
    let message = error.to_string();
    assert!(
        message.contains("cannot connect") && message.contains("ollama serve"),
        "{message}"
    );
}
