//! With `MELLEA_GENERATION_CHUNK_EVENTS` on, every streamed chunk after the first records
//! `gen_ai.client.operation.time_per_output_chunk`.
//!
//! In the `process` binary, which runs its tests one at a time: it sets a process environment
//! variable.

use crate::support::echo_backend;

use echo_backend::Echo;
use futures_util::StreamExt as _;
use mellea::generation::{CHUNK_EVENTS_ENV, GenerationRequest, Message};
use mellea::telemetry::metrics::DURATION_BOUNDARIES;
use mellea::telemetry::{TelemetryBuilder, TracingConfig};
use opentelemetry_sdk::metrics::InMemoryMetricExporter;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};

#[tokio::test]
async fn every_chunk_after_the_first_records_its_time() {
    let _exclusive = crate::support::exclusive();
    // SAFETY: the only test of this binary; no other thread reads the environment meanwhile.
    unsafe { std::env::set_var(CHUNK_EVENTS_ENV, "true") };
    let exporter = InMemoryMetricExporter::default();
    let telemetry = TelemetryBuilder::from_config(TracingConfig::default())
        .with_metric_exporter(exporter.clone())
        .for_session("metrics-chunks")
        .install()
        .unwrap();
    mellea::session::in_session("metrics-chunks", async {
        let request = GenerationRequest::new([Message::user("count")]).with_option("chunks", 4);
        let stream = Echo::new().generate_stream(request).await.unwrap();
        let chunks: Vec<_> = stream.collect().await;
        assert_eq!(chunks.len(), 4);
    })
    .await;
    telemetry.force_flush().unwrap();
    let metrics = exporter.get_finished_metrics().unwrap().pop().unwrap();
    let metric = metrics
        .scope_metrics()
        .flat_map(|s| s.metrics())
        .find(|m| m.name() == "gen_ai.client.operation.time_per_output_chunk")
        .expect("time per output chunk recorded");
    assert_eq!(metric.unit(), "s");
    let AggregatedMetrics::F64(MetricData::Histogram(histogram)) = metric.data() else {
        panic!("an f64 histogram")
    };
    let points: Vec<_> = histogram.data_points().collect();
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].count(), 3, "four chunks: three after the first");
    assert_eq!(points[0].bounds().collect::<Vec<_>>(), DURATION_BOUNDARIES);
    let mut labels: Vec<String> = points[0]
        .attributes()
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect();
    labels.sort();
    assert_eq!(
        labels,
        [
            "gen_ai.operation.name=chat",
            "gen_ai.provider.name=echo",
            "gen_ai.request.model=echo-model",
            "server.address=echo.local",
            "server.port=8080",
        ]
    );
}
