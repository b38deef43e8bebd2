//! OTLP: the quickstart's generations, exported by OTLP/HTTP to a collector.
//!
//! ```sh
//! # a collector with a UI (Jaeger): OTLP/HTTP on 4318, UI on 16686
//! docker run --rm -p 16686:16686 -p 4318:4318 jaegertracing/all-in-one
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 OTEL_SERVICE_NAME=quickstart \
//!     cargo run --example otlp
//! # then open http://localhost:16686 and pick the service "quickstart"
//! ```
//!
//! Tracing and OTLP export are switched on here whatever `MELLEA_TRACES_ENABLED` /
//! `MELLEA_TRACES_OTLP` say; the endpoint comes from `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (default `http://localhost:4318`). With no collector there,
//! the generations still run and nothing fails: spans that cannot be delivered are dropped
//! (the OpenTelemetry SDK logs the failed export through `tracing`).

#[allow(dead_code)] // the quickstart's own `main` is not used here
#[path = "quickstart.rs"]
mod quickstart;

use mellea::telemetry::{TelemetryBuilder, TelemetryError, TracingConfig};

/// Where spans go when the environment names no endpoint.
const DEFAULT_ENDPOINT: &str = "http://localhost:4318/v1/traces";

/// Runs the quickstart with OTLP export and returns the endpoint the spans went to.
pub async fn run() -> Result<String, TelemetryError> {
    let mut config = TracingConfig::from_env();
    config.enabled = true;
    config.otlp = true;
    let endpoint = config
        .otlp_endpoint
        .get_or_insert_with(|| DEFAULT_ENDPOINT.to_owned())
        .clone();
    let telemetry = TelemetryBuilder::from_config(config).install()?;
    for warning in telemetry.warnings() {
        eprintln!("warning: {warning}");
    }
    telemetry
        .application_span("otlp-example")
        .run(quickstart::run())
        .await;
    // Flushes the batch exporter, so every finished span is sent before the program exits.
    telemetry.shutdown()?;
    Ok(endpoint)
}

#[tokio::main]
async fn main() {
    match run().await {
        Ok(endpoint) => println!("\nspans exported to {endpoint}"),
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    }
}
