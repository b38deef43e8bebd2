//! OTLP over gRPC (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`) against a tonic `TraceService` on
//! loopback: the same spans arrive as over HTTP, headers travel as metadata, gzip works, and
//! failures are counted and reported like HTTP's.
#![cfg(feature = "otlp-grpc")]

use crate::support::echo_backend;
use crate::support::otlp_collector;

use echo_backend::Echo;
use mellea::generation::{GenerationRequest, Message};
use mellea::telemetry::{
    ExportStats, OtlpProtocol, Telemetry, TelemetryBuilder, TelemetryError, TracingConfig,
};
use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_collector::{Behaviour, GrpcCollector, HttpCollector, closed_port, warnings_containing};

fn env(pairs: Vec<(&'static str, String)>) -> TracingConfig {
    TracingConfig::from_lookup(move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
}

fn install(session: &str, pairs: &[(&'static str, &str)]) -> Telemetry {
    otlp_collector::install_warning_capture();
    let mut all = vec![
        ("MELLEA_TRACES_ENABLED", "1".to_owned()),
        ("MELLEA_TRACES_OTLP", "1".to_owned()),
        ("OTEL_SERVICE_NAME", "grpc-test".to_owned()),
    ];
    all.extend(pairs.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let telemetry = TelemetryBuilder::from_config(env(all))
        .for_session(session)
        .install()
        .unwrap();
    assert!(
        telemetry.warnings().is_empty(),
        "{:?}",
        telemetry.warnings()
    );
    telemetry
}

/// One application span around a good and a failing generation.
async fn traffic(telemetry: &Telemetry, session: &str) {
    let echo = Echo::new();
    telemetry
        .application_span("handle_ticket")
        .run(mellea::session::in_session(
            session,
            echo.generate(GenerationRequest::new([Message::user("hello world")])),
        ))
        .await
        .unwrap();
    let failed = mellea::session::in_session(
        session,
        echo.generate(GenerationRequest::new([Message::user("x")]).with_option("fail", true)),
    )
    .await;
    assert!(failed.is_err());
}

async fn shutdown(telemetry: Telemetry) -> Result<ExportStats, TelemetryError> {
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .unwrap()
}

/// What is comparable between two exports of the same traffic: everything but ids and times.
fn comparable(spans: Vec<(String, Span)>) -> Vec<String> {
    let mut out: Vec<String> = spans
        .into_iter()
        .map(|(scope, span)| {
            let mut attributes: Vec<String> = span
                .attributes
                .iter()
                .map(|kv| format!("{}={:?}", kv.key, kv.value))
                .collect();
            attributes.sort();
            format!(
                "{scope} {} kind={} status={:?} parent={} events={:?} {attributes:?}",
                span.name,
                span.kind,
                span.status,
                !span.parent_span_id.is_empty(),
                span.events.iter().map(|e| &e.name).collect::<Vec<_>>(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_delivers_the_same_spans_as_http() {
    let http = HttpCollector::start(Behaviour::Accept).await;
    let telemetry = install(
        "same-spans",
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &http.endpoint)],
    );
    traffic(&telemetry, "same-spans").await;
    shutdown(telemetry).await.expect("delivered over HTTP");

    let grpc = GrpcCollector::start(Behaviour::Accept).await;
    let telemetry = install(
        "same-spans",
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &grpc.endpoint),
        ],
    );
    assert_eq!(telemetry.config().otlp_transport, OtlpProtocol::Grpc);
    traffic(&telemetry, "same-spans").await;
    let stats = shutdown(telemetry).await.expect("delivered over gRPC");
    assert_eq!((stats.exported, stats.failed, stats.dropped), (3, 0, 0));

    let over_http = comparable(http.inbox.spans());
    let over_grpc = comparable(grpc.inbox.spans());
    assert_eq!(over_grpc.len(), 3, "{over_grpc:#?}");
    assert_eq!(over_grpc, over_http);
    grpc.inbox.each(|r| {
        let resource = r.request.resource_spans[0].resource.as_ref().unwrap();
        assert_eq!(
            otlp_collector::string(&resource.attributes, "service.name").as_deref(),
            Some("grpc-test")
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_traces_protocol_variable_headers_as_metadata_and_gzip() {
    let grpc = GrpcCollector::start(Behaviour::Accept).await;
    let telemetry = install(
        "grpc-headers",
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &grpc.endpoint),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "x-mlflow-experiment-id=7,authorization=Bearer%20t0k",
            ),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ],
    );
    traffic(&telemetry, "grpc-headers").await;
    shutdown(telemetry).await.expect("delivered");
    assert_eq!(grpc.inbox.spans().len(), 3);
    grpc.inbox.each(|r| {
        assert_eq!(r.headers["x-mlflow-experiment-id"], "7");
        assert_eq!(r.headers["authorization"], "Bearer t0k");
        assert_eq!(r.headers["grpc-encoding"], "gzip");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_with_nothing_listening_is_counted_warned_and_reported() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let telemetry = install(
        "grpc-closed",
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
        ],
    );
    traffic(&telemetry, "grpc-closed").await;
    let error = shutdown(telemetry).await.unwrap_err();
    let TelemetryError::Undelivered { stats, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!((stats.exported, stats.failed), (0, 3), "{stats:?}");
    let text = error.to_string();
    assert!(text.contains(&format!("{endpoint} (OTLP grpc)")), "{text}");
    assert!(text.contains("4317"), "{text}");
    let warned: Vec<String> = warnings_containing(&endpoint)
        .into_iter()
        .filter(|w| w.contains("could not be exported"))
        .collect();
    assert_eq!(warned.len(), 1, "{warned:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_error_code_fails_the_export() {
    // 12: UNIMPLEMENTED, what a server without the trace service answers.
    let grpc = GrpcCollector::start(Behaviour::Fail(12)).await;
    let telemetry = install(
        "grpc-unimplemented",
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &grpc.endpoint),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
        ],
    );
    traffic(&telemetry, "grpc-unimplemented").await;
    let error = shutdown(telemetry).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("Unimplemented"), "{text}");
    assert!(text.contains("3 failed"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_sent_to_a_grpc_port_is_a_reported_failure() {
    // The misconfiguration of the issue: the default protocol against a gRPC-only port.
    let grpc = GrpcCollector::start(Behaviour::Accept).await;
    let telemetry = install(
        "grpc-port-http",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &grpc.endpoint),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
        ],
    );
    traffic(&telemetry, "grpc-port-http").await;
    let error = shutdown(telemetry).await.unwrap_err();
    let TelemetryError::Undelivered { stats, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(stats.exported, 0, "{stats:?}");
    assert_eq!(
        stats.lost() + stats.in_flight() + stats.queued,
        3,
        "{stats:?}"
    );
    assert_eq!(grpc.inbox.requests(), 0);
}
