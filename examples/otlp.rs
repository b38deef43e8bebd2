//! OTLP: the quickstart's generations, exported by OTLP to a collector, and an honest report
//! of whether they arrived.
//!
//! ```sh
//! # a collector with a UI (Jaeger): OTLP/gRPC on 4317, OTLP/HTTP on 4318, UI on 16686
//! docker run --rm -p 16686:16686 -p 4317:4317 -p 4318:4318 jaegertracing/all-in-one
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 OTEL_SERVICE_NAME=quickstart \
//!     cargo run --example otlp
//! # the same over gRPC
//! OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 \
//!     cargo run --example otlp
//! # then open http://localhost:16686 and pick the service "quickstart"
//! ```
//!
//! Tracing and OTLP export are switched on here whatever `MELLEA_TRACES_ENABLED` /
//! `MELLEA_TRACES_OTLP` say; the endpoint comes from `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (default `http://localhost:4318/v1/traces`, or
//! `http://localhost:4317` for gRPC). With no collector there the generations still run, a
//! warning on stderr says the export failed and what to check, and the program exits with
//! status 1 saying how many spans were lost.

#[allow(dead_code)] // the quickstart's own `main` is not used here
#[path = "quickstart.rs"]
mod quickstart;

use quickstart::traced;

use mellea::telemetry::{ExportStats, TelemetryBuilder, TelemetryError, TracingConfig};

/// Runs the quickstart with OTLP export as `config` says; returns the endpoint and what was
/// delivered there, or the error `shutdown` reported (spans lost).
pub async fn run(mut config: TracingConfig) -> Result<(String, ExportStats), TelemetryError> {
    config.enabled = true;
    config.otlp = true;
    let default = config.otlp_transport.default_endpoint();
    let endpoint = config
        .otlp_endpoint
        .get_or_insert_with(|| default.to_owned())
        .clone();
    let telemetry = traced::start(TelemetryBuilder::from_config(config))?;
    telemetry
        .application_span("otlp-example")
        .run(quickstart::run())
        .await;
    // Flushes the batch exporter and says whether every span was delivered.
    let stats = traced::finish(telemetry)?;
    Ok((
        mellea::telemetry::redact_userinfo(&endpoint).into_owned(),
        stats,
    ))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(TracingConfig::from_env()).await {
        Ok((endpoint, stats)) => {
            println!("\n{} span(s) delivered to {endpoint}", stats.exported);
            std::process::ExitCode::SUCCESS
        }
        // Already said on stderr by `traced::finish`.
        Err(TelemetryError::Undelivered { .. }) => std::process::ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
