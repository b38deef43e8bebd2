//! Both backends against hostile servers on loopback, one scripted fault per test: error
//! texts that quote the prompt (kept out of spans and console output), streams that never
//! end or never send data (idle and total deadlines), `Duration::MAX` settings, and retries
//! (one generation, one span, one event per retried attempt).
//!
//! Retry tests run on tokio's paused clock: the backoff and `Retry-After` waits are real
//! `tokio::time::sleep`s that the clock skips, so they prove the wait is honoured without the
//! test sleeping for it. They set every deadline to `Duration::MAX`, so the only timers are
//! the waits under test.

use crate::support;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use mellea_backends::BackendError;
use mellea_backends::ollama::{OllamaBackend, OllamaConfig};
use mellea_backends::openai::{OpenAiBackend, OpenAiConfig};
use mellea_runtime::generation::{ChunkStream, ClassifyError, GenerationRequest, Message};
use mellea_runtime::session::in_session;
use mellea_runtime::telemetry::{ConsoleSpanExporter, Telemetry, TelemetryBuilder};
use opentelemetry::trace::Status;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use support::recorder::{Fired, Recorder};
use support::server::{MockServer, Reply};
use support::{fixture, ndjson_lines, sse_events};

const CANARY: &str = "canary-5d1e-quoted-prompt";
const SSE: &str = "text/event-stream";
const NDJSON: &str = "application/x-ndjson";

/// A console exporter's output, shared with the test.
#[derive(Clone, Default)]
struct Console(Arc<Mutex<Vec<u8>>>);

impl Write for Console {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Console {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Traces `session` into an in-memory exporter and the console exporter.
struct Traced {
    telemetry: Telemetry,
    exporter: InMemorySpanExporter,
    console: Console,
}

impl Traced {
    fn new(session: &str, capture: bool) -> Self {
        let exporter = InMemorySpanExporter::default();
        let console = Console::default();
        let telemetry = TelemetryBuilder::new()
            .for_session(session)
            .with_simple_exporter(exporter.clone())
            .with_console(true)
            .with_console_exporter(ConsoleSpanExporter::new(console.clone()))
            .with_content_capture(capture)
            .install()
            .unwrap();
        Self {
            telemetry,
            exporter,
            console,
        }
    }

    fn spans(&self) -> Vec<SpanData> {
        self.telemetry.force_flush().unwrap();
        self.exporter.get_finished_spans().unwrap()
    }

    fn the_span(&self) -> SpanData {
        let spans = self.spans();
        assert_eq!(spans.len(), 1, "one span per generation: {spans:#?}");
        spans.into_iter().next().unwrap()
    }

    /// Fails if the canary is anywhere in an exported span or the console output.
    fn assert_no_canary(&self) {
        let spans = self.spans();
        assert!(!spans.is_empty());
        for span in &spans {
            let everything = format!("{span:?}");
            assert!(!everything.contains(CANARY), "{everything}");
        }
        let console = self.console.text();
        assert!(console.contains("status=error"), "{console}");
        assert!(!console.contains(CANARY), "{console}");
    }
}

fn attribute(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv: &&KeyValue| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

fn event_attribute(attributes: &[KeyValue], key: &str) -> Option<Value> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

fn retry_events(span: &SpanData) -> Vec<Vec<KeyValue>> {
    span.events
        .iter()
        .filter(|e| e.name == "mellea.http.retry")
        .map(|e| e.attributes.clone())
        .collect()
}

fn status_description(span: &SpanData) -> String {
    match &span.status {
        Status::Error { description } => description.to_string(),
        other => panic!("expected an error status, got {other:?}"),
    }
}

fn question() -> GenerationRequest {
    GenerationRequest::new([Message::user(format!("Summarise {CANARY} please"))])
}

fn quoting_error() -> String {
    format!(
        r#"{{"error":{{"message":"Your message 'Summarise {CANARY} please' violates the content policy","type":"invalid_request_error"}}}}"#
    )
}

fn openai(server: &MockServer, config: impl FnOnce(OpenAiConfig) -> OpenAiConfig) -> OpenAiBackend {
    let base = OpenAiConfig::new("gpt-4o-mini")
        .with_base_url(server.url("/v1"))
        .with_api_key("sk-test-faults")
        .with_retry_policy(support::fast_retries());
    OpenAiBackend::new(config(base)).unwrap()
}

fn ollama(server: &MockServer, config: impl FnOnce(OllamaConfig) -> OllamaConfig) -> OllamaBackend {
    let base = OllamaConfig::new("granite4:micro")
        .with_host(server.url(""))
        .with_retry_policy(support::fast_retries());
    OllamaBackend::new(config(base)).unwrap()
}

/// Every deadline off: on the paused clock the only timers are then the retry waits.
fn no_deadlines(config: OpenAiConfig) -> OpenAiConfig {
    config
        .with_connect_timeout(Duration::MAX)
        .with_idle_timeout(Duration::MAX)
        .with_timeout(Duration::MAX)
        .with_retry_policy(mellea_backends::RetryPolicy::default())
}

async fn drain<C, E>(mut stream: ChunkStream<'static, C, E>) -> (usize, Option<E>) {
    let mut chunks = 0;
    while let Some(item) = stream.next().await {
        match item {
            Ok(_) => chunks += 1,
            Err(error) => return (chunks, Some(error)),
        }
    }
    (chunks, None)
}

// ---------------------------------------------------------------------------------------------
// Content stays out of spans unless captured.

#[tokio::test]
async fn an_error_body_quoting_the_prompt_stays_out_of_spans_and_the_console_unless_captured() {
    let server = MockServer::always(Reply::status_json(400, quoting_error())).await;
    let session = "faults-canary-400";
    let traced = Traced::new(session, false);
    let (recorder, _registered) = Recorder::new(session).register();
    let error = in_session(session, openai(&server, |c| c).chat(question()))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains(CANARY),
        "the caller keeps it: {error}"
    );
    let seen = recorder.error();
    assert!(seen.message.contains(CANARY), "hooks get the whole message");
    assert!(!seen.description.contains(CANARY), "{}", seen.description);
    traced.assert_no_canary();
    let span = traced.the_span();
    let description = status_description(&span);
    assert!(description.contains("HTTP 400"), "{description}");
    assert_eq!(
        attribute(&span, "error.type"),
        Some("invalid_request".into())
    );

    // With capture on, the whole message is recorded: the check above can fail.
    let session = "faults-canary-400-captured";
    let traced = Traced::new(session, true);
    in_session(session, openai(&server, |c| c).chat(question()))
        .await
        .unwrap_err();
    let description = status_description(&traced.the_span());
    assert!(description.contains(CANARY), "{description}");
}

#[tokio::test]
async fn an_sse_error_event_quoting_the_prompt_stays_out_of_spans() {
    let mut events = sse_events(&fixture("openai/chat_completion_stream.sse"));
    events.truncate(2);
    events.push(format!("data: {}\n\n", quoting_error()));
    let server = MockServer::always(Reply::stream(SSE, events)).await;
    let session = "faults-canary-sse";
    let traced = Traced::new(session, false);
    let stream = in_session(session, openai(&server, |c| c).chat_stream(question()))
        .await
        .unwrap();
    let (chunks, error) = drain(stream).await;
    assert_eq!(chunks, 2);
    let error = error.unwrap();
    assert!(
        matches!(error, BackendError::ErrorEvent { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains(CANARY));
    traced.assert_no_canary();
    let description = status_description(&traced.the_span());
    assert!(
        description.contains("mid-stream after 2 chunks"),
        "{description}"
    );
}

#[tokio::test]
async fn an_ndjson_error_line_and_a_garbage_frame_quoting_the_prompt_stay_out_of_spans() {
    let mut lines = ndjson_lines(&fixture("ollama/chat_stream.ndjson"));
    lines.truncate(1);
    lines.push(format!("{{\"error\":\"model refused: {CANARY}\"}}\n"));
    let server = MockServer::always(Reply::stream(NDJSON, lines)).await;
    let session = "faults-canary-ndjson";
    let traced = Traced::new(session, false);
    let stream = in_session(session, ollama(&server, |c| c).chat_stream(question()))
        .await
        .unwrap();
    let (_, error) = drain(stream).await;
    assert_eq!(error.unwrap().error_type(), "server_error");
    traced.assert_no_canary();

    // A frame that is not a chunk: the parser's message and the excerpt quote it.
    let mut events = sse_events(&fixture("openai/chat_completion_stream.sse"));
    events.insert(1, format!("data: {{\"choices\": \"{CANARY}\"}}\n\n"));
    let server = MockServer::always(Reply::stream(SSE, events)).await;
    let session = "faults-canary-garbage";
    let traced = Traced::new(session, false);
    let stream = in_session(session, openai(&server, |c| c).chat_stream(question()))
        .await
        .unwrap();
    let (_, error) = drain(stream).await;
    let error = error.unwrap();
    assert_eq!(error.error_type(), "malformed_response");
    assert!(
        error.to_string().contains(CANARY),
        "the caller gets the excerpt"
    );
    traced.assert_no_canary();
    let description = status_description(&traced.the_span());
    assert!(
        description.contains("frame 2 of the stream"),
        "{description}"
    );
}

// ---------------------------------------------------------------------------------------------
// Deadlines.

#[tokio::test]
async fn a_stream_of_keep_alive_comments_only_hits_the_idle_timeout() {
    let server = MockServer::always(Reply::endless(
        SSE,
        ": keep-alive\n\n",
        Duration::from_millis(20),
    ))
    .await;
    let backend = openai(&server, |c| c.with_idle_timeout(Duration::from_millis(300)));
    let stream = backend.chat_stream(question()).await.unwrap();
    let (chunks, error) = drain(stream).await;
    assert_eq!(chunks, 0);
    let error = error.expect("the idle timeout ends it");
    assert_eq!(error.error_type(), "timeout", "{error}");
    assert!(error.to_string().contains("idle timeout"), "{error}");
    assert!(error.to_string().contains("with_idle_timeout"), "{error}");
}

#[tokio::test]
async fn a_stream_trickling_a_byte_at_a_time_hits_the_idle_timeout_in_both_backends() {
    let server = MockServer::always(Reply::endless(SSE, "d", Duration::from_millis(20))).await;
    let backend = openai(&server, |c| c.with_idle_timeout(Duration::from_millis(300)));
    let (_, error) = drain(backend.chat_stream(question()).await.unwrap()).await;
    let error = error.unwrap();
    assert!(error.to_string().contains("idle timeout"), "{error}");

    let server = MockServer::always(Reply::endless(NDJSON, "{", Duration::from_millis(20))).await;
    let backend = ollama(&server, |c| c.with_idle_timeout(Duration::from_millis(300)));
    let (_, error) = drain(backend.chat_stream(question()).await.unwrap()).await;
    let error = error.unwrap();
    assert_eq!(error.error_type(), "timeout");
    assert!(error.to_string().contains("idle timeout"), "{error}");
}

#[tokio::test]
async fn a_stream_that_keeps_sending_data_is_cut_by_the_total_timeout() {
    let events = sse_events(&fixture("openai/chat_completion_stream.sse"));
    let server =
        MockServer::always(Reply::endless(SSE, &events[1], Duration::from_millis(20))).await;
    let backend = openai(&server, |c| c.with_timeout(Duration::from_millis(500)));
    let (chunks, error) = drain(backend.chat_stream(question()).await.unwrap()).await;
    assert!(chunks > 0, "data flowed until the deadline");
    let error = error.unwrap();
    assert_eq!(error.error_type(), "timeout");
    assert!(
        error.to_string().contains("total timeout of 500ms"),
        "{error}"
    );
}

#[tokio::test]
async fn duration_max_and_zero_mean_no_deadline_and_every_call_works() {
    for timeout in [Duration::MAX, Duration::ZERO, Duration::from_secs(u64::MAX)] {
        let server = MockServer::always(Reply::json(fixture("openai/chat_completion.json"))).await;
        let backend = openai(&server, |c| {
            c.with_timeout(timeout)
                .with_connect_timeout(timeout)
                .with_idle_timeout(timeout)
        });
        backend.chat(question()).await.unwrap();
        let events = sse_events(&fixture("openai/chat_completion_stream.sse"));
        let server = MockServer::always(Reply::stream(SSE, events)).await;
        let backend = openai(&server, |c| {
            c.with_timeout(timeout)
                .with_connect_timeout(timeout)
                .with_idle_timeout(timeout)
        });
        let (_, error) = drain(backend.chat_stream(question()).await.unwrap()).await;
        assert!(error.is_none(), "{timeout:?}: {error:?}");
        let server = MockServer::always(Reply::json(fixture("ollama/chat.json"))).await;
        let backend = ollama(&server, |c| {
            c.with_timeout(timeout)
                .with_connect_timeout(timeout)
                .with_idle_timeout(timeout)
        });
        backend.chat(question()).await.unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Retries: one generation, one span, the attempts as events.

/// Answers the first requests with `failures` in turn, then with `success`.
async fn failing_first(failures: Vec<Reply>, success: Reply) -> MockServer {
    let served = AtomicUsize::new(0);
    MockServer::start(move |_| {
        let n = served.fetch_add(1, Ordering::SeqCst);
        failures.get(n).cloned().unwrap_or_else(|| success.clone())
    })
    .await
}

fn rate_limited(header: &'static str, value: &str) -> Reply {
    Reply::status_json(429, fixture("openai/error_429.json")).with_header(header, value)
}

/// Runs one traced chat on the paused clock; returns its span and the virtual time it took.
async fn traced_chat(server: &MockServer, session: &str) -> (SpanData, Duration, Arc<Recorder>) {
    let traced = Traced::new(session, false);
    let (recorder, registered) = Recorder::new(session).register();
    let started = tokio::time::Instant::now();
    let result = in_session(session, openai(server, no_deadlines).chat(question())).await;
    let took = started.elapsed();
    result.unwrap();
    let span = traced.the_span();
    drop(registered);
    (span, took, recorder)
}

fn assert_one_generation(recorder: &Recorder) {
    let fired = recorder.fired();
    assert_eq!(fired.len(), 2, "one pre-call, one post-call: {fired:#?}");
    assert!(matches!(fired[0], Fired::Pre { .. }));
    assert!(matches!(fired[1], Fired::Post { .. }));
}

#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_in_seconds_is_retried_after_that_wait_as_one_generation() {
    let server = failing_first(
        vec![rate_limited("retry-after", "1")],
        Reply::json(fixture("openai/chat_completion.json")),
    )
    .await;
    let (span, took, recorder) = traced_chat(&server, "faults-retry-429").await;
    assert_eq!(server.received().len(), 2);
    assert_one_generation(&recorder);
    assert!(
        took >= Duration::from_secs(1),
        "the wait was honoured: {took:?}"
    );
    assert_eq!(
        attribute(&span, "mellea.http.attempts"),
        Some(Value::I64(2))
    );
    assert_eq!(span.status, Status::Unset);
    let events = retry_events(&span);
    assert_eq!(events.len(), 1, "{:#?}", span.events);
    assert_eq!(
        event_attribute(&events[0], "http.response.status_code"),
        Some(Value::I64(429))
    );
    assert_eq!(
        event_attribute(&events[0], "mellea.http.attempt"),
        Some(Value::I64(1))
    );
    assert_eq!(
        event_attribute(&events[0], "mellea.http.retry.wait"),
        Some(Value::F64(1.0))
    );
    assert_eq!(
        event_attribute(&events[0], "error.type"),
        Some("rate_limit".into())
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_as_an_http_date_waits_until_that_date() {
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3));
    let server = failing_first(
        vec![rate_limited("retry-after", &date)],
        Reply::json(fixture("openai/chat_completion.json")),
    )
    .await;
    let (span, took, _) = traced_chat(&server, "faults-retry-date").await;
    assert_eq!(server.received().len(), 2);
    let wait = match event_attribute(&retry_events(&span)[0], "mellea.http.retry.wait") {
        Some(Value::F64(wait)) => wait,
        other => panic!("{other:?}"),
    };
    // HTTP-dates have whole seconds: the wait is what is left of the third.
    assert!((1.0..=3.0).contains(&wait), "{wait}");
    assert!(took.as_secs_f64() >= wait, "{took:?} < {wait}");
}

#[tokio::test(start_paused = true)]
async fn a_503_then_200_succeeds_after_one_backoff() {
    let server = failing_first(
        vec![Reply::status_json(503, fixture("openai/error_500.json"))],
        Reply::json(fixture("openai/chat_completion.json")),
    )
    .await;
    let (span, took, recorder) = traced_chat(&server, "faults-retry-503").await;
    assert_one_generation(&recorder);
    assert_eq!(
        attribute(&span, "mellea.http.attempts"),
        Some(Value::I64(2))
    );
    let events = retry_events(&span);
    assert_eq!(
        event_attribute(&events[0], "http.response.status_code"),
        Some(Value::I64(503))
    );
    let Some(Value::F64(wait)) = event_attribute(&events[0], "mellea.http.retry.wait") else {
        panic!()
    };
    assert!(
        (0.375..=0.5).contains(&wait),
        "the first backoff, jittered: {wait}"
    );
    assert!(took.as_secs_f64() >= wait);
}

#[tokio::test(start_paused = true)]
async fn a_connection_reset_before_any_response_byte_is_retried() {
    let server = failing_first(
        vec![Reply::Reset, Reply::Reset],
        Reply::json(fixture("openai/chat_completion.json")),
    )
    .await;
    let (span, _, recorder) = traced_chat(&server, "faults-retry-reset").await;
    assert_one_generation(&recorder);
    assert_eq!(server.received().len(), 3);
    assert_eq!(
        attribute(&span, "mellea.http.attempts"),
        Some(Value::I64(3))
    );
    let events = retry_events(&span);
    assert_eq!(events.len(), 2);
    for (n, event) in events.iter().enumerate() {
        assert_eq!(
            event_attribute(event, "error.type"),
            Some("transport".into())
        );
        assert_eq!(event_attribute(event, "http.response.status_code"), None);
        assert_eq!(
            event_attribute(event, "mellea.http.attempt"),
            Some(Value::I64(n as i64 + 1))
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_streamed_call_is_retried_before_its_stream_begins_in_both_backends() {
    let events = sse_events(&fixture("openai/chat_completion_stream.sse"));
    let server = failing_first(
        vec![Reply::status_json(502, "bad gateway")],
        Reply::stream(SSE, events),
    )
    .await;
    let stream = openai(&server, no_deadlines)
        .chat_stream(question())
        .await
        .unwrap();
    assert!(drain(stream).await.1.is_none());
    assert_eq!(server.received().len(), 2);

    let lines = ndjson_lines(&fixture("ollama/chat_stream.ndjson"));
    let server = failing_first(
        vec![Reply::status_json(503, r#"{"error":"loading"}"#)],
        Reply::stream(NDJSON, lines),
    )
    .await;
    let backend = ollama(&server, |c| {
        c.with_connect_timeout(Duration::MAX)
            .with_idle_timeout(Duration::MAX)
            .with_retry_policy(mellea_backends::RetryPolicy::default())
    });
    assert!(
        drain(backend.chat_stream(question()).await.unwrap())
            .await
            .1
            .is_none()
    );
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn a_stream_that_breaks_after_its_first_chunk_is_never_retried() {
    let events = sse_events(&fixture("openai/chat_completion_stream.sse"));
    let server = MockServer::always(Reply::Chunked {
        content_type: SSE,
        pieces: events[..3].to_vec(),
        gap: Duration::from_millis(5),
        complete: false,
    })
    .await;
    let (chunks, error) = drain(
        openai(&server, |c| c)
            .chat_stream(question())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(chunks, 3);
    assert_eq!(error.unwrap().error_type(), "transport");
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn an_insufficient_quota_429_is_not_retried() {
    let quota = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
    let server = MockServer::always(Reply::status_json(429, quota)).await;
    let session = "faults-quota";
    let traced = Traced::new(session, false);
    let error = in_session(session, openai(&server, |c| c).chat(question()))
        .await
        .unwrap_err();
    assert_eq!(server.received().len(), 1);
    assert!(
        matches!(
            error,
            BackendError::RateLimited {
                quota_exhausted: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("quota is used up"), "{error}");
    let span = traced.the_span();
    assert_eq!(
        attribute(&span, "mellea.http.attempts"),
        Some(Value::I64(1))
    );
    assert!(retry_events(&span).is_empty());
}

#[tokio::test]
async fn with_retries_off_a_failing_call_sends_one_request_in_both_backends() {
    let server =
        MockServer::always(Reply::status_json(503, fixture("openai/error_500.json"))).await;
    let error = openai(&server, |c| c.with_max_retries(0))
        .chat(question())
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert_eq!(server.received().len(), 1);

    let server = MockServer::always(Reply::status_json(500, r#"{"error":"boom"}"#)).await;
    ollama(&server, |c| c.with_max_retries(0))
        .chat(question())
        .await
        .unwrap_err();
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_failing_call_gives_up_after_the_retries_with_the_last_error() {
    let server =
        MockServer::always(Reply::status_json(500, fixture("openai/error_500.json"))).await;
    let session = "faults-give-up";
    let traced = Traced::new(session, false);
    let (recorder, _registered) = Recorder::new(session).register();
    let error = in_session(session, openai(&server, |c| c).chat(question()))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(500));
    assert_eq!(
        server.received().len(),
        3,
        "the first attempt and two retries"
    );
    recorder.terminal();
    let span = traced.the_span();
    assert_eq!(
        attribute(&span, "mellea.http.attempts"),
        Some(Value::I64(3))
    );
    assert_eq!(retry_events(&span).len(), 2);
    assert_eq!(attribute(&span, "error.type"), Some("server_error".into()));

    // An Ollama batch is one generation over several requests: the span counts them all.
    let server = MockServer::always(Reply::status_json(503, r#"{"error":"busy"}"#)).await;
    let session = "faults-batch-give-up";
    let traced = Traced::new(session, false);
    in_session(
        session,
        ollama(&server, |c| c.with_max_retries(1)).generate_batch(
            mellea_runtime::generation::BatchGenerationRequest::new(["a"]),
        ),
    )
    .await
    .unwrap_err();
    let span = traced.the_span();
    assert_eq!(
        attribute(&span, "mellea.http.attempts"),
        Some(Value::I64(2))
    );
}

#[tokio::test]
async fn a_server_asking_for_a_longer_wait_than_honoured_is_not_retried_and_the_wait_is_kept() {
    let server = MockServer::always(rate_limited("retry-after", "120")).await;
    let error = openai(&server, |c| c).chat(question()).await.unwrap_err();
    assert_eq!(server.received().len(), 1);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(120)));
    assert!(error.to_string().contains("wait 120s"), "{error}");

    let server = MockServer::always(
        Reply::status_json(503, fixture("openai/error_500.json"))
            .with_header("retry-after-ms", "90000"),
    )
    .await;
    let error = openai(&server, |c| c).chat(question()).await.unwrap_err();
    assert_eq!(server.received().len(), 1);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(90)));
}
