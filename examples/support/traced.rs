//! What every example does around its work: warnings printed to stderr, tracing set up as the
//! environment says, and at the end an honest account of what became of the spans and metric
//! data points.
//!
//! ```sh
//! MELLEA_TRACES_ENABLED=1 MELLEA_TRACES_OTLP=1 OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 \
//!     cargo run --example <name>
//! ```

use std::process::ExitCode;

use mellea::telemetry::{ExportStats, Telemetry, TelemetryBuilder, TelemetryError};

/// Prints WARN events, mellea's and the OpenTelemetry SDK's (a failed export, a full queue, a
/// malformed variable), to stderr. Does nothing if the program already has a subscriber.
pub fn print_warnings() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::WARN)
        .without_time()
        .try_init();
}

/// Prints warnings to stderr and installs `builder` (usually `TelemetryBuilder::from_env()`).
pub fn start(builder: TelemetryBuilder) -> Result<Telemetry, TelemetryError> {
    print_warnings();
    builder.install()
}

/// Shuts telemetry down, flushing the last spans and metrics, and says on stderr what became
/// of them.
pub fn finish(telemetry: Telemetry) -> Result<ExportStats, TelemetryError> {
    // The counts cover every accounted exporter: name what they are counts of.
    let units = match (telemetry.is_enabled(), telemetry.metrics_enabled()) {
        (true, true) => Some("span(s) and metric data point(s)"),
        (true, false) => Some("span(s)"),
        (false, true) => Some("metric data point(s)"),
        (false, false) => None,
    };
    let outcome = telemetry.shutdown();
    match (&outcome, units) {
        (Ok(stats), Some(units)) => eprintln!("telemetry: {} {units} exported", stats.exported),
        (Ok(_), None) => {}
        (Err(error), _) => eprintln!("telemetry: {error}"),
    }
    outcome
}

/// Success only when the work succeeded and no span was lost.
pub fn exit_code(work_succeeded: bool, export: &Result<ExportStats, TelemetryError>) -> ExitCode {
    if work_succeeded && export.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
