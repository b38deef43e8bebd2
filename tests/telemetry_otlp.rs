//! OTLP export end to end: a real OTLP/HTTP receiver on loopback, inside the test, decodes
//! what arrives with the official protobuf types; and with no collector listening,
//! generations are unaffected, nothing panics, and memory stays bounded by the batch queue.
//!
//! This binary counts live heap bytes with its own global allocator; its tests take turns so
//! that the count belongs to one test.

mod echo_backend;
mod telemetry_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use echo_backend::Echo;
use mellea::generation::{GenerationRequest, Message};
use mellea::telemetry::{TelemetryBuilder, TracingConfig};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind};
use prost::Message as _;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

// ---- Live heap bytes -------------------------------------------------------------------------

struct LiveBytes;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; counting is one atomic
// add, which never allocates.
unsafe impl GlobalAlloc for LiveBytes {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: LiveBytes = LiveBytes;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---- A minimal OTLP/HTTP receiver --------------------------------------------------------------

/// One export request as it arrived.
struct Received {
    path: String,
    content_type: String,
    request: ExportTraceServiceRequest,
}

/// Accepts OTLP/HTTP protobuf exports on 127.0.0.1 and decodes them.
struct Receiver {
    endpoint: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let sink = received.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let sink = sink.clone();
                tokio::spawn(async move {
                    let _ = serve(socket, sink).await;
                });
            }
        });
        Self { endpoint, received }
    }

    fn spans(&self) -> Vec<(String, Span)> {
        let mut out = Vec::new();
        for received in self.received.lock().unwrap().iter() {
            for resource_spans in &received.request.resource_spans {
                for scope_spans in &resource_spans.scope_spans {
                    let scope = scope_spans.scope.as_ref().map(|s| s.name.clone());
                    for span in &scope_spans.spans {
                        out.push((scope.clone().unwrap_or_default(), span.clone()));
                    }
                }
            }
        }
        out
    }
}

/// Serves HTTP/1.1 requests on one connection until the client closes it.
async fn serve(
    socket: tokio::net::TcpStream,
    sink: Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        let request = ExportTraceServiceRequest::decode(body.as_slice())
            .expect("the body is an OTLP protobuf export request");
        sink.lock().unwrap().push(Received {
            path,
            content_type: headers.get("content-type").cloned().unwrap_or_default(),
            request,
        });
        write
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
            )
            .await?;
    }
}

fn value<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

fn string(attributes: &[KeyValue], key: &str) -> Option<String> {
    match value(attributes, key)? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        other => panic!("{key}: {other:?}"),
    }
}

fn int(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match value(attributes, key)? {
        any_value::Value::IntValue(i) => Some(*i),
        other => panic!("{key}: {other:?}"),
    }
}

fn lookup(pairs: Vec<(&'static str, String)>) -> TracingConfig {
    TracingConfig::from_lookup(move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
}

fn hello() -> GenerationRequest {
    GenerationRequest::new([Message::user("hello world")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_a_real_otlp_http_receiver_with_names_attributes_and_parents() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let receiver = Receiver::start().await;
    let config = lookup(vec![
        ("MELLEA_TRACES_ENABLED", "1".into()),
        ("MELLEA_TRACES_OTLP", "true".into()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.clone()),
        ("OTEL_SERVICE_NAME", "otlp-test-service".into()),
    ]);
    let telemetry = TelemetryBuilder::from_config(config)
        .for_session("otlp")
        .install()
        .unwrap();
    assert!(
        telemetry.warnings().is_empty(),
        "{:?}",
        telemetry.warnings()
    );

    let reply = telemetry
        .application_span("handle_ticket")
        .with_attribute("mellea.component.type", "Instruction")
        .run(mellea::session::in_session(
            "otlp",
            Echo::new().generate(hello()),
        ))
        .await
        .unwrap();
    assert_eq!(reply.text, "hello world");
    let failed = mellea::session::in_session(
        "otlp",
        Echo::new().generate(hello().with_option("fail", true)),
    )
    .await;
    assert!(failed.is_err());

    // The batch processor's export blocks its caller: shut down off the async workers.
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .unwrap()
        .expect("the receiver accepted every export");

    let received = receiver.received.lock().unwrap().len();
    assert!(received >= 1);
    {
        let all = receiver.received.lock().unwrap();
        for r in all.iter() {
            assert_eq!(r.path, "/v1/traces");
            assert_eq!(r.content_type, "application/x-protobuf");
            let resource = r.request.resource_spans[0].resource.as_ref().unwrap();
            assert_eq!(
                string(&resource.attributes, "service.name").as_deref(),
                Some("otlp-test-service")
            );
        }
    }

    let spans = receiver.spans();
    assert_eq!(
        spans.len(),
        3,
        "application span, chat span, failed chat span"
    );
    let (app_scope, app) = spans
        .iter()
        .find(|(_, s)| s.name == "handle_ticket")
        .unwrap();
    assert_eq!(app_scope, "mellea.application");
    let chats: Vec<&(String, Span)> = spans
        .iter()
        .filter(|(_, s)| s.name == "chat echo-model")
        .collect();
    assert_eq!(chats.len(), 2);
    let (ok_scope, ok) = chats
        .iter()
        .find(|(_, s)| s.status.as_ref().is_none_or(|st| st.code == 0))
        .map(|(scope, s)| (scope, s))
        .unwrap();
    assert_eq!(ok_scope, "mellea.backend");
    assert_eq!(ok.kind, SpanKind::Client as i32);
    assert_eq!(
        ok.parent_span_id, app.span_id,
        "the chat span nests under the app span"
    );
    assert_eq!(ok.trace_id, app.trace_id);
    assert_eq!(
        string(&ok.attributes, "gen_ai.operation.name").as_deref(),
        Some("chat")
    );
    assert_eq!(
        string(&ok.attributes, "gen_ai.provider.name").as_deref(),
        Some("echo")
    );
    assert_eq!(
        string(&ok.attributes, "gen_ai.conversation.id").as_deref(),
        Some("otlp")
    );
    assert_eq!(int(&ok.attributes, "gen_ai.usage.input_tokens"), Some(3));
    assert_eq!(int(&ok.attributes, "server.port"), Some(8080));
    match value(&ok.attributes, "gen_ai.response.finish_reasons") {
        Some(any_value::Value::ArrayValue(array)) => assert_eq!(
            array.values[0].value,
            Some(any_value::Value::StringValue("stop".into()))
        ),
        other => panic!("finish reasons: {other:?}"),
    }

    let failed = chats
        .iter()
        .map(|(_, s)| s)
        .find(|s| s.status.as_ref().is_some_and(|st| st.code == 2))
        .expect("the failed generation's span has status ERROR");
    assert!(failed.parent_span_id.is_empty(), "a root span");
    assert_eq!(
        string(&failed.attributes, "error.type").as_deref(),
        Some("EchoError")
    );
    assert_eq!(failed.events[0].name, "exception");
    assert_eq!(
        failed.status.as_ref().unwrap().message,
        "EchoError",
        "the error's content-free description"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_collector_down_generations_are_unaffected_and_memory_stays_bounded() {
    let _turn = ONE_AT_A_TIME.lock().await;
    // A port nobody listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let telemetry = TelemetryBuilder::new()
        .with_otlp_endpoint(format!("http://127.0.0.1:{port}/v1/traces"))
        .with_otlp_timeout(Duration::from_millis(200))
        .with_max_queue_size(64)
        .with_max_export_batch_size(32)
        .with_scheduled_delay(Duration::from_millis(5))
        .for_session("otlp-down")
        .install()
        .unwrap();
    assert!(
        telemetry.warnings().is_empty(),
        "{:?}",
        telemetry.warnings()
    );

    let echo = Echo::new();
    let run = |n: usize| {
        let echo = &echo;
        async move {
            for i in 0..n {
                let reply = mellea::session::in_session(
                    "otlp-down",
                    echo.generate(GenerationRequest::new([Message::user(format!("n {i}"))])),
                )
                .await
                .expect("a collector outage never fails a generation");
                assert_eq!(reply.text, format!("n {i}"));
            }
        }
    };
    run(500).await; // warm up: connections, buffers, the queue filled once
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    const MORE: usize = 6_000;
    run(MORE).await;
    let grown = LIVE_BYTES.load(Ordering::Relaxed) - before;
    // Each finished span holds well over 1 KiB; an unbounded queue would have grown by
    // several MiB here, the bounded one by at most its 64 spans.
    assert!(
        grown < 1024 * 1024,
        "live heap grew by {grown} bytes over {MORE} generations"
    );
    assert_eq!(echo.calls(), 500 + MORE as u32);
    assert_eq!(telemetry.backend_plugin().unwrap().open_spans(), 0);

    // Shutting down with the collector down reports the failure instead of panicking.
    let shutdown = tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .expect("shutdown does not panic");
    if let Err(error) = shutdown {
        assert!(
            error
                .to_string()
                .contains("exporting the last spans failed"),
            "{error}"
        );
    }
}
