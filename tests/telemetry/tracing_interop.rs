//! Backend spans in an application instrumented with `tracing` and exported through a
//! `tracing-opentelemetry` layer fed from the same tracer provider (README "Using `tracing`").
//!
//! Each test installs tracing for its own session and its own `tracing` subscriber, set as the
//! default of the test's thread only: `#[tokio::test]` runs everything, spawned tasks included,
//! on that thread. Every case checks trace id and parent span id.
//!
//! The cases for context activation off differ with the `tracing-opentelemetry` feature; CI
//! runs this file once without it and once with it (`.ci/run`).

use crate::support::telemetry as telemetry_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mellea::generation::{BackendIdentity, GenerationRequest, Message};
use mellea::hooks::{GenerationPreCall, GenerationPreCallPatch};
use mellea::plugin::{HookAction, HookFn};
use mellea::session::in_session;
use mellea::telemetry::{ApplicationSpan, propagate};
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::SpanId;
use opentelemetry_sdk::trace::SpanData;
use telemetry_support::*;
use tracing::Instrument as _;
use tracing::subscriber::DefaultGuard;
use tracing_subscriber::layer::SubscriberExt as _;

/// How the backend's body hands work to another task, which makes a `tracing` span
/// `spawned-work`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Spawn {
    None,
    /// `tokio::spawn(propagate(fut))`: the documented way.
    Propagate,
    /// `tokio::spawn(propagate(..))` of another generation.
    PropagateGeneration,
    /// `tokio::spawn(fut.in_current_span())`: the idiom that goes wrong.
    InCurrentSpan,
    /// `fut.with_current_context().in_current_span()`: right by hand.
    ContextThenSpan,
    /// `fut.in_current_span().with_current_context()`: wrong by hand.
    SpanThenContext,
}

/// An in-process model whose body makes a `tracing` span `body-work` and spawns as told.
struct Service {
    spawn: Spawn,
}

impl BackendIdentity for Service {
    fn model_id(&self) -> &str {
        "svc-1"
    }
}

#[mellea::backend(provider = "local")]
impl Service {
    #[mellea::generation_hook(chat)]
    async fn generate(&self, _request: GenerationRequest) -> Result<Answer, ModelError> {
        // What an HTTP client instrumented with `tracing` does.
        async { tokio::task::yield_now().await }
            .instrument(tracing::info_span!("body-work"))
            .await;
        let work = async { tracing::info_span!("spawned-work").in_scope(|| ()) };
        match self.spawn {
            Spawn::None => {}
            Spawn::Propagate => tokio::spawn(propagate(work)).await.unwrap(),
            Spawn::PropagateGeneration => {
                let nested = Helper.generate(question());
                tokio::spawn(propagate(nested)).await.unwrap().unwrap();
            }
            Spawn::InCurrentSpan => tokio::spawn(work.in_current_span()).await.unwrap(),
            Spawn::ContextThenSpan => tokio::spawn(work.with_current_context().in_current_span())
                .await
                .unwrap(),
            Spawn::SpanThenContext => tokio::spawn(work.in_current_span().with_current_context())
                .await
                .unwrap(),
        }
        Ok(Answer {
            text: "ok".into(),
            ..Answer::default()
        })
    }
}

/// A second backend, for the generation spawned from `Service`'s body (a future cannot
/// contain itself).
struct Helper;

impl BackendIdentity for Helper {
    fn model_id(&self) -> &str {
        "helper-1"
    }
}

#[mellea::backend(provider = "local")]
impl Helper {
    #[mellea::generation_hook(chat)]
    async fn generate(&self, _request: GenerationRequest) -> Result<Answer, ModelError> {
        Ok(Answer::default())
    }
}

fn question() -> GenerationRequest {
    GenerationRequest::new([Message::user("hello")])
}

/// A request handler instrumented the usual way.
#[tracing::instrument(name = "handle_request", skip_all)]
async fn handle_request(service: &Service) -> Answer {
    service.generate(question()).await.unwrap()
}

/// The test's session installation and a `tracing` subscriber, for this thread, whose
/// `tracing-opentelemetry` layer takes its tracer from the installation's provider.
fn traced_with_layer(session: &str, context_activation: bool) -> (Traced, DefaultGuard) {
    let traced = Traced::new(session);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(traced.tracer("my-service"))
        .with_context_activation(context_activation);
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    (traced, guard)
}

#[track_caller]
fn assert_child_of(child: &SpanData, parent: &SpanData) {
    assert_eq!(
        child.span_context.trace_id(),
        parent.span_context.trace_id(),
        "{:?} is not in the trace of {:?}",
        child.name,
        parent.name
    );
    assert_eq!(
        child.parent_span_id,
        parent.span_context.span_id(),
        "the parent of {:?} is not {:?}",
        child.name,
        parent.name
    );
}

#[track_caller]
fn assert_root_of_own_trace(span: &SpanData, other: &SpanData) {
    assert_eq!(
        span.parent_span_id,
        SpanId::INVALID,
        "{:?} has a parent",
        span.name
    );
    assert_ne!(
        span.span_context.trace_id(),
        other.span_context.trace_id(),
        "{:?} shares the trace of {:?}",
        span.name,
        other.name
    );
}

#[tokio::test]
async fn an_instrumented_request_span_parents_the_chat_span_and_body_spans_nest_under_chat() {
    let (traced, _subscriber) = traced_with_layer("tracing-nest", true);
    traced
        .run(handle_request(&Service { spawn: Spawn::None }))
        .await;

    let spans = traced.spans();
    let request = named(&spans, "handle_request");
    let chat = named(&spans, "chat svc-1");
    let body = named(&spans, "body-work");
    assert_eq!(request.parent_span_id, SpanId::INVALID);
    assert_child_of(chat, request);
    assert_child_of(body, chat);
}

#[tokio::test]
async fn a_task_spawned_with_propagate_nests_under_the_chat_span() {
    let (traced, _subscriber) = traced_with_layer("tracing-propagate", true);
    traced
        .run(handle_request(&Service {
            spawn: Spawn::Propagate,
        }))
        .await;

    let spans = traced.spans();
    let request = named(&spans, "handle_request");
    let chat = named(&spans, "chat svc-1");
    assert_child_of(chat, request);
    assert_child_of(named(&spans, "spawned-work"), chat);
}

#[tokio::test]
async fn a_generation_spawned_with_propagate_keeps_the_session_and_nests_under_chat() {
    let (traced, _subscriber) = traced_with_layer("tracing-propagate-gen", true);
    // The span is made outside the session, so entering it hides the session's context: the
    // nested generation gets its session from what `propagate` captured.
    let request = tracing::info_span!("request");
    in_session(
        "tracing-propagate-gen",
        Service {
            spawn: Spawn::PropagateGeneration,
        }
        .generate(question())
        .instrument(request),
    )
    .await
    .unwrap();

    let spans = traced.spans();
    let outer = named(&spans, "chat svc-1");
    let nested = named(&spans, "chat helper-1");
    assert_child_of(outer, named(&spans, "request"));
    assert_child_of(nested, outer);
    for chat in [outer, nested] {
        assert_eq!(
            str_attr(chat, "gen_ai.conversation.id"),
            Some("tracing-propagate-gen")
        );
    }
}

#[tokio::test]
async fn in_current_span_alone_puts_the_spawned_spans_beside_the_chat_span() {
    let (traced, _subscriber) = traced_with_layer("tracing-in-current-span", true);
    traced
        .run(handle_request(&Service {
            spawn: Spawn::InCurrentSpan,
        }))
        .await;

    let spans = traced.spans();
    let request = named(&spans, "handle_request");
    let chat = named(&spans, "chat svc-1");
    assert_child_of(chat, request);
    assert_child_of(named(&spans, "spawned-work"), request);
}

#[tokio::test]
async fn by_hand_the_context_goes_inside_the_span_not_outside() {
    for (spawn, session) in [
        (Spawn::ContextThenSpan, "tracing-context-then-span"),
        (Spawn::SpanThenContext, "tracing-span-then-context"),
    ] {
        let (traced, _subscriber) = traced_with_layer(session, true);
        traced.run(handle_request(&Service { spawn })).await;

        let spans = traced.spans();
        let request = named(&spans, "handle_request");
        let chat = named(&spans, "chat svc-1");
        let spawned = named(&spans, "spawned-work");
        assert_child_of(chat, request);
        if spawn == Spawn::ContextThenSpan {
            assert_child_of(spawned, chat);
        } else {
            assert_child_of(spawned, request);
        }
    }
}

/// Counts the pre-calls of one session's generations.
fn session_counter(session: &str) -> (Arc<AtomicUsize>, mellea::plugin::Registration) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let registration = mellea::register_for_session(
        session,
        HookFn::new::<GenerationPreCall, _>(format!("{session}.counter"), move |_, _| {
            seen.fetch_add(1, Ordering::Relaxed);
            Box::pin(async { Ok(HookAction::<GenerationPreCallPatch>::Continue) })
        }),
    )
    .unwrap();
    (count, registration)
}

#[tokio::test]
async fn a_session_around_an_instrumented_generation_is_not_hidden_by_a_span_made_before_it() {
    let session = "tracing-session-outside";
    let (traced, _subscriber) = traced_with_layer(session, true);
    let (count, registration) = session_counter(session);
    // Made before the session: entering it attaches a context without the session.
    let request = tracing::info_span!("request");
    in_session(
        session,
        Service { spawn: Spawn::None }
            .generate(question())
            .instrument(request),
    )
    .await
    .unwrap();
    mellea::unregister(&registration);

    assert_eq!(
        count.load(Ordering::Relaxed),
        1,
        "the session's plugin fired"
    );
    let spans = traced.spans();
    let chat = named(&spans, "chat svc-1");
    assert_child_of(chat, named(&spans, "request"));
    assert_eq!(str_attr(chat, "gen_ai.conversation.id"), Some(session));
}

#[tokio::test]
async fn a_session_inside_an_instrumented_future_fires_the_same() {
    let session = "tracing-session-inside";
    let (traced, _subscriber) = traced_with_layer(session, true);
    let (count, registration) = session_counter(session);
    let request = tracing::info_span!("request");
    in_session(session, Service { spawn: Spawn::None }.generate(question()))
        .instrument(request)
        .await
        .unwrap();
    mellea::unregister(&registration);

    assert_eq!(
        count.load(Ordering::Relaxed),
        1,
        "the session's plugin fired"
    );
    let spans = traced.spans();
    let chat = named(&spans, "chat svc-1");
    assert_child_of(chat, named(&spans, "request"));
    assert_eq!(str_attr(chat, "gen_ai.conversation.id"), Some(session));
}

#[tokio::test]
async fn the_innermost_session_wins_also_behind_a_span_made_before_it() {
    let inner = "tracing-session-innermost";
    let (traced, _subscriber) = traced_with_layer(inner, true);
    let (count, registration) = session_counter(inner);
    let request = tracing::info_span!("request");
    in_session(
        "tracing-session-outermost",
        ApplicationSpan::session(inner)
            .with_tracer(traced.tracer("my-service"))
            .run(
                Service { spawn: Spawn::None }
                    .generate(question())
                    .instrument(request),
            ),
    )
    .await
    .unwrap();
    mellea::unregister(&registration);

    assert_eq!(
        count.load(Ordering::Relaxed),
        1,
        "the inner session's plugin fired"
    );
    let spans = traced.spans();
    let chat = named(&spans, "chat svc-1");
    assert_child_of(chat, named(&spans, "request"));
    assert_eq!(str_attr(chat, "gen_ai.conversation.id"), Some(inner));
}

#[tokio::test]
async fn the_parent_is_the_span_current_at_the_first_await_not_at_the_call() {
    let (traced, _subscriber) = traced_with_layer("tracing-first-poll", true);
    let service = Service { spawn: Spawn::None };

    // Called inside `made`, awaited outside any span: a trace of its own.
    let made = tracing::info_span!("made");
    let generation = made.in_scope(|| service.generate(question()));
    traced.run(generation).await.unwrap();
    // Called outside any span, awaited inside `awaited`: its child.
    let generation = service.generate(question());
    traced
        .run(generation)
        .instrument(tracing::info_span!("awaited"))
        .await
        .unwrap();
    drop(made);

    let spans = traced.spans();
    let chats: Vec<&SpanData> = spans.iter().filter(|s| s.name == "chat svc-1").collect();
    assert_eq!(chats.len(), 2);
    assert_root_of_own_trace(chats[0], named(&spans, "made"));
    assert_child_of(chats[1], named(&spans, "awaited"));
}

/// With context activation off, entering a `tracing` span attaches no OpenTelemetry context:
/// the feature takes the parent from the `tracing` span instead.
#[cfg(feature = "tracing-opentelemetry")]
#[tokio::test]
async fn without_context_activation_the_feature_still_nests_the_chat_span() {
    let (traced, _subscriber) = traced_with_layer("tracing-no-activation", false);
    let session = "tracing-no-activation";
    traced
        .run(handle_request(&Service { spawn: Spawn::None }))
        .await;
    // And with the span made outside the session, entered inside it.
    let request = tracing::info_span!("request");
    in_session(
        session,
        Service { spawn: Spawn::None }
            .generate(question())
            .instrument(request),
    )
    .await
    .unwrap();

    let spans = traced.spans();
    let chats: Vec<&SpanData> = spans.iter().filter(|s| s.name == "chat svc-1").collect();
    assert_eq!(chats.len(), 2);
    let handler = named(&spans, "handle_request");
    assert_child_of(chats[0], handler);
    assert_child_of(chats[1], named(&spans, "request"));
    // `tracing` spans follow `tracing`'s own current span: the request's, beside `chat`.
    let bodies: Vec<&SpanData> = spans.iter().filter(|s| s.name == "body-work").collect();
    assert_child_of(bodies[0], handler);
}

/// Without the feature and with context activation off, nothing links the generation to the
/// `tracing` span: its `chat` span starts a trace of its own.
#[cfg(not(feature = "tracing-opentelemetry"))]
#[tokio::test]
async fn without_context_activation_or_the_feature_the_chat_span_is_a_root() {
    let (traced, _subscriber) = traced_with_layer("tracing-no-activation", false);
    traced
        .run(handle_request(&Service { spawn: Spawn::None }))
        .await;

    let spans = traced.spans();
    let handler = named(&spans, "handle_request");
    let chat = named(&spans, "chat svc-1");
    assert_root_of_own_trace(chat, handler);
    assert_child_of(named(&spans, "body-work"), handler);
}
