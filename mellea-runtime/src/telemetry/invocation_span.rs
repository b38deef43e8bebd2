//! The open span of a tool call or agent invocation, kept in the invocation's extensions from
//! its pre hook to its end hook, keyed by the plugin instance that started it.

use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::trace::{SpanBuilder, SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;

use super::attributes::truncate_content;
use super::semconv;
use crate::BodyContext;
use crate::hooks::ErrorInfo;
use crate::plugin::{BoxFuture, HookAction, HookContext, HookResult};

/// Distinguishes plugin instances, so two of them seeing one invocation each find their span.
static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

/// A fresh instance number.
pub(super) fn next_instance() -> u64 {
    NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed)
}

/// Open spans of one invocation: `(plugin instance, context holding the span)`.
#[derive(Default)]
struct OpenSpans(Vec<(u64, Context)>);

/// Starts an INTERNAL span under the current context, keeps it in the invocation's extensions,
/// and makes the invocation's body run under it (so chat and tool spans inside nest).
pub(super) fn start(
    ctx: &HookContext,
    instance: u64,
    tracer: &SdkTracer,
    name: String,
    attributes: Vec<KeyValue>,
) {
    let Some(extensions) = ctx.extensions() else {
        return;
    };
    let parent = Context::current();
    let span = tracer.build_with_context(
        SpanBuilder::from_name(name)
            .with_kind(SpanKind::Internal)
            .with_attributes(attributes),
        &parent,
    );
    let cx = parent.with_span(span);
    extensions.insert(BodyContext(cx.clone()));
    if extensions
        .with_mut(|open: &mut OpenSpans| open.0.push((instance, cx.clone())))
        .is_none()
    {
        extensions.insert(OpenSpans(vec![(instance, cx)]));
    }
}

/// Ends the span `instance` started for this invocation, with `attributes` and, on failure,
/// the error (its content-free description unless content capture is on).
pub(super) fn end(
    ctx: &HookContext,
    instance: u64,
    attributes: Vec<KeyValue>,
    error: Option<&ErrorInfo>,
    capture_content: bool,
    limit: usize,
) {
    let Some(extensions) = ctx.extensions() else {
        return;
    };
    let cx = extensions
        .with_mut(|open: &mut OpenSpans| {
            let position = open.0.iter().position(|(i, _)| *i == instance)?;
            Some(open.0.swap_remove(position).1)
        })
        .flatten();
    let Some(cx) = cx else { return };
    let span = cx.span();
    span.set_attributes(attributes);
    if let Some(error) = error {
        let description = if capture_content {
            truncate_content(error.message.clone(), limit)
        } else {
            error.description.clone()
        };
        span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, error.error_type.clone()));
        span.add_event(
            semconv::EXCEPTION_EVENT,
            vec![
                KeyValue::new(semconv::EXCEPTION_TYPE, error.type_name.clone()),
                KeyValue::new(semconv::EXCEPTION_MESSAGE, description.clone()),
            ],
        );
        span.set_status(Status::error(description));
    }
    span.end();
}

/// Handlers only observe.
pub(super) fn proceed<'a, P: Send + 'a>() -> BoxFuture<'a, HookResult<P>> {
    Box::pin(std::future::ready(Ok(HookAction::Continue)))
}
