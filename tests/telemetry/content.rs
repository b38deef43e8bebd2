//! Content capture is off by default: with it off, neither a secret in a prompt nor an API key
//! in a backend's configuration appears anywhere in any exported span; with it on
//! (`MELLEA_TRACES_CONTENT` or `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`), prompts
//! and completions are recorded as `gen_ai.input.messages` / `gen_ai.output.messages`, and the
//! API key still is not.

use crate::support::telemetry as telemetry_support;

use std::sync::{Arc, Mutex};

use mellea::generation::{GenerationRequest, Message};
use mellea::telemetry::{ConsoleSpanExporter, TelemetryBuilder, TracingConfig};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use telemetry_support::*;

const CANARY: &str = "canary-7f3a9c-do-not-export";
const API_KEY: &str = "sk-live-4b2e0d-never-export";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn env(pairs: &'static [(&'static str, &'static str)]) -> TracingConfig {
    TracingConfig::from_lookup(|name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

/// Runs one generation with the canary in its prompt, traced by an installation configured
/// from `config`, and returns every exported span plus the console output.
async fn trace_a_secret_prompt(session: &str, config: TracingConfig) -> (Vec<SpanData>, String) {
    let exporter = InMemorySpanExporter::default();
    let console = Buffer::default();
    let telemetry = TelemetryBuilder::from_config(config)
        .with_simple_exporter(exporter.clone())
        .with_console_exporter(ConsoleSpanExporter::new(console.clone()))
        .for_session(session)
        .install()
        .unwrap();
    let backend = KeyedRemote {
        api_key: API_KEY.to_owned(),
        seen_prompts: Arc::default(),
    };
    let request = GenerationRequest::new([
        Message::system("You are terse."),
        Message::user(format!("My password is {CANARY}. Repeat it.")),
    ]);
    let app = telemetry
        .application_span("answer_question")
        .with_attribute("mellea.component.type", "Instruction");
    app.run(mellea::session::in_session(
        session.to_owned(),
        backend.generate(request),
    ))
    .await
    .unwrap();
    assert!(
        backend.seen_prompts.lock().unwrap()[0].contains(CANARY),
        "the backend did receive the secret"
    );
    // Flush rather than shut down: shutting down empties the in-memory exporter.
    telemetry.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    telemetry.shutdown().unwrap();
    (spans, console.text())
}

#[tokio::test]
async fn with_capture_off_no_secret_appears_in_any_exported_span() {
    let (spans, console) =
        trace_a_secret_prompt("content-off", env(&[("MELLEA_TRACES_ENABLED", "1")])).await;
    assert_eq!(spans.len(), 2, "application and backend span");
    let chat = named(&spans, "chat gpt-4o");
    assert_eq!(attr(chat, "gen_ai.input.messages"), None);
    assert_eq!(attr(chat, "gen_ai.output.messages"), None);
    for span in &spans {
        let everything = everything_in(span);
        assert!(
            !everything.contains(CANARY),
            "prompt secret leaked: {everything}"
        );
        assert!(
            !everything.contains(API_KEY),
            "API key leaked: {everything}"
        );
    }
    assert!(console.contains("chat gpt-4o"), "{console}");
    assert!(
        !console.contains(CANARY) && !console.contains(API_KEY),
        "{console}"
    );
}

#[tokio::test]
async fn mellea_traces_content_records_prompt_and_completion_but_never_the_api_key() {
    let (spans, console) = trace_a_secret_prompt(
        "content-on",
        env(&[
            ("MELLEA_TRACES_ENABLED", "1"),
            ("MELLEA_TRACES_CONTENT", "true"),
        ]),
    )
    .await;
    let chat = named(&spans, "chat gpt-4o");
    let input = str_attr(chat, "gen_ai.input.messages").expect("input recorded");
    assert!(input.contains(CANARY), "the check above can fail: {input}");
    let messages: serde_json::Value = serde_json::from_str(input).unwrap();
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(messages[1]["parts"][0]["type"], "text");
    let output = str_attr(chat, "gen_ai.output.messages").expect("output recorded");
    let output: serde_json::Value = serde_json::from_str(output).unwrap();
    assert_eq!(output[0]["role"], "assistant");
    assert_eq!(output[0]["finish_reason"], "stop");
    for span in &spans {
        assert!(!everything_in(span).contains(API_KEY));
    }
    assert!(!console.contains(API_KEY));
}

#[tokio::test]
async fn the_opentelemetry_capture_variable_turns_content_on_too() {
    let (spans, _) = trace_a_secret_prompt(
        "content-otel",
        env(&[
            ("MELLEA_TRACES_ENABLED", "1"),
            ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "TRUE"),
        ]),
    )
    .await;
    let chat = named(&spans, "chat gpt-4o");
    assert!(
        str_attr(chat, "gen_ai.input.messages")
            .unwrap()
            .contains(CANARY)
    );
}

#[tokio::test]
async fn captured_content_is_cut_to_the_standard_attribute_length_limit() {
    let (spans, _) = trace_a_secret_prompt(
        "content-limit",
        env(&[
            ("MELLEA_TRACES_ENABLED", "1"),
            ("MELLEA_TRACES_CONTENT", "true"),
            ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "40"),
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "4000"),
        ]),
    )
    .await;
    let chat = named(&spans, "chat gpt-4o");
    let input = attr(chat, "gen_ai.input.messages")
        .expect("captured")
        .to_string();
    assert_eq!(input.chars().count(), 40, "{input}");
    assert!(input.ends_with("…[truncated]"), "{input}");
    assert!(
        !input.contains(CANARY),
        "the secret is past the cut: {input}"
    );
    let output = attr(chat, "gen_ai.output.messages")
        .expect("captured")
        .to_string();
    assert!(output.chars().count() <= 40, "{output}");
}

#[tokio::test]
async fn without_a_limit_variable_captured_content_has_a_safe_default_cap() {
    let config = env(&[
        ("MELLEA_TRACES_ENABLED", "1"),
        ("MELLEA_TRACES_CONTENT", "true"),
    ]);
    assert_eq!(
        config.content_value_limit,
        mellea::telemetry::attributes::DEFAULT_CONTENT_VALUE_LIMIT
    );
    let telemetry = TelemetryBuilder::from_config(config.clone())
        .for_session("content-default-limit")
        .install()
        .unwrap();
    assert_eq!(
        telemetry.backend_plugin().unwrap().content_limit(),
        config.content_value_limit
    );
}

#[test]
fn a_malformed_limit_variable_is_named_in_a_warning_and_the_next_one_applies() {
    let config = env(&[
        ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "lots"),
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64"),
    ]);
    assert_eq!(config.content_value_limit, 64);
    let warnings = config.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT=`lots`"),
        "{warnings:?}"
    );

    let config = env(&[("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "-1")]);
    assert_eq!(
        config.content_value_limit,
        mellea::telemetry::attributes::DEFAULT_CONTENT_VALUE_LIMIT
    );
    assert!(config.warnings()[0].contains("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT=`-1`"));
}
