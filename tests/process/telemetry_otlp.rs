//! OTLP export end to end: a real OTLP/HTTP receiver on loopback, inside the test, decodes
//! what arrives with the official protobuf types; and with no collector listening,
//! generations are unaffected, nothing panics, memory stays bounded by the batch queue, and
//! `shutdown()` says how many spans were lost.
//!
//! The `process` binary's allocator counts live heap bytes; its tests take turns, so the count
//! belongs to one test.

use crate::support::counting_alloc;
use crate::support::echo_backend;
use crate::support::otlp_collector;

use std::time::Duration;

use echo_backend::Echo;
use mellea::generation::{GenerationRequest, Message};
use mellea::telemetry::{TelemetryBuilder, TelemetryError, TracingConfig};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind};
use otlp_collector::{Behaviour, HttpCollector, int, string, value};

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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
    let _exclusive = crate::support::exclusive();
    let _turn = ONE_AT_A_TIME.lock().await;
    let receiver = HttpCollector::start(Behaviour::Accept).await;
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
    let stats = tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .unwrap()
        .expect("the receiver accepted every export");
    assert_eq!(
        (stats.handed, stats.exported, stats.failed, stats.dropped),
        (3, 3, 0, 0),
        "{stats:?}"
    );

    assert!(receiver.inbox.requests() >= 1);
    receiver.inbox.each(|r| {
        assert_eq!(r.path, "/v1/traces");
        assert_eq!(r.headers["content-type"], "application/x-protobuf");
        let resource = r.request.resource_spans[0].resource.as_ref().unwrap();
        assert_eq!(
            string(&resource.attributes, "service.name").as_deref(),
            Some("otlp-test-service")
        );
    });

    let spans = receiver.inbox.spans();
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
    let _exclusive = crate::support::exclusive();
    let _turn = ONE_AT_A_TIME.lock().await;
    // A port nobody listens on.
    let port = otlp_collector::closed_port();
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
    let before = counting_alloc::live_bytes();
    const MORE: usize = 6_000;
    run(MORE).await;
    let grown = counting_alloc::live_bytes() - before;
    // Each finished span holds well over 1 KiB; an unbounded queue would have grown by
    // several MiB here, the bounded one by at most its 64 spans.
    assert!(
        grown < 1024 * 1024,
        "live heap grew by {grown} bytes over {MORE} generations"
    );
    assert_eq!(echo.calls(), 500 + MORE as u32);
    assert_eq!(telemetry.backend_plugin().unwrap().open_spans(), 0);

    // Shutting down with the collector down reports the loss instead of panicking: every
    // span is accounted for, as failed or as dropped because the queue was full.
    let shutdown = tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .expect("shutdown does not panic");
    match shutdown {
        Err(TelemetryError::Undelivered { stats, .. }) => {
            assert_eq!(stats.exported, 0, "{stats:?}");
            assert_eq!(stats.failed + stats.dropped, 500 + MORE as u64, "{stats:?}");
            assert!(stats.dropped > 0, "{stats:?}");
            assert!(
                stats
                    .last_failure
                    .as_deref()
                    .is_some_and(|c| c.contains("cannot connect")),
                "{stats:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_and_gzip_reach_the_collector_and_a_base_endpoint_with_the_path_is_not_doubled() {
    let _exclusive = crate::support::exclusive();
    let _turn = ONE_AT_A_TIME.lock().await;
    let receiver = HttpCollector::start(Behaviour::Accept).await;
    let config = lookup(vec![
        ("MELLEA_TRACES_ENABLED", "1".into()),
        ("MELLEA_TRACES_OTLP", "true".into()),
        // What Phoenix prints: the full traces URL, given as the base endpoint.
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("{}/v1/traces", receiver.endpoint),
        ),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "x-mlflow-experiment-id=42, authorization=Bearer%20abc".into(),
        ),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".into()),
    ]);
    let telemetry = TelemetryBuilder::from_config(config)
        .for_session("otlp-headers")
        .install()
        .unwrap();
    assert_eq!(telemetry.warnings().len(), 1, "{:?}", telemetry.warnings());
    assert!(
        telemetry.warnings()[0].contains("did you mean OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?"),
        "{:?}",
        telemetry.warnings()
    );
    mellea::session::in_session("otlp-headers", Echo::new().generate(hello()))
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .unwrap()
        .expect("delivered");
    assert_eq!(receiver.inbox.spans().len(), 1);
    receiver.inbox.each(|r| {
        assert_eq!(r.path, "/v1/traces");
        assert_eq!(r.headers["content-encoding"], "gzip");
        assert_eq!(r.headers["x-mlflow-experiment-id"], "42");
        assert_eq!(r.headers["authorization"], "Bearer abc");
    });
}
