//! No span is lost without a word: against loopback OTLP/HTTP collectors that refuse, fail,
//! throttle, never answer or answer slowly, and with nothing listening, each case gives the
//! documented `shutdown()` result, a WARN event naming the endpoint, and exact counts.

use crate::support::echo_backend;
use crate::support::otlp_collector;

use std::time::Duration;

use echo_backend::Echo;
use mellea::generation::{GenerationRequest, Message};
use mellea::telemetry::{ExportStats, Telemetry, TelemetryBuilder, TelemetryError, TracingConfig};
use otlp_collector::{Behaviour, HttpCollector, closed_port, warnings_containing};

fn env(pairs: Vec<(&'static str, String)>) -> TracingConfig {
    TracingConfig::from_lookup(move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
}

/// Tracing on, exporting by OTLP to `endpoint` (a base URL), for one session.
fn install(session: &str, endpoint: &str, extra: &[(&'static str, &str)]) -> Telemetry {
    otlp_collector::install_warning_capture();
    let mut pairs = vec![
        ("MELLEA_TRACES_ENABLED", "1".to_owned()),
        ("MELLEA_TRACES_OTLP", "1".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.to_owned()),
        // Export as soon as spans end, so the tests need not wait for the timer.
        ("OTEL_BSP_SCHEDULE_DELAY", "10".to_owned()),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let telemetry = TelemetryBuilder::from_config(env(pairs))
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

async fn generate(session: &str, n: usize) {
    let echo = Echo::new();
    for i in 0..n {
        mellea::session::in_session(
            session,
            echo.generate(GenerationRequest::new([Message::user(format!("n {i}"))])),
        )
        .await
        .expect("export problems never fail a generation");
    }
}

/// Shuts down off the async workers (the batch processor blocks its caller).
async fn shutdown(telemetry: Telemetry) -> Result<ExportStats, TelemetryError> {
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .expect("shutdown never panics")
}

fn undelivered(result: Result<ExportStats, TelemetryError>) -> (ExportStats, String) {
    match result {
        Err(error @ TelemetryError::Undelivered { .. }) => {
            let text = error.to_string();
            let TelemetryError::Undelivered { stats, .. } = error else {
                unreachable!()
            };
            (stats, text)
        }
        other => panic!("expected Undelivered, got {other:?}"),
    }
}

/// Checks the one WARN event about failures to `endpoint` and returns it.
fn one_failure_warning(endpoint: &str) -> String {
    let found: Vec<String> = warnings_containing(endpoint)
        .into_iter()
        .filter(|w| w.contains("could not be exported"))
        .collect();
    assert_eq!(found.len(), 1, "one warning, then rate-limited: {found:#?}");
    found.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_fails_every_span_warns_once_and_shutdown_says_so() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let telemetry = install(
        "fail-closed",
        &endpoint,
        &[("OTEL_EXPORTER_OTLP_TIMEOUT", "500")],
    );
    generate("fail-closed", 5).await;
    let flushed = tokio::task::block_in_place(|| telemetry.force_flush());
    let (stats, _) = undelivered(flushed);
    assert_eq!(stats.failed, 5, "{stats:?}");
    generate("fail-closed", 3).await;

    let (stats, text) = undelivered(shutdown(telemetry).await);
    assert_eq!(
        (stats.exported, stats.failed, stats.dropped, stats.queued),
        (0, 8, 0, 0),
        "{stats:?}"
    );
    let cause = stats.last_failure.as_deref().unwrap();
    assert!(cause.contains(&endpoint), "{cause}");
    assert!(cause.contains("cannot connect"), "{cause}");
    assert!(cause.contains("Connection refused"), "{cause}");
    assert!(cause.contains("check that a collector listens"), "{cause}");
    assert!(
        text.starts_with("8 span(s) were not delivered (0 exported, 8 failed"),
        "{text}"
    );
    let warning = one_failure_warning(&endpoint);
    assert!(warning.contains("Connection refused"), "{warning}");
    // The SDK's own warnings reach `tracing` too (its `internal-logs` feature).
    assert!(
        otlp_collector::warnings()
            .iter()
            .any(|w| w.starts_with("opentelemetry")),
        "{:#?}",
        otlp_collector::warnings()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_answering_500_fails_the_export_with_its_status() {
    let collector = HttpCollector::start(Behaviour::Fail(500)).await;
    let telemetry = install(
        "fail-500",
        &collector.endpoint,
        &[("OTEL_EXPORTER_OTLP_TIMEOUT", "300")],
    );
    generate("fail-500", 2).await;
    let (stats, text) = undelivered(shutdown(telemetry).await);
    assert_eq!((stats.exported, stats.failed), (0, 2), "{stats:?}");
    assert!(text.contains("status code: 500"), "{text}");
    assert!(text.contains("check its logs"), "{text}");
    one_failure_warning(&collector.endpoint);
    assert!(collector.inbox.requests() == 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttling_collector_429_fails_the_export_after_retrying() {
    let collector = HttpCollector::start(Behaviour::Fail(429)).await;
    let telemetry = install(
        "fail-429",
        &collector.endpoint,
        &[("OTEL_EXPORTER_OTLP_TIMEOUT", "300")],
    );
    generate("fail-429", 1).await;
    let (stats, text) = undelivered(shutdown(telemetry).await);
    assert_eq!((stats.exported, stats.failed), (0, 1), "{stats:?}");
    assert!(text.contains("status code: 429"), "{text}");
    assert!(text.contains("overloaded"), "{text}");
    one_failure_warning(&collector.endpoint);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_path_is_reported_with_what_to_check() {
    let collector = HttpCollector::start(Behaviour::Fail(404)).await;
    let telemetry = install("fail-404", &collector.endpoint, &[]);
    generate("fail-404", 1).await;
    let (_, text) = undelivered(shutdown(telemetry).await);
    assert!(text.contains("status code: 404"), "{text}");
    assert!(text.contains("/v1/traces"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_never_answers_times_out_and_shutdown_does_not_hang() {
    let collector = HttpCollector::start(Behaviour::Never).await;
    let telemetry = install(
        "fail-never",
        &collector.endpoint,
        &[("OTEL_EXPORTER_OTLP_TIMEOUT", "300")],
    );
    generate("fail-never", 2).await;
    let (stats, text) = undelivered(shutdown(telemetry).await);
    assert_eq!((stats.exported, stats.failed), (0, 2), "{stats:?}");
    assert!(text.contains("no answer within 300ms"), "{text}");
    assert!(text.contains("raise OTEL_EXPORTER_OTLP_TIMEOUT"), "{text}");
    one_failure_warning(&collector.endpoint);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_collector_within_the_timeout_is_a_success_even_past_the_sdks_fixed_5s() {
    // A cold MLflow: the first answer takes more than the SDK's fixed 5 s flush wait, but
    // less than OTEL_EXPORTER_OTLP_TIMEOUT, which the wait follows.
    let collector = HttpCollector::start(Behaviour::Slow(Duration::from_millis(5_500))).await;
    let telemetry = install(
        "slow-ok",
        &collector.endpoint,
        &[
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "20000"),
            ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
        ],
    );
    generate("slow-ok", 2).await;
    let flushed = tokio::task::block_in_place(|| telemetry.force_flush())
        .expect("a slow answer within the timeout is a success");
    assert_eq!((flushed.exported, flushed.failed), (2, 0), "{flushed:?}");
    let stats = shutdown(telemetry).await.expect("delivered");
    assert_eq!((stats.exported, stats.failed, stats.dropped), (2, 0, 0));
    assert_eq!(collector.inbox.spans().len(), 2);
    assert!(warnings_containing(&collector.endpoint).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_slow_collector_past_the_timeout_is_a_failure() {
    let collector = HttpCollector::start(Behaviour::Slow(Duration::from_millis(1_500))).await;
    let telemetry = install(
        "slow-late",
        &collector.endpoint,
        &[("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "300")],
    );
    generate("slow-late", 1).await;
    let (stats, text) = undelivered(shutdown(telemetry).await);
    assert_eq!(stats.failed, 1, "{stats:?}");
    assert!(text.contains("no answer within 300ms"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_are_counted_exactly_and_warned_once() {
    // Queue and batch of 8; the collector never answers, so the first batch stays in flight.
    let collector = HttpCollector::start(Behaviour::Never).await;
    let telemetry = install(
        "queue-full",
        &collector.endpoint,
        &[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "8"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "8"),
            ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
            // Long enough that the first export is still hanging while the test generates,
            // with a shutdown wait that covers the two exports that time out after it.
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "3000"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "10000"),
        ],
    );
    // Eight spans fill the queue and start an export; once it has taken them, eight more fit
    // and every further span is dropped.
    generate("queue-full", 8).await;
    let mut waited = 0;
    while telemetry.stats().handed < 8 {
        assert!(waited < 1_000, "the batch was never exported");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    generate("queue-full", 100).await;
    let during = telemetry.stats();
    assert_eq!(
        (during.handed, during.queued, during.dropped),
        (8, 8, 92),
        "{during:?}"
    );
    let drops: Vec<String> = warnings_containing(&collector.endpoint)
        .into_iter()
        .filter(|w| w.contains("dropped because the batch queue was full"))
        .collect();
    assert_eq!(drops.len(), 1, "{drops:#?}");
    assert!(drops[0].contains("OTEL_BSP_MAX_QUEUE_SIZE"), "{}", drops[0]);
    assert!(drops[0].contains("(max 8 spans)"), "{}", drops[0]);

    let (stats, text) = undelivered(shutdown(telemetry).await);
    assert_eq!(
        (stats.exported, stats.failed, stats.dropped),
        (0, 16, 92),
        "{stats:?}"
    );
    assert!(text.contains("92 dropped (batch queue full)"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_the_endpoint_never_reach_errors_warnings_or_debug() {
    let port = closed_port();
    let endpoint = format!("http://alice:hunter2@127.0.0.1:{port}");
    let telemetry = install(
        "fail-secret",
        &endpoint,
        &[("OTEL_EXPORTER_OTLP_TIMEOUT", "200")],
    );
    assert!(!format!("{telemetry:?}").contains("hunter2"));
    assert!(!format!("{:?}", telemetry.config()).contains("alice"));
    generate("fail-secret", 1).await;
    let result = shutdown(telemetry).await;
    let text = format!("{} {:?}", result.as_ref().unwrap_err(), result);
    assert!(
        !text.contains("hunter2") && !text.contains("alice"),
        "{text}"
    );
    assert!(
        text.contains(&format!("http://127.0.0.1:{port}/v1/traces")),
        "{text}"
    );
    for warning in otlp_collector::warnings() {
        assert!(!warning.contains("hunter2"), "{warning}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_guard_waits_no_longer_than_the_export_timeout_and_warns() {
    // The request timeout is long; the shutdown wait (OTEL_BSP_EXPORT_TIMEOUT) is short.
    let collector = HttpCollector::start(Behaviour::Never).await;
    let telemetry = install(
        "drop-never",
        &collector.endpoint,
        &[
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "60000"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "300"),
        ],
    );
    generate("drop-never", 1).await;
    // A generous margin: the drop itself waits 300 ms for the hanging export.
    tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || drop(telemetry)),
    )
    .await
    .expect("dropping the guard never hangs past the export timeout")
    .unwrap();
    let warned: Vec<String> = warnings_containing("span(s) were not delivered")
        .into_iter()
        .filter(|w| w.contains("1 not yet confirmed") && w.contains("waited up to 300ms"))
        .collect();
    assert_eq!(warned.len(), 1, "{:#?}", otlp_collector::warnings());
}
