//! With `MELLEA_GENERATION_CHUNK_EVENTS` on, a streamed generation's span carries one
//! `chunk_processed` event per chunk (reference: mellea-tracing.md §4.3, §9 case 41).
//!
//! In the `process` binary, which runs its tests one at a time: it sets a process environment
//! variable.

use crate::support::telemetry as telemetry_support;

use futures_util::StreamExt as _;
use mellea::generation::{CHUNK_EVENTS_ENV, GenerationRequest, Message};
use opentelemetry::Value;
use telemetry_support::*;

#[tokio::test]
async fn each_streamed_chunk_adds_an_event_with_index_length_and_gap() {
    let _exclusive = crate::support::exclusive();
    // SAFETY: the only test of this binary; no other thread reads the environment meanwhile.
    unsafe { std::env::set_var(CHUNK_EVENTS_ENV, "true") };
    let traced = Traced::new("chunk-events");
    let stream = traced
        .run(
            LocalModel::new("test-model")
                .generate_stream(GenerationRequest::new([Message::user("count")])),
        )
        .await
        .unwrap();
    let chunks: Vec<_> = traced.run(stream.collect::<Vec<_>>()).await;
    assert_eq!(chunks.len(), 3);

    let spans = traced.spans();
    let span = named(&spans, "chat test-model");
    let events: Vec<_> = span.events.iter().collect();
    assert_eq!(events.len(), 3, "{events:?}");
    let index_and_length: Vec<(i64, i64)> = events
        .iter()
        .map(|e| {
            assert_eq!(e.name, "chunk_processed");
            let get = |key: &str| {
                e.attributes
                    .iter()
                    .find(|kv| kv.key.as_str() == key)
                    .map(|kv| kv.value.clone())
            };
            match (
                get("mellea.generation.chunk_index"),
                get("mellea.generation.chunk_text_length"),
            ) {
                (Some(Value::I64(i)), Some(Value::I64(l))) => (i, l),
                other => panic!("{other:?}"),
            }
        })
        .collect();
    assert_eq!(index_and_length, [(0, 1), (1, 2), (2, 2)]);
    let has_gap = |i: usize| {
        events[i]
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "mellea.generation.time_since_last_chunk_ms")
    };
    assert!(!has_gap(0) && has_gap(1) && has_gap(2));
}
