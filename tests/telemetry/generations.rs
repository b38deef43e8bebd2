//! Backend spans of real generations through `#[backend]` / `#[generation_hook]`: attributes,
//! kinds, parenting, streaming, failures and cancellation (reference: mellea-tracing.md §9
//! cases 8, 11, 15, 21, 23–25, 39–40, plus the Rust-only guarantees of DESIGN.md §3).
//!
//! Each test installs tracing for its own session, so tests running in parallel never see each
//! other's spans.

use crate::support::echo_backend;
use crate::support::telemetry as telemetry_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use echo_backend::{Echo, EchoError};
use futures_util::StreamExt as _;
use mellea::generation::{BatchGenerationRequest, GenerationRequest, Message};
use mellea::hooks::{GenerationPreCall, GenerationPreCallPatch, ModelOptions};
use mellea::plugin::{HookAction, HookFn};
use mellea::telemetry::{ConsoleSpanExporter, TelemetryBuilder, TracingConfig};
use opentelemetry::Context;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{Span as _, SpanKind, TraceContextExt as _, Tracer as _};
use telemetry_support::*;

fn hello() -> GenerationRequest {
    GenerationRequest::new([Message::user("hello world")])
}

#[tokio::test]
async fn a_chat_generation_of_a_remote_backend_emits_one_client_span_with_every_attribute() {
    let traced = Traced::new("gen-remote");
    let reply = traced
        .run(Echo::new().generate(hello().with_option("temperature", 0.5)))
        .await
        .unwrap();
    assert_eq!(reply.text, "hello world");

    let spans = traced.spans();
    assert_eq!(spans.len(), 1);
    let span = named(&spans, "chat echo-model");
    assert_kind(span, SpanKind::Client);
    assert!(is_root(span));
    assert_eq!(span.instrumentation_scope.name(), "mellea.backend");
    assert_eq!(str_attr(span, "gen_ai.operation.name"), Some("chat"));
    assert_eq!(str_attr(span, "gen_ai.provider.name"), Some("echo"));
    assert_eq!(str_attr(span, "gen_ai.request.model"), Some("echo-model"));
    assert_eq!(str_attr(span, "server.address"), Some("echo.local"));
    assert_eq!(int_attr(span, "server.port"), Some(8080));
    assert_eq!(str_attr(span, "gen_ai.conversation.id"), Some("gen-remote"));
    assert_eq!(float_attr(span, "gen_ai.request.temperature"), Some(0.5));
    assert_eq!(bool_attr(span, "mellea.action.tool_calls"), Some(false));
    assert_eq!(int_attr(span, "mellea.request.context_size"), Some(0));
    assert_eq!(int_attr(span, "gen_ai.usage.input_tokens"), Some(3));
    assert_eq!(int_attr(span, "gen_ai.usage.output_tokens"), Some(2));
    assert_eq!(int_attr(span, "mellea.usage.total_tokens"), Some(5));
    assert_eq!(str_attr(span, "gen_ai.response.model"), Some("echo-1"));
    assert_eq!(str_attr(span, "gen_ai.response.id"), Some("resp-1"));
    assert_eq!(
        string_array_attr(span, "gen_ai.response.finish_reasons"),
        Some(vec!["stop".to_owned()])
    );
    assert_eq!(span.status, opentelemetry::trace::Status::Unset);
    assert!(span.events.is_empty());
    assert_eq!(traced.plugin().open_spans(), 0);
}

#[tokio::test]
async fn an_in_process_backend_emits_an_internal_span_without_server_attributes() {
    let traced = Traced::new("gen-local");
    traced
        .run(LocalModel::new("ibm-granite/granite-4.1-3b").generate(hello()))
        .await
        .unwrap();
    let spans = traced.spans();
    let span = named(&spans, "chat ibm-granite/granite-4.1-3b");
    assert_kind(span, SpanKind::Internal);
    assert_eq!(str_attr(span, "gen_ai.provider.name"), Some("huggingface"));
    assert_eq!(attr(span, "server.address"), None);
    assert_eq!(attr(span, "server.port"), None);
}

#[tokio::test]
async fn the_span_lasts_the_whole_call_and_is_exported_only_when_the_call_ends() {
    let traced = Traced::new("gen-duration");
    let mut model = LocalModel::new("test-model");
    model.delay = Some(Duration::from_millis(120));
    let call = tokio::spawn({
        let session = traced.session.clone();
        async move { mellea::session::in_session(session, model.generate(hello())).await }
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert!(traced.spans().is_empty(), "no span before the call ends");
    call.await.unwrap().unwrap();

    let spans = traced.spans();
    let span = named(&spans, "chat test-model");
    let duration = span.end_time.duration_since(span.start_time).unwrap();
    assert!(duration >= Duration::from_millis(100), "{duration:?}");
    assert_eq!(str_attr(span, "gen_ai.provider.name"), Some("huggingface"));
    assert_eq!(str_attr(span, "gen_ai.request.model"), Some("test-model"));
    assert_eq!(int_attr(span, "gen_ai.usage.input_tokens"), Some(10));
    assert_eq!(int_attr(span, "gen_ai.usage.output_tokens"), Some(5));
}

#[tokio::test]
async fn the_backend_span_is_a_child_of_the_callers_current_span() {
    let traced = Traced::new("gen-user-parent");
    let tracer = traced.tracer("user");
    let cx = Context::current_with_span(tracer.start("user-outer"));
    traced
        .run(Echo::new().generate(hello()))
        .with_context(cx.clone())
        .await
        .unwrap();
    cx.span().end();

    let spans = traced.spans();
    let outer = named(&spans, "user-outer");
    let chat = named(&spans, "chat echo-model");
    assert!(is_child_of(chat, outer), "{chat:?}");
}

#[tokio::test]
async fn spans_created_in_the_backend_body_and_its_spawned_tasks_are_children_of_the_backend_span()
{
    let traced = Traced::new("gen-nested");
    let mut model = LocalModel::new("nesting");
    model.tracer = Some(traced.tracer("body"));
    traced.run(model.generate(hello())).await.unwrap();

    let spans = traced.spans();
    let chat = named(&spans, "chat nesting");
    assert!(is_root(chat));
    for nested in ["nested-caller-task", "nested-background-task"] {
        assert!(is_child_of(named(&spans, nested), chat), "{nested}");
    }
}

#[tokio::test]
async fn sequential_generations_are_siblings_not_nested() {
    let traced = Traced::new("gen-siblings");
    let echo = Echo::new();
    traced
        .run(async {
            echo.generate(hello()).await.unwrap();
            echo.generate(hello()).await.unwrap();
        })
        .await;
    let spans = traced.spans();
    assert_eq!(spans.len(), 2);
    assert!(spans.iter().all(is_root), "both roots: {spans:?}");
    assert_ne!(
        spans[0].span_context.trace_id(),
        spans[1].span_context.trace_id()
    );

    // And under an application span both are its children.
    let parent = traced.telemetry.application_span("parent_operation");
    parent
        .run(traced.run(async {
            echo.generate(hello()).await.unwrap();
            echo.generate(hello()).await.unwrap();
        }))
        .await;
    let spans = traced.spans();
    let parent = named(&spans, "parent_operation");
    let children: Vec<_> = spans.iter().filter(|s| is_child_of(s, parent)).collect();
    assert_eq!(children.len(), 2);
    assert_ne!(
        children[0].span_context.span_id(),
        children[1].span_context.span_id()
    );
    assert_eq!(parent.instrumentation_scope.name(), "mellea.application");
}

#[tokio::test]
async fn concurrent_generations_on_one_task_each_get_their_own_parent() {
    let traced = Traced::new("gen-join");
    let tracer = traced.tracer("user");
    let echo = Echo::new();
    let a = Context::current_with_span(tracer.start("parent-a"));
    let b = Context::current_with_span(tracer.start("parent-b"));
    let mut slow = hello();
    slow.model_options.insert("sleep_ms".into(), 20.into());
    let (ra, rb) = tokio::join!(
        traced
            .run(echo.generate(slow.clone()))
            .with_context(a.clone()),
        traced.run(echo.generate(slow)).with_context(b.clone()),
    );
    ra.unwrap();
    rb.unwrap();
    a.span().end();
    b.span().end();

    let spans = traced.spans();
    let chats: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "chat echo-model")
        .collect();
    assert_eq!(chats.len(), 2);
    let parent_a = named(&spans, "parent-a");
    let parent_b = named(&spans, "parent-b");
    assert_eq!(chats.iter().filter(|c| is_child_of(c, parent_a)).count(), 1);
    assert_eq!(chats.iter().filter(|c| is_child_of(c, parent_b)).count(), 1);
}

#[tokio::test]
async fn a_streamed_generation_spans_the_whole_stream_and_records_stream_and_time_to_first_chunk() {
    let traced = Traced::new("gen-stream");
    let mut model = LocalModel::new("streamer");
    model.delay = Some(Duration::from_millis(40));
    let mut stream = traced.run(model.generate_stream(hello())).await.unwrap();
    let first = traced.run(stream.next()).await;
    assert_eq!(first.unwrap().unwrap(), "1");
    assert!(
        traced.spans().is_empty(),
        "the span is open while the stream is"
    );
    let rest: Vec<_> = traced.run(stream.collect::<Vec<_>>()).await;
    assert_eq!(rest.len(), 2);

    let spans = traced.spans();
    let span = named(&spans, "chat streamer");
    assert_eq!(bool_attr(span, "gen_ai.request.stream"), Some(true));
    let ttfc = float_attr(span, "gen_ai.response.time_to_first_chunk").unwrap();
    assert!(ttfc >= 0.04, "{ttfc}");
    let duration = span.end_time.duration_since(span.start_time).unwrap();
    assert!(duration >= Duration::from_millis(120), "{duration:?}");
    assert_eq!(span.status, opentelemetry::trace::Status::Unset);
}

#[tokio::test]
async fn a_stream_dropped_before_its_end_ends_the_span_as_cancelled() {
    let traced = Traced::new("gen-stream-drop");
    let mut stream = traced
        .run(Echo::new().generate_stream(hello().with_option("chunks", 5)))
        .await
        .unwrap();
    traced.run(stream.next()).await.unwrap().unwrap();
    drop(stream);
    let spans = traced.spans();
    let span = named(&spans, "chat echo-model");
    assert_eq!(str_attr(span, "error.type"), Some("cancelled"));
    assert!(is_error(span));
}

#[tokio::test]
async fn a_failing_generation_ends_its_span_with_the_error() {
    let traced = Traced::new("gen-fail");
    let error = traced
        .run(Echo::new().generate(hello().with_option("fail", true)))
        .await
        .unwrap_err();
    assert!(matches!(error, EchoError::Failed(_)));
    let spans = traced.spans();
    let span = named(&spans, "chat echo-model");
    // The error's text stays out of the span; an error without `ClassifyError` is described
    // by its type name.
    assert_eq!(error_description(span), "EchoError");
    assert_eq!(str_attr(span, "error.type"), Some("EchoError"));
    assert_eq!(exception_events(span).len(), 1);
    assert_eq!(
        attr(span, "gen_ai.usage.input_tokens"),
        None,
        "no usage on failure"
    );
}

#[tokio::test]
async fn a_generation_dropped_mid_call_ends_its_span_as_cancelled() {
    let traced = Traced::new("gen-cancel");
    let echo = Echo::new();
    let timed_out = tokio::time::timeout(
        Duration::from_millis(20),
        traced.run(echo.generate(hello().with_option("hang", true))),
    )
    .await;
    assert!(timed_out.is_err());
    let spans = traced.spans();
    let span = named(&spans, "chat echo-model");
    assert_eq!(str_attr(span, "error.type"), Some("cancelled"));
    assert!(is_error(span));
    assert_eq!(traced.plugin().open_spans(), 0);
}

#[tokio::test]
async fn a_panicking_generation_ends_its_span_as_panic() {
    let traced = Traced::new("gen-panic");
    let session = traced.session.clone();
    let outcome = tokio::spawn(async move {
        mellea::session::in_session(
            session,
            Echo::new().generate(hello().with_option("panic", true)),
        )
        .await
    })
    .await;
    assert!(outcome.unwrap_err().is_panic());
    let spans = traced.spans();
    let span = named(&spans, "chat echo-model");
    assert_eq!(str_attr(span, "error.type"), Some("panic"));
    assert!(error_description(span).starts_with("panicked"));
    assert!(!error_description(span).contains("echo body panicked on purpose"));
}

#[tokio::test]
async fn a_batch_generation_emits_one_text_completion_span_with_the_aggregate_usage() {
    let traced = Traced::new("gen-batch");
    let watsonx = Watsonx {
        model: "granite-13b".into(),
    };
    let outputs = traced
        .run(watsonx.generate_batch(BatchGenerationRequest::new(["a", "b"])))
        .await
        .unwrap();
    assert_eq!(outputs.len(), 2);
    let spans = traced.spans();
    let span = named(&spans, "text_completion granite-13b");
    assert_kind(span, SpanKind::Client);
    assert_eq!(
        str_attr(span, "gen_ai.operation.name"),
        Some("text_completion")
    );
    assert_eq!(
        str_attr(span, "gen_ai.provider.name"),
        Some("ibm.watsonx.ai")
    );
    assert_eq!(
        str_attr(span, "server.address"),
        Some("us-south.ml.cloud.ibm.com")
    );
    assert_eq!(int_attr(span, "mellea.request.num_actions"), Some(2));
    assert_eq!(int_attr(span, "gen_ai.usage.input_tokens"), Some(20));
    assert_eq!(int_attr(span, "gen_ai.usage.output_tokens"), Some(10));
    assert_eq!(attr(span, "gen_ai.response.model"), None);

    let failed = traced
        .run(watsonx.generate_batch(BatchGenerationRequest::new(["c"]).with_option("fail", true)))
        .await;
    assert!(failed.is_err());
    let spans = traced.spans();
    let failed = spans.iter().find(|s| is_error(s)).expect("an error span");
    assert_eq!(str_attr(failed, "error.type"), Some("ModelError"));
    assert_eq!(error_description(failed), "ModelError");
}

#[tokio::test]
async fn the_span_records_the_request_as_patched_by_user_plugins() {
    let traced = Traced::new("gen-patched");
    let zero = HookFn::new::<GenerationPreCall, _>("gen-patched.zero", |payload, _| {
        let mut options: ModelOptions = payload.model_options.clone();
        options.insert("temperature".into(), 0.0.into());
        Box::pin(async move {
            Ok(HookAction::Modify(
                GenerationPreCallPatch::new().with_model_options(options),
            ))
        })
    });
    let registration = mellea::register_for_session("gen-patched", zero).unwrap();
    traced
        .run(Echo::new().generate(hello().with_option("temperature", 0.9)))
        .await
        .unwrap();
    mellea::unregister(&registration);
    let spans = traced.spans();
    assert_eq!(
        float_attr(
            named(&spans, "chat echo-model"),
            "gen_ai.request.temperature"
        ),
        Some(0.0),
        "the tracing plugin (priority 1040) runs after user plugins (50)"
    );
}

#[tokio::test]
async fn a_generation_blocked_by_a_user_plugin_emits_no_backend_span() {
    let traced = Traced::new("gen-blocked");
    let guard = HookFn::new::<GenerationPreCall, _>("gen-blocked.guard", |_, _| {
        Box::pin(async { Ok(HookAction::Block(mellea::Violation::new("no"))) })
    });
    let registration = mellea::register_for_session("gen-blocked", guard).unwrap();
    let echo = Echo::new();
    assert!(traced.run(echo.generate(hello())).await.is_err());
    mellea::unregister(&registration);
    assert_eq!(echo.calls(), 0);
    assert!(traced.spans().is_empty());
    assert_eq!(traced.plugin().open_spans(), 0);
}

#[tokio::test]
async fn with_tracing_disabled_nothing_is_registered_and_no_span_is_emitted() {
    let telemetry = TelemetryBuilder::from_config(TracingConfig::default())
        .for_session("gen-disabled")
        .install()
        .unwrap();
    assert!(!telemetry.is_enabled());
    assert!(telemetry.backend_plugin().is_none());
    assert!(telemetry.tracer_provider().is_none());
    assert!(
        !mellea::global()
            .handler_names()
            .iter()
            .any(|n| n.contains("gen-disabled"))
    );
    let ran = telemetry
        .application_span("not traced")
        .run(async { 7 })
        .await;
    assert_eq!(ran, 7);
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
async fn the_console_exporter_prints_a_generations_span_when_the_guard_is_dropped() {
    let buffer = Buffer::default();
    let telemetry = TelemetryBuilder::new()
        .with_console_exporter(ConsoleSpanExporter::new(buffer.clone()))
        .for_session("gen-console")
        .install()
        .unwrap();
    mellea::session::in_session("gen-console", Echo::new().generate(hello()))
        .await
        .unwrap();
    drop(telemetry); // flushes the batch processor
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.starts_with("span \"chat echo-model\" kind=client status=unset"),
        "{text}"
    );
    assert!(text.contains("  gen_ai.usage.input_tokens = 3\n"), "{text}");
    assert!(
        !mellea::global()
            .handler_names()
            .iter()
            .any(|n| n.contains("gen-console")),
        "the guard unregistered the plugin"
    );
}

#[tokio::test]
async fn two_installations_for_one_session_cannot_coexist_under_one_name() {
    let _first = Traced::new("gen-dup");
    let second = TelemetryBuilder::new().for_session("gen-dup").install();
    let error = second.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("backend_tracing.session.gen-dup"),
        "{error}"
    );
}

#[tokio::test]
async fn an_application_provider_is_used_as_is_and_outlives_the_guard() {
    use opentelemetry::trace::TracerProvider as _;
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let telemetry = TelemetryBuilder::new()
        .with_provider(provider.clone())
        .with_console(true)
        .for_session("gen-own-provider")
        .install()
        .unwrap();
    assert_eq!(telemetry.warnings().len(), 1, "{:?}", telemetry.warnings());
    assert!(telemetry.warnings()[0].contains("with_provider"));
    mellea::session::in_session("gen-own-provider", Echo::new().generate(hello()))
        .await
        .unwrap();
    drop(telemetry);
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 1);
    // Flushed, not shut down: the application's provider still works.
    provider.tracer("app").start("after the guard").end();
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 2);
}
