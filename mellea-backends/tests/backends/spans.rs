//! The spans the backends produce with the tracing plugin on: CLIENT kind with the server's
//! address, the backend span as the parent the inference server sees in `traceparent`, and an
//! ERROR span with a low-cardinality `error.type` for every failure class.

use crate::support;

use std::time::Duration;

use mellea_backends::ollama::{OllamaBackend, OllamaConfig};
use mellea_backends::openai::{OpenAiBackend, OpenAiConfig};
use mellea_runtime::generation::{GenerationRequest, Message};
use mellea_runtime::session::in_session;
use mellea_runtime::telemetry::{Telemetry, TelemetryBuilder};
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use support::fixture;
use support::server::{MockServer, Reply, closed_port};

/// Traces the generations of `session` into an exporter of their own.
fn trace_session(session: &str) -> (Telemetry, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let telemetry = TelemetryBuilder::new()
        .for_session(session)
        .with_simple_exporter(exporter.clone())
        .install()
        .unwrap();
    (telemetry, exporter)
}

fn the_span(telemetry: &Telemetry, exporter: &InMemorySpanExporter) -> SpanData {
    telemetry.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 1, "one span per generation: {spans:#?}");
    spans.into_iter().next().unwrap()
}

fn attribute(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv: &&KeyValue| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

fn question() -> GenerationRequest {
    GenerationRequest::new([Message::user("What does ownership buy Rust?")])
}

fn openai(server_url: &str) -> OpenAiBackend {
    OpenAiBackend::new(
        OpenAiConfig::new("gpt-4o-mini")
            .with_base_url(server_url)
            .with_api_key("sk-test-span")
            .with_timeout(Duration::from_secs(5))
            .with_retry_policy(support::fast_retries()),
    )
    .unwrap()
}

#[tokio::test]
async fn an_openai_chat_is_a_client_span_with_the_server_address_and_is_the_servers_parent() {
    let server = MockServer::always(Reply::json(fixture("openai/chat_completion.json"))).await;
    let (telemetry, exporter) = trace_session("span-openai-ok");
    in_session(
        "span-openai-ok",
        openai(&server.url("/v1")).chat(question()),
    )
    .await
    .unwrap();
    let span = the_span(&telemetry, &exporter);
    assert_eq!(span.name, "chat gpt-4o-mini");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(span.status, Status::Unset);
    assert_eq!(
        attribute(&span, "gen_ai.provider.name"),
        Some("openai".into())
    );
    assert_eq!(attribute(&span, "server.address"), Some("127.0.0.1".into()));
    assert_eq!(
        attribute(&span, "server.port"),
        Some(Value::I64(i64::from(server.port())))
    );
    assert!(attribute(&span, "gen_ai.usage.input_tokens").is_some());
    // The request went out under the backend span: the server joins the trace beneath it.
    let traceparent = server
        .only_request()
        .header("traceparent")
        .unwrap()
        .to_owned();
    let context = span.span_context;
    assert_eq!(
        traceparent,
        format!("00-{}-{}-01", context.trace_id(), context.span_id())
    );
}

#[tokio::test]
async fn an_ollama_chat_is_a_client_span_with_the_server_address() {
    let server = MockServer::always(Reply::json(fixture("ollama/chat.json"))).await;
    let (telemetry, exporter) = trace_session("span-ollama-ok");
    let backend =
        OllamaBackend::new(OllamaConfig::new("granite4:micro").with_host(server.url(""))).unwrap();
    in_session("span-ollama-ok", backend.chat(question()))
        .await
        .unwrap();
    let span = the_span(&telemetry, &exporter);
    assert_eq!(span.name, "chat granite4:micro");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(
        attribute(&span, "gen_ai.provider.name"),
        Some("ollama".into())
    );
    assert_eq!(
        attribute(&span, "server.port"),
        Some(Value::I64(i64::from(server.port())))
    );
}

#[tokio::test]
async fn every_failure_class_ends_the_span_as_error_with_its_error_type() {
    let cases: Vec<(&str, Reply)> = vec![
        (
            "auth",
            Reply::status_json(401, fixture("openai/error_401.json")),
        ),
        (
            "rate_limit",
            Reply::status_json(429, fixture("openai/error_429.json")),
        ),
        (
            "invalid_request",
            Reply::status_json(400, fixture("openai/error_400.json")),
        ),
        (
            "server_error",
            Reply::status_json(500, fixture("openai/error_500.json")),
        ),
        (
            "malformed_response",
            Reply::json(r#"{"id": "chatcmpl-1", "choices": ["#),
        ),
    ];
    for (index, (class, reply)) in cases.into_iter().enumerate() {
        let server = MockServer::always(reply).await;
        let session = format!("span-openai-error-{index}");
        let (telemetry, exporter) = trace_session(&session);
        let error = in_session(session, openai(&server.url("/v1")).chat(question()))
            .await
            .unwrap_err();
        let span = the_span(&telemetry, &exporter);
        assert_eq!(
            attribute(&span, "error.type"),
            Some((*class).into()),
            "{error}"
        );
        assert!(
            matches!(&span.status, Status::Error { description } if !description.is_empty()),
            "{class}: {:?}",
            span.status
        );
        assert!(
            span.events.iter().any(|e| e.name == "exception"),
            "{class}: an exception event"
        );
    }
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error_span() {
    let port = closed_port().await;
    let (telemetry, exporter) = trace_session("span-unreachable");
    in_session(
        "span-unreachable",
        openai(&format!("http://127.0.0.1:{port}/v1")).chat(question()),
    )
    .await
    .unwrap_err();
    let span = the_span(&telemetry, &exporter);
    assert_eq!(attribute(&span, "error.type"), Some("transport".into()));
    assert_eq!(span.span_kind, SpanKind::Client);
}
