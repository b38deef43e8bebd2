//! A span exporter that prints finished spans in a readable form.

use std::fmt::{self, Write as _};
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Prints each finished span as a block of lines: name, kind, status and duration, then ids,
/// attributes and events. What `MELLEA_TRACES_CONSOLE` turns on (behind a batch processor).
///
/// ```text
/// span "chat granite4" kind=client status=unset duration=12.345ms
///   trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7 parent=root scope=mellea.backend
///   gen_ai.operation.name = "chat"
///   gen_ai.usage.input_tokens = 12
///   event exception: exception.type="RateLimited" exception.message="slow down"
/// ```
#[derive(Clone)]
pub struct ConsoleSpanExporter {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl fmt::Debug for ConsoleSpanExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConsoleSpanExporter")
    }
}

impl Default for ConsoleSpanExporter {
    fn default() -> Self {
        Self::stdout()
    }
}

impl ConsoleSpanExporter {
    /// Prints to standard output.
    pub fn stdout() -> Self {
        Self::new(std::io::stdout())
    }

    /// Prints to `writer` (a file, a buffer in a test...).
    pub fn new(writer: impl Write + Send + 'static) -> Self {
        Self {
            out: Arc::new(Mutex::new(Box::new(writer))),
        }
    }

    fn write_batch(&self, batch: &[SpanData]) -> OTelSdkResult {
        let mut text = String::new();
        for span in batch {
            // Writing into a `String` cannot fail.
            let _ = render(span, &mut text);
        }
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| OTelSdkError::InternalFailure(format!("console span exporter: {e}")))
    }
}

impl SpanExporter for ConsoleSpanExporter {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.write_batch(&batch))
    }

    fn force_flush(&self) -> OTelSdkResult {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        out.flush()
            .map_err(|e| OTelSdkError::InternalFailure(format!("console span exporter: {e}")))
    }
}

fn kind_name(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Client => "client",
        SpanKind::Server => "server",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Internal => "internal",
    }
}

fn write_value(out: &mut String, value: &Value) -> fmt::Result {
    match value {
        Value::String(s) => write!(out, "{:?}", s.as_str()),
        other => write!(out, "{other}"),
    }
}

fn write_attributes(out: &mut String, attributes: &[KeyValue], separator: &str) -> fmt::Result {
    for (i, kv) in attributes.iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        write!(out, "{}=", kv.key)?;
        write_value(out, &kv.value)?;
    }
    Ok(())
}

fn render(span: &SpanData, out: &mut String) -> fmt::Result {
    let duration = span
        .end_time
        .duration_since(span.start_time)
        .unwrap_or_default();
    let status = match &span.status {
        Status::Unset => "unset".to_owned(),
        Status::Ok => "ok".to_owned(),
        Status::Error { description } => format!("error({description:?})"),
    };
    writeln!(
        out,
        "span {:?} kind={} status={status} duration={:.3}ms",
        span.name,
        kind_name(&span.span_kind),
        duration.as_secs_f64() * 1000.0,
    )?;
    let parent = if span.parent_span_id == opentelemetry::trace::SpanId::INVALID {
        "root".to_owned()
    } else {
        span.parent_span_id.to_string()
    };
    writeln!(
        out,
        "  trace={} span={} parent={parent} scope={}",
        span.span_context.trace_id(),
        span.span_context.span_id(),
        span.instrumentation_scope.name(),
    )?;
    for kv in &span.attributes {
        write!(out, "  {} = ", kv.key)?;
        write_value(out, &kv.value)?;
        out.push('\n');
    }
    for event in span.events.iter() {
        let at = event
            .timestamp
            .duration_since(span.start_time)
            .unwrap_or_default();
        write!(
            out,
            "  event {} (+{:.3}ms): ",
            event.name,
            at.as_secs_f64() * 1000.0
        )?;
        write_attributes(out, &event.attributes, " ")?;
        out.push('\n');
    }
    Ok(())
}

/// Renders one span as the console exporter prints it (for tests of the format).
#[cfg(test)]
fn rendered(span: &SpanData) -> String {
    let mut out = String::new();
    render(span, &mut out).unwrap();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

    fn one_span() -> SpanData {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = provider.tracer("mellea.backend");
        let mut span = tracer.start("chat m");
        span.set_attribute(KeyValue::new("gen_ai.operation.name", "chat"));
        span.set_attribute(KeyValue::new("gen_ai.usage.input_tokens", 12));
        span.add_event(
            "exception",
            vec![KeyValue::new("exception.message", "slow down")],
        );
        span.set_status(Status::error("slow down"));
        span.end();
        exporter.get_finished_spans().unwrap().remove(0)
    }

    #[test]
    fn a_span_prints_its_name_status_attributes_and_events() {
        let text = rendered(&one_span());
        assert!(
            text.starts_with("span \"chat m\" kind=internal status=error(\"slow down\") duration="),
            "{text}"
        );
        assert!(text.contains("parent=root scope=mellea.backend"), "{text}");
        assert!(
            text.contains("  gen_ai.operation.name = \"chat\"\n"),
            "{text}"
        );
        assert!(
            text.contains("  gen_ai.usage.input_tokens = 12\n"),
            "{text}"
        );
        assert!(
            text.contains("  event exception (+")
                && text.contains("exception.message=\"slow down\""),
            "{text}"
        );
    }

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn export_writes_every_span_of_the_batch_to_the_writer() {
        let buffer = Shared::default();
        let exporter = ConsoleSpanExporter::new(buffer.clone());
        let result =
            futures_util::FutureExt::now_or_never(exporter.export(vec![one_span(), one_span()]));
        assert!(matches!(result, Some(Ok(()))));
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.matches("span \"chat m\"").count(), 2, "{text}");
    }
}
