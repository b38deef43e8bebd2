//! The process-wide installation (what `init_from_env` makes): registered once, shared by
//! later installs, torn down by its last guard, flushing batched spans on the way out.
//!
//! In the `process` binary, whose tests take turns: they install into the process-wide registry.

use crate::support::echo_backend;
use crate::support::telemetry as telemetry_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use echo_backend::Echo;
use mellea::generation::{GenerationRequest, Message};
use mellea::telemetry::{ApplicationSpan, ConsoleSpanExporter, TelemetryBuilder};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use telemetry_support::*;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn hello() -> GenerationRequest {
    GenerationRequest::new([Message::user("hello world")])
}

fn tracing_handlers() -> Vec<String> {
    mellea::global()
        .handler_names()
        .into_iter()
        .filter(|n| n.starts_with("backend_tracing"))
        .collect()
}

#[tokio::test]
async fn installing_twice_registers_the_plugin_once_and_shares_the_first_setup() {
    let _exclusive = crate::support::exclusive();
    let _turn = ONE_AT_A_TIME.lock().await;
    let exporter = InMemorySpanExporter::default();
    let first = TelemetryBuilder::new()
        .with_simple_exporter(exporter.clone())
        .install()
        .unwrap();
    let second = TelemetryBuilder::new()
        .with_content_capture(true)
        .install()
        .unwrap();
    assert!(Arc::ptr_eq(
        first.backend_plugin().unwrap(),
        second.backend_plugin().unwrap()
    ));
    assert!(!second.config().capture_content, "the first setup wins");
    let handlers = tracing_handlers();
    assert_eq!(
        handlers
            .iter()
            .filter(|n| *n == "backend_tracing.generation_pre_call")
            .count(),
        1,
        "{handlers:?}"
    );
    assert_eq!(
        handlers.len(),
        7,
        "chat, batch and event hooks: {handlers:?}"
    );

    drop(first);
    assert_eq!(
        tracing_handlers().len(),
        7,
        "the second handle keeps it alive"
    );
    Echo::new().generate(hello()).await.unwrap();
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 1);

    drop(second);
    assert!(tracing_handlers().is_empty(), "the last guard unregisters");
    // With nothing registered, generations are not even begun.
    Echo::new().generate(hello()).await.unwrap();
    assert_eq!(mellea::generation::live_generations(), 0);

    // And tracing can be set up again afterwards.
    let again = TelemetryBuilder::new().install().unwrap();
    assert_eq!(tracing_handlers().len(), 7);
    drop(again);
    assert!(tracing_handlers().is_empty());
}

#[tokio::test]
async fn a_process_wide_installation_traces_every_generation_and_installed_application_spans() {
    let _exclusive = crate::support::exclusive();
    let _turn = ONE_AT_A_TIME.lock().await;
    let exporter = InMemorySpanExporter::default();
    let telemetry = TelemetryBuilder::new()
        .with_simple_exporter(exporter.clone())
        .install()
        .unwrap();

    // No session: traced, without a conversation id.
    Echo::new().generate(hello()).await.unwrap();
    // The free-standing application spans use the installed tracer.
    ApplicationSpan::session("global-session")
        .run(Echo::new().generate(hello()))
        .await
        .unwrap();
    // Flush, then read: shutting down empties the in-memory exporter.
    telemetry.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    drop(telemetry);
    let chats: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "chat echo-model")
        .collect();
    assert_eq!(chats.len(), 2, "{spans:?}");
    assert_eq!(attr(chats[0], "gen_ai.conversation.id"), None);
    let session = named(&spans, "session");
    assert!(is_child_of(chats[1], session));
    assert_eq!(
        str_attr(chats[1], "gen_ai.conversation.id"),
        Some("global-session")
    );
}

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

#[tokio::test]
async fn dropping_the_guard_flushes_spans_still_waiting_in_a_batch() {
    let _exclusive = crate::support::exclusive();
    let _turn = ONE_AT_A_TIME.lock().await;
    let buffer = Buffer::default();
    let telemetry = TelemetryBuilder::new()
        .with_console_exporter(ConsoleSpanExporter::new(buffer.clone()))
        .with_scheduled_delay(Duration::from_secs(600))
        .install()
        .unwrap();
    Echo::new().generate(hello()).await.unwrap();
    assert!(buffer.0.lock().unwrap().is_empty(), "still batched");
    drop(telemetry);
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("span \"chat echo-model\""), "{text:?}");
    assert!(
        ApplicationSpan::new("after")
            .run(async { mellea::session::current_session_id() })
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_plugin_of_the_same_name_registered_by_hand_makes_installation_fail_cleanly() {
    let _exclusive = crate::support::exclusive();
    let _turn = ONE_AT_A_TIME.lock().await;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let by_hand = mellea::register(mellea::telemetry::BackendTracingPlugin::from_provider(
        &provider,
    ))
    .unwrap();
    let error = TelemetryBuilder::new().install().unwrap_err();
    assert!(error.to_string().contains("backend_tracing"), "{error}");
    mellea::unregister(&by_hand);
    assert!(tracing_handlers().is_empty(), "nothing half-registered");
    let renamed = TelemetryBuilder::new()
        .with_plugin_name("my_tracing")
        .install()
        .unwrap();
    assert!(
        mellea::global()
            .handler_names()
            .contains(&"my_tracing.generation_post_call".to_owned())
    );
    drop(renamed);
}
