//! Shared test support: the scripted loopback server, the hook recorder, fixtures and a
//! trace context to propagate.
#![allow(dead_code)]

pub mod recorder;
pub mod server;

use std::time::Duration;

use mellea_backends::RetryPolicy;
use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};

/// A fixture under `tests/fixtures/`.
pub fn fixture(path: &str) -> String {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("fixture {full}: {e}"))
}

/// The events of an SSE fixture, each with its terminating blank line.
pub fn sse_events(body: &str) -> Vec<String> {
    body.split_inclusive("\n\n").map(str::to_owned).collect()
}

/// The lines of an NDJSON fixture, each with its newline.
pub fn ndjson_lines(body: &str) -> Vec<String> {
    body.split_inclusive('\n').map(str::to_owned).collect()
}

/// `body` cut every `size` bytes (fixtures are ASCII), as a network might deliver it.
pub fn in_pieces(body: &str, size: usize) -> Vec<String> {
    body.as_bytes()
        .chunks(size)
        .map(|piece| String::from_utf8(piece.to_vec()).expect("fixtures are ASCII"))
        .collect()
}

pub const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
pub const SPAN_ID: &str = "00f067aa0ba902b7";

/// A context whose current span is a sampled remote parent, as a traced caller would have.
pub fn traced_context() -> Context {
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_hex(TRACE_ID).unwrap(),
        SpanId::from_hex(SPAN_ID).unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ))
}

/// The `traceparent` a server should receive from a call made under [`traced_context`].
pub fn expected_traceparent() -> String {
    format!("00-{TRACE_ID}-{SPAN_ID}-01")
}

/// The default number of retries with waits of a few milliseconds, so tests that retry do not
/// sleep for the real backoff.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default().with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}
