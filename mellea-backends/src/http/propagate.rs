//! W3C trace context on outgoing requests.

use opentelemetry::Context;
use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// Writes the W3C `traceparent` (and `tracestate`) of `cx` into `headers`, when `cx` holds a
/// valid span context; otherwise writes nothing.
pub(crate) fn inject_trace_context(cx: &Context, headers: &mut HeaderMap) {
    struct HeaderInjector<'a>(&'a mut HeaderMap);
    impl Injector for HeaderInjector<'_> {
        fn set(&mut self, key: &str, value: String) {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(key.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                self.0.insert(name, value);
            }
        }
    }
    TraceContextPropagator::new().inject_context(cx, &mut HeaderInjector(headers));
}
