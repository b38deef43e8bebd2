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
use crate::plugin::{HandlerFuture, HookAction, HookContext};

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
pub(super) fn proceed<'a, P: Send + 'a>() -> HandlerFuture<'a, P> {
    HandlerFuture::new(async { Ok(HookAction::Continue) })
}

/// The fields, `Debug`, constants and builder methods the tool and agent tracing plugins share:
/// `$ty` must have the fields `name`, `instance`, `tracer`, `capture_content`, `content_limit`
/// and `hints`.
macro_rules! invocation_plugin_builder {
    ($ty:ident, name = $name:literal, captures = $captures:literal) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("name", &self.name)
                    .field("capture_content", &self.capture_content)
                    .finish_non_exhaustive()
            }
        }

        impl $ty {
            /// The plugin's registry name unless renamed with [`with_name`](Self::with_name).
            pub const NAME: &'static str = $name;
            /// Priority of every handler.
            pub const PRIORITY: i32 = 1040;

            /// A plugin creating its spans with `provider`'s `mellea.backend` tracer; capture
            /// off.
            pub fn from_provider(provider: &::opentelemetry_sdk::trace::SdkTracerProvider) -> Self {
                Self {
                    name: Self::NAME.to_owned(),
                    instance: $crate::telemetry::invocation_span::next_instance(),
                    tracer: $crate::telemetry::backend_tracer(provider),
                    capture_content: false,
                    content_limit: $crate::telemetry::attributes::DEFAULT_CONTENT_VALUE_LIMIT,
                    hints: $crate::telemetry::ViewerHints::None,
                }
            }

            /// Renames the plugin; registries need unique names.
            #[must_use]
            pub fn with_name(mut self, name: impl Into<String>) -> Self {
                self.name = name.into();
                self
            }

            #[doc = $captures]
            #[must_use]
            pub fn with_content_capture(mut self, capture: bool) -> Self {
                self.capture_content = capture;
                self
            }

            /// The longest captured attribute, in characters.
            #[must_use]
            pub fn with_content_limit(mut self, limit: usize) -> Self {
                self.content_limit = limit;
                self
            }

            /// Adds the extra attributes `hints` asks for (see
            /// [`ViewerHints`](crate::telemetry::ViewerHints)).
            #[must_use]
            pub fn with_viewer_hints(mut self, hints: $crate::telemetry::ViewerHints) -> Self {
                self.hints = hints;
                self
            }
        }
    };
}
pub(super) use invocation_plugin_builder;
