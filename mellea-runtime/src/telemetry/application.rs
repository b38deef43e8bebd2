//! Application spans: users' own operations, with `mellea.*` attributes, that backend spans
//! nest under (the Python original's `trace_application` and session spans).

use std::any::Any;
use std::borrow::Cow;
use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt as _;
use opentelemetry::trace::{SpanBuilder, SpanKind, TraceContextExt, Tracer as _};
use opentelemetry::{Context, Key, KeyValue, Value};
use opentelemetry_sdk::trace::SdkTracer;

use super::attributes::json_attribute_value;
use super::plugin::record_failure;
use super::{active_application_tracer, semconv};
use crate::hooks::ErrorInfo;
use crate::session::{self, InSession};

/// A span around one of the application's own operations.
///
/// Running a future under it makes the span current for that future: generations started
/// inside get their backend span as its child, and so do the application's other spans. The
/// span ends when the future completes; a panic or the future being dropped first ends it
/// with status ERROR (`error.type` `panic` / `cancelled`), and
/// [`run_result`](Self::run_result) also records an `Err`.
///
/// Without tracing set up ([`init_from_env`](super::init_from_env) with tracing off, or never
/// called), running costs nothing beyond the future itself.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use mellea_runtime::telemetry::ApplicationSpan;
///
/// let answer = ApplicationSpan::new("summarise_ticket")
///     .with_attribute("mellea.component.type", "Instruction")
///     .run(async { 42 })
///     .await;
/// assert_eq!(answer, 42);
/// # });
/// ```
#[derive(Debug)]
#[must_use = "an application span does nothing until a future runs under it"]
pub struct ApplicationSpan {
    name: Cow<'static, str>,
    attributes: Vec<KeyValue>,
    session: Option<Arc<str>>,
    tracer: TracerChoice,
}

/// Which tracer creates the span.
#[derive(Debug)]
enum TracerChoice {
    /// The process-wide installation's, if tracing is set up when the span starts.
    Installed,
    /// This one.
    Given(SdkTracer),
    /// None: tracing is off for this span.
    Off,
}

impl ApplicationSpan {
    /// A span named `name`, created with the installed `mellea.application` tracer (see
    /// [`TelemetryBuilder::install`](super::TelemetryBuilder::install)).
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Self {
            name: name.into(),
            attributes: Vec::new(),
            session: None,
            tracer: TracerChoice::Installed,
        }
    }

    /// A `session` span with `mellea.session.id`, whose future also runs as part of that
    /// session ([`session::in_session`]): its generations carry the id as
    /// `gen_ai.conversation.id`, and session-scoped plugins of that session fire for them.
    pub fn session(session_id: impl Into<Arc<str>>) -> Self {
        let session_id = session_id.into();
        Self::new("session")
            .with_attribute(semconv::MELLEA_SESSION_ID, session_id.to_string())
            .in_session(session_id)
    }

    /// Runs the future as part of session `session_id` too.
    pub fn in_session(mut self, session_id: impl Into<Arc<str>>) -> Self {
        self.session = Some(session_id.into());
        self
    }

    /// Creates the span with `tracer` instead of the installed one.
    pub fn with_tracer(mut self, tracer: SdkTracer) -> Self {
        self.tracer = TracerChoice::Given(tracer);
        self
    }

    /// Creates no span: the future just runs (in its session, if any).
    pub(crate) fn without_tracing(mut self) -> Self {
        self.tracer = TracerChoice::Off;
        self
    }

    /// Adds an attribute.
    pub fn with_attribute(mut self, key: impl Into<Key>, value: impl Into<Value>) -> Self {
        self.attributes.push(KeyValue::new(key, value));
        self
    }

    /// Adds an attribute from a JSON value: `null` is skipped, scalars pass through, arrays
    /// become string arrays and objects their JSON text.
    pub fn with_json_attribute(mut self, key: impl Into<Key>, value: &serde_json::Value) -> Self {
        if let Some(value) = json_attribute_value(value) {
            self.attributes.push(KeyValue::new(key, value));
        }
        self
    }

    /// Runs `future` under the span and returns its output.
    pub async fn run<F: Future>(self, future: F) -> F::Output {
        self.run_classified(future, |_| None).await
    }

    /// Runs a fallible `future` under the span; an `Err` ends the span with status ERROR, an
    /// `exception` event and `error.type` = the error's type name. The error's message may
    /// quote data, so the status description and `exception.message` are its type name too.
    pub async fn run_result<T, E, F>(self, future: F) -> Result<T, E>
    where
        E: Display,
        F: Future<Output = Result<T, E>>,
    {
        self.run_classified(future, |result| {
            result.as_ref().err().map(|error| {
                let name = crate::hooks::short_type_name(std::any::type_name::<E>());
                ErrorInfo::new(name, name, error.to_string())
            })
        })
        .await
    }

    async fn run_classified<F: Future>(
        self,
        future: F,
        failure: impl FnOnce(&F::Output) -> Option<ErrorInfo>,
    ) -> F::Output {
        let parent = Context::current();
        let parent = match &self.session {
            Some(id) => session::with_session(&parent, id.clone()),
            None => parent,
        };
        let tracer = match self.tracer {
            TracerChoice::Installed => active_application_tracer(),
            TracerChoice::Given(tracer) => Some(tracer),
            TracerChoice::Off => None,
        };
        // The session is also marked on the future itself, so that a context switch inside
        // (entering a `tracing` span made outside the session) cannot hide it.
        let Some(tracer) = tracer else {
            return InSession::with_context(self.session, parent, future).await;
        };
        let span = tracer.build_with_context(
            SpanBuilder::from_name(self.name)
                .with_kind(SpanKind::Internal)
                .with_attributes(self.attributes),
            &parent,
        );
        let mut ending = Ending(Some(parent.with_span(span)));
        let cx = ending.0.clone().unwrap_or_default();
        match AssertUnwindSafe(InSession::with_context(self.session, cx, future))
            .catch_unwind()
            .await
        {
            Ok(output) => {
                let failure = failure(&output);
                ending.finish(failure.as_ref());
                output
            }
            Err(panic) => {
                ending.finish(Some(&ErrorInfo::panic(panic_message(panic.as_ref()))));
                std::panic::resume_unwind(panic)
            }
        }
    }
}

/// Ends the span it holds: as told by [`finish`](Self::finish), or as cancelled if dropped
/// first.
struct Ending(Option<Context>);

impl Ending {
    fn finish(&mut self, failure: Option<&ErrorInfo>) {
        if let Some(cx) = self.0.take() {
            if let Some(failure) = failure {
                // Application spans have no content switch: they record the description only.
                record_failure(&cx, failure, false);
            }
            cx.span().end();
        }
    }
}

impl Drop for Ending {
    fn drop(&mut self) {
        let message = "the operation was dropped before it finished";
        self.finish(Some(
            &ErrorInfo::new("cancelled", "Cancelled", message).with_description(message),
        ));
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the operation panicked with a non-string payload".to_owned())
}
