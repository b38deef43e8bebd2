//! The tracing and metrics plugins, content capture, OTLP export and its failures, and
//! interop with `tracing`. Tests run in parallel, each installing telemetry for its own session
//! (see `support::telemetry`).

#[path = "../support/mod.rs"]
mod support;

mod application;
mod content;
mod example;
mod export_failures;
mod generation_span;
mod generations;
mod grpc;
mod handlers;
mod metrics;
mod metrics_otlp;
mod signals;
mod tracing_interop;
mod viewer_hints;
