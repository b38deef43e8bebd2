//! The tracing example runs and emits what its documentation says: a `session` span with a
//! chat span and a streamed chat span beneath it.

#[allow(dead_code)] // `main` is the example's entry point, unused here.
#[path = "../../examples/tracing.rs"]
mod tracing_example;

use mellea::telemetry::TelemetryBuilder;
use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::trace::InMemorySpanExporter;

#[tokio::test]
async fn the_tracing_example_emits_a_session_span_with_two_generation_spans_beneath() {
    let exporter = InMemorySpanExporter::default();
    let telemetry = TelemetryBuilder::new()
        .with_simple_exporter(exporter.clone())
        .for_session(tracing_example::SESSION)
        .install()
        .unwrap();
    let (reply, streamed) = tracing_example::run(&telemetry).await.unwrap();
    assert_eq!(reply, "You asked: What is a span?");
    assert_eq!(streamed, "Spans nest under the session.");

    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let session = spans.iter().find(|s| s.name == "session").unwrap();
    let chats: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "chat granite4:micro")
        .collect();
    assert_eq!(chats.len(), 2);
    for chat in &chats {
        assert_eq!(chat.parent_span_id, session.span_context.span_id());
        assert_eq!(chat.span_kind, SpanKind::Client);
    }
    assert!(chats.iter().any(|c| {
        c.attributes
            .iter()
            .any(|kv| kv.key.as_str() == "gen_ai.request.stream")
    }));
}
