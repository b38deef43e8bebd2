//! `ViewerHints::OpenInference` on the tool and agent tracing plugins: the OpenInference span
//! kind always, `input.value` / `output.value` only with content capture on; nothing without
//! the hint.

use mellea::session::in_session;
use mellea::telemetry::{AgentTracingPlugin, ToolTracingPlugin, ViewerHints};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Blocked(#[from] mellea::PluginViolation),
}

/// Doubles a number.
#[mellea::tool]
async fn double(x: i64) -> Result<i64, Error> {
    Ok(2 * x)
}

/// Doubles through its tool.
#[mellea::agent(name = "doubler")]
async fn doubler(question: String) -> Result<String, Error> {
    let _ = question;
    Ok(double(21).await?.to_string())
}

fn str_attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}

async fn run(session: &str, hints: ViewerHints, capture: bool) -> Vec<SpanData> {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let tools = ToolTracingPlugin::from_provider(&provider)
        .with_name(format!("tools-{session}"))
        .with_viewer_hints(hints)
        .with_content_capture(capture);
    let agents = AgentTracingPlugin::from_provider(&provider)
        .with_name(format!("agents-{session}"))
        .with_viewer_hints(hints)
        .with_content_capture(capture);
    let a = mellea::register_for_session(session, tools).unwrap();
    let b = mellea::register_for_session(session, agents).unwrap();
    let answer = in_session(session.to_owned(), doubler("twice 21?".into()))
        .await
        .unwrap();
    assert_eq!(answer, "42");
    mellea::unregister(&a);
    mellea::unregister(&b);
    exporter.get_finished_spans().unwrap()
}

#[tokio::test]
async fn the_openinference_hint_adds_kinds_and_with_capture_inputs_and_outputs() {
    let spans = run("hints-capture", ViewerHints::OpenInference, true).await;
    let agent = spans
        .iter()
        .find(|s| s.name == "invoke_agent doubler")
        .unwrap();
    let tool = spans
        .iter()
        .find(|s| s.name == "execute_tool double")
        .unwrap();
    assert_eq!(tool.parent_span_id, agent.span_context.span_id());
    assert_eq!(
        str_attr(agent, "openinference.span.kind").as_deref(),
        Some("AGENT")
    );
    assert_eq!(str_attr(agent, "input.value").as_deref(), Some("twice 21?"));
    assert_eq!(str_attr(agent, "output.value").as_deref(), Some("42"));
    assert_eq!(
        str_attr(tool, "openinference.span.kind").as_deref(),
        Some("TOOL")
    );
    assert_eq!(
        str_attr(tool, "input.value").as_deref(),
        Some(r#"{"x":21}"#)
    );
    assert_eq!(str_attr(tool, "output.value").as_deref(), Some("42"));
    assert_eq!(
        str_attr(tool, "input.mime_type").as_deref(),
        Some("application/json")
    );

    let spans = run("hints-no-capture", ViewerHints::OpenInference, false).await;
    for span in &spans {
        assert!(str_attr(span, "openinference.span.kind").is_some());
        assert!(
            str_attr(span, "input.value").is_none() && str_attr(span, "output.value").is_none()
        );
    }
    let spans = run("no-hints", ViewerHints::None, true).await;
    assert_eq!(spans.len(), 2);
    for span in &spans {
        assert!(str_attr(span, "openinference.span.kind").is_none());
        assert!(str_attr(span, "input.value").is_none());
    }
}
