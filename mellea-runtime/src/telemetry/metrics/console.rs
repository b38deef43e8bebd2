//! A short, human-readable metrics summary on standard output (`MELLEA_METRICS_CONSOLE`).

use std::fmt::{self, Write as _};
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;

/// Prints every export as one line per data point:
///
/// ```text
/// mellea metrics:
///   gen_ai.client.operation.duration [s] {gen_ai.operation.name=chat, gen_ai.provider.name=ollama, gen_ai.request.model=granite4:micro} count=2 sum=0.913
///   gen_ai.client.token.usage [{token}] {..., gen_ai.token.type=input} count=2 sum=58
///   mellea.llm.errors [{error}] {..., mellea.error.category=timeout} value=1
/// ```
#[derive(Clone)]
pub struct ConsoleMetricExporter {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
    temporality: Temporality,
}

impl fmt::Debug for ConsoleMetricExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConsoleMetricExporter")
    }
}

impl Default for ConsoleMetricExporter {
    fn default() -> Self {
        Self::stdout()
    }
}

impl ConsoleMetricExporter {
    /// Prints to standard output.
    pub fn stdout() -> Self {
        Self::new(std::io::stdout())
    }

    /// Prints to `writer` (a file, a buffer in a test...).
    pub fn new(writer: impl Write + Send + 'static) -> Self {
        Self {
            out: Arc::new(Mutex::new(Box::new(writer))),
            temporality: Temporality::Cumulative,
        }
    }

    /// Prints cumulative (default) or delta values.
    #[must_use]
    pub fn with_temporality(mut self, temporality: Temporality) -> Self {
        self.temporality = temporality;
        self
    }
}

/// Renders `metrics` as the summary; empty when nothing was recorded.
pub fn summary(metrics: &ResourceMetrics) -> String {
    let mut text = String::new();
    for scope in metrics.scope_metrics() {
        for metric in scope.metrics() {
            let head = format!("  {} [{}]", metric.name(), metric.unit());
            match metric.data() {
                AggregatedMetrics::F64(data) => {
                    lines(&mut text, &head, data, |v| format!("{v:.6}"))
                }
                AggregatedMetrics::U64(data) => lines(&mut text, &head, data, |v| v.to_string()),
                AggregatedMetrics::I64(data) => lines(&mut text, &head, data, |v| v.to_string()),
            }
        }
    }
    if text.is_empty() {
        return text;
    }
    format!("mellea metrics:\n{text}")
}

fn lines<T: Copy>(text: &mut String, head: &str, data: &MetricData<T>, show: impl Fn(T) -> String) {
    let labels = |attributes: &mut dyn Iterator<Item = &KeyValue>| {
        let mut pairs: Vec<String> = attributes
            .map(|kv| format!("{}={}", kv.key, kv.value))
            .collect();
        pairs.sort();
        pairs.join(", ")
    };
    match data {
        MetricData::Histogram(h) => {
            for point in h.data_points() {
                let _ = writeln!(
                    text,
                    "{head} {{{}}} count={} sum={}",
                    labels(&mut point.attributes()),
                    point.count(),
                    show(point.sum())
                );
            }
        }
        MetricData::Sum(s) => {
            for point in s.data_points() {
                let _ = writeln!(
                    text,
                    "{head} {{{}}} value={}",
                    labels(&mut point.attributes()),
                    show(point.value())
                );
            }
        }
        MetricData::Gauge(g) => {
            for point in g.data_points() {
                let _ = writeln!(
                    text,
                    "{head} {{{}}} value={}",
                    labels(&mut point.attributes()),
                    show(point.value())
                );
            }
        }
        MetricData::ExponentialHistogram(h) => {
            for point in h.data_points() {
                let _ = writeln!(
                    text,
                    "{head} {{{}}} count={}",
                    labels(&mut point.attributes()),
                    point.count()
                );
            }
        }
    }
}

impl PushMetricExporter for ConsoleMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let text = summary(metrics);
        if text.is_empty() {
            return Ok(());
        }
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| OTelSdkError::InternalFailure(format!("writing the metrics failed: {e}")))
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}
