//! Application spans: the application's own operations, with `mellea.*` attributes, that
//! backend spans nest under (the Python original's `trace_application` and `session` spans).

use crate::support::echo_backend;
use crate::support::telemetry as telemetry_support;

use std::time::Duration;

use echo_backend::Echo;
use mellea::generation::{GenerationRequest, Message};
use serde_json::json;
use telemetry_support::*;

fn hello() -> GenerationRequest {
    GenerationRequest::new([Message::user("hello world")])
}

#[tokio::test]
async fn an_application_span_carries_its_attributes_and_parents_the_backend_span() {
    let traced = Traced::new("app-parent");
    let answer = traced
        .telemetry
        .application_span("summarise_ticket")
        .with_attribute("mellea.component.type", "Instruction")
        .with_json_attribute("mellea.action.requirements", &json!(["short", 3]))
        .with_json_attribute("mellea.ignored", &json!(null))
        .run(traced.run(Echo::new().generate(hello())))
        .await
        .unwrap();
    assert_eq!(answer.text, "hello world");

    let spans = traced.spans();
    let app = named(&spans, "summarise_ticket");
    let chat = named(&spans, "chat echo-model");
    assert!(is_root(app));
    assert!(is_child_of(chat, app));
    assert_eq!(app.instrumentation_scope.name(), "mellea.application");
    assert_eq!(str_attr(app, "mellea.component.type"), Some("Instruction"));
    assert_eq!(
        string_array_attr(app, "mellea.action.requirements"),
        Some(vec!["short".to_owned(), "3".to_owned()])
    );
    assert_eq!(attr(app, "mellea.ignored"), None);
    assert_eq!(app.status, opentelemetry::trace::Status::Unset);
    assert!(
        app.end_time >= chat.end_time,
        "the application span encloses the call"
    );
}

#[tokio::test]
async fn a_session_span_runs_its_future_in_the_session_and_records_the_session_id() {
    let traced = Traced::new("app-session");
    traced
        .telemetry
        .session_span("app-session")
        .run(Echo::new().generate(hello()))
        .await
        .unwrap();
    let spans = traced.spans();
    let session = named(&spans, "session");
    let chat = named(&spans, "chat echo-model");
    assert_eq!(str_attr(session, "mellea.session.id"), Some("app-session"));
    assert!(is_child_of(chat, session));
    // The generation ran in the session: the session-scoped plugin traced it.
    assert_eq!(
        str_attr(chat, "gen_ai.conversation.id"),
        Some("app-session")
    );
}

#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the model refused")
    }
}

#[tokio::test]
async fn run_result_records_an_err_as_an_error_with_its_type() {
    let traced = Traced::new("app-err");
    let result: Result<(), Refused> = traced
        .telemetry
        .application_span("act")
        .run_result(async { Err(Refused) })
        .await;
    assert!(result.is_err());
    let ok: Result<u8, Refused> = traced
        .telemetry
        .application_span("act-ok")
        .run_result(async { Ok(1) })
        .await;
    assert_eq!(ok.unwrap(), 1);

    let spans = traced.spans();
    let failed = named(&spans, "act");
    // The error's message may quote data: the span records its type name instead.
    assert_eq!(error_description(failed), "Refused");
    assert_eq!(str_attr(failed, "error.type"), Some("Refused"));
    assert_eq!(exception_events(failed).len(), 1);
    assert!(!is_error(named(&spans, "act-ok")));
}

#[tokio::test]
async fn a_panicking_operation_ends_its_span_as_an_error_and_the_panic_goes_on() {
    let traced = Traced::new("app-panic");
    let span = traced.telemetry.application_span("explode");
    let outcome = tokio::spawn(span.run(async { panic!("kaboom") })).await;
    assert!(outcome.unwrap_err().is_panic());
    let spans = traced.spans();
    let span = named(&spans, "explode");
    assert_eq!(str_attr(span, "error.type"), Some("panic"));
    // A panic message may quote data: the span says only that it panicked.
    assert!(
        error_description(span).starts_with("panicked"),
        "{}",
        error_description(span)
    );
    assert!(!error_description(span).contains("kaboom"));
}

#[tokio::test]
async fn a_dropped_operation_ends_its_span_as_cancelled() {
    let traced = Traced::new("app-cancel");
    let timed_out = tokio::time::timeout(
        Duration::from_millis(5),
        traced
            .telemetry
            .application_span("slow")
            .run(std::future::pending::<()>()),
    )
    .await;
    assert!(timed_out.is_err());
    let spans = traced.spans();
    let span = named(&spans, "slow");
    assert_eq!(str_attr(span, "error.type"), Some("cancelled"));
}

#[tokio::test]
async fn without_an_installation_an_application_span_only_runs_its_future() {
    // Nothing in this binary installs tracing process-wide.
    let value = mellea::telemetry::ApplicationSpan::session("app-none")
        .run(async { mellea::session::current_session_id() })
        .await;
    assert_eq!(
        value.as_deref(),
        Some("app-none"),
        "the session still applies"
    );
}
