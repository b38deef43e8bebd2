//! Quickstart: a backend written with `#[mellea::backend]`, a plugin and a standalone handler.
//!
//! Run it with `cargo run --example quickstart`. No network and no API key: the backend is a
//! deterministic in-process echo. The example registers
//! - `Guardrails`, a plugin written with `#[mellea::plugin]` whose SEQUENTIAL
//!   `generation_pre_call` handler pins the temperature to 0 (a patch the backend then sees) and
//!   blocks prompts that mention a password, and
//! - `latency_logger`, a standalone AUDIT handler of `generation_post_call`,
//!
//! then runs two generations inside an application span — one patched, one blocked before the
//! backend is called — and prints the span tree the tracing plugin recorded: the
//! `quickstart` span with the successful `chat echo-1` generation beneath it. (The blocked
//! generation never reached the backend, so it has no span: the guard ran first.)
//!
//! `MELLEA_TRACES_CONSOLE=1` also prints every span in full; `MELLEA_TRACES_OTLP=1` with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` sends them to a collector.
//!
//! Metrics: `MELLEA_METRICS_CONSOLE=1` prints a short metrics summary at the end (token usage
//! and operation duration of the generation); `MELLEA_METRICS_ENABLED=1 MELLEA_METRICS_OTLP=1`
//! sends the GenAI histograms to the collector too.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use mellea::generation::{BackendIdentity, GenerationRequest, Message};
use mellea::hooks::{
    GenerationOutput, GenerationPostCall, GenerationPreCallPatch, GenerationPreCallPayload, Usage,
    model_option,
};
use mellea::plugin::{HookContext, HookFn};
use mellea::telemetry::metrics::{ConsoleMetricExporter, MetricsConfig};
use mellea::telemetry::{TelemetryBuilder, TracingConfig};
use mellea::{HookAction, HookResult, PluginMode, PluginViolation, Violation};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

#[allow(dead_code)] // each example uses part of it
#[path = "support/traced.rs"]
pub(crate) mod traced;

/// What happened, line by line: printed as it happens and kept for the example's test.
#[derive(Clone, Default)]
pub struct Transcript(Arc<Mutex<Vec<String>>>);

impl Transcript {
    fn say(&self, line: String) {
        println!("{line}");
        self.0.lock().unwrap().push(line);
    }

    /// Every line said so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A deterministic in-process backend: it echoes the last message.
pub struct Echo;

/// The backend's answer.
pub struct Reply {
    pub text: String,
}

impl GenerationOutput for Reply {
    fn usage(&self) -> Option<Usage> {
        Some(Usage::new(8, self.text.split_whitespace().count() as u64))
    }
    fn finish_reasons(&self) -> Vec<String> {
        vec!["stop".into()]
    }
    fn text(&self) -> Option<&str> {
        Some(&self.text)
    }
}

/// What can go wrong: here, only a plugin's block.
#[derive(Debug)]
pub enum EchoError {
    Blocked(PluginViolation),
}

impl std::fmt::Display for EchoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EchoError::Blocked(violation) => violation.fmt(f),
        }
    }
}

impl std::error::Error for EchoError {}

impl From<PluginViolation> for EchoError {
    fn from(violation: PluginViolation) -> Self {
        EchoError::Blocked(violation)
    }
}

impl BackendIdentity for Echo {
    fn model_id(&self) -> &str {
        "echo-1"
    }
}

// The backend carries no hook or telemetry code: the attributes fire `generation_pre_call`
// before the body (whose patches the body sees) and `generation_post_call` / `generation_error`
// after it.
#[mellea::backend(provider = "echo")]
impl Echo {
    #[mellea::generation_hook(chat)]
    pub async fn generate(&self, request: GenerationRequest) -> Result<Reply, EchoError> {
        let temperature = request
            .model_options
            .get(model_option::TEMPERATURE)
            .cloned()
            .unwrap_or_default();
        let prompt = request
            .messages
            .last()
            .map(|m| m.content.as_str())
            .unwrap_or_default();
        Ok(Reply {
            text: format!("echo (temperature {temperature}): {prompt}"),
        })
    }
}

/// A plugin: pins sampling to temperature 0 and refuses prompts that mention a password.
struct Guardrails {
    transcript: Transcript,
}

#[mellea::plugin(name = "guardrails", priority = 10)]
impl Guardrails {
    #[hook("generation_pre_call")]
    async fn check_prompt(
        &self,
        payload: &GenerationPreCallPayload,
        _ctx: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        if payload.prompt_text().contains("password") {
            self.transcript
                .say("guardrails: blocking a prompt that mentions a password".into());
            return Ok(HookAction::Block(
                Violation::new("prompt mentions a password").with_code("SECRET"),
            ));
        }
        let mut options = payload.model_options.clone();
        options.insert(model_option::TEMPERATURE.into(), 0.0.into());
        self.transcript
            .say("guardrails: pinning temperature to 0".into());
        Ok(HookAction::Modify(
            GenerationPreCallPatch::new().with_model_options(options),
        ))
    }
}

/// A standalone handler that reports how long each successful generation took.
fn latency_logger(transcript: &Transcript) -> HookFn {
    let transcript = transcript.clone();
    HookFn::new::<GenerationPostCall, _>("latency_logger", move |payload, ctx| {
        let model = ctx.backend().map_or("unknown", |b| b.model_id.as_str());
        transcript.say(format!(
            "latency_logger: {model} answered in {:.3} ms",
            payload.latency_ms
        ));
        Box::pin(async { Ok(HookAction::Continue) })
    })
    .with_mode(PluginMode::Audit)
}

/// Registers the plugin and the handler, runs two generations, and unregisters both.
pub async fn run() -> Transcript {
    let transcript = Transcript::default();
    let logger = latency_logger(&transcript);
    let _guardrails = mellea::scoped(Guardrails {
        transcript: transcript.clone(),
    })
    .expect("no other plugin is named `guardrails`");
    let _logger =
        mellea::register(logger.clone()).expect("no other handler is named `latency_logger`");

    let backend = Echo;
    for prompt in ["Write a haiku about Rust", "What is the admin password?"] {
        let request = GenerationRequest::new([Message::user(prompt)])
            .with_option(model_option::TEMPERATURE, 0.7);
        match backend.generate(request).await {
            Ok(reply) => transcript.say(format!("reply: {}", reply.text)),
            Err(error) => transcript.say(format!("error: {error}")),
        }
    }

    mellea::unregister(&logger);
    transcript
}

/// Collects finished spans for the tree printed at the end.
#[derive(Clone, Debug, Default)]
pub struct SpanTree(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for SpanTree {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().unwrap().extend(batch);
        Ok(())
    }
}

impl SpanTree {
    /// The spans as an indented tree: name, kind, duration and the GenAI attributes.
    pub fn render(&self) -> String {
        let spans = self.0.lock().unwrap();
        let mut out = String::new();
        let roots = spans.iter().filter(|s| {
            !spans
                .iter()
                .any(|p| p.span_context.span_id() == s.parent_span_id)
        });
        for root in roots {
            render_span(&spans, root, 0, &mut out);
        }
        out
    }
}

fn render_span(spans: &[SpanData], span: &SpanData, depth: usize, out: &mut String) {
    let duration = span
        .end_time
        .duration_since(span.start_time)
        .unwrap_or_default();
    let _ = write!(
        out,
        "{:indent$}{} [{:?}, {:.2} ms]",
        "",
        span.name,
        span.span_kind,
        duration.as_secs_f64() * 1000.0,
        indent = depth * 2
    );
    for attribute in &span.attributes {
        if attribute.key.as_str().starts_with("gen_ai.") {
            let _ = write!(out, " {}={}", attribute.key, attribute.value);
        }
    }
    out.push('\n');
    for child in spans
        .iter()
        .filter(|c| c.parent_span_id == span.span_context.span_id())
    {
        render_span(spans, child, depth + 1, out);
    }
}

/// Runs the quickstart inside an application span, traced, and returns the span tree.
pub async fn run_traced() -> Result<String, mellea::telemetry::TelemetryError> {
    run_traced_with(TracingConfig::from_env()).await
}

/// Where the metrics summary is written, to be printed after the span tree.
#[derive(Clone, Default)]
pub struct Summary(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Summary {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// [`run_traced_with`] plus metrics as `metrics` says; returns the span tree and the metrics
/// summary (empty unless `MELLEA_METRICS_CONSOLE` is on).
pub async fn run_observed(
    mut config: TracingConfig,
    mut metrics: MetricsConfig,
) -> Result<(String, String), mellea::telemetry::TelemetryError> {
    config.enabled = true;
    let tree = SpanTree::default();
    let summary = Summary::default();
    let console = metrics.console;
    // The summary goes to a buffer so that it prints after the spans, at the end.
    metrics.enabled |= console;
    let mut builder = TelemetryBuilder::from_config(config)
        .with_simple_exporter(tree.clone())
        .with_metrics_config(metrics);
    if console {
        builder =
            builder.with_metrics_console_exporter(ConsoleMetricExporter::new(summary.clone()));
    }
    let telemetry = traced::start(builder)?;
    telemetry.application_span("quickstart").run(run()).await;
    // Flushes spans and metrics and fails if any was lost.
    traced::finish(telemetry)?;
    let text = String::from_utf8_lossy(&summary.0.lock().unwrap()).into_owned();
    Ok((tree.render(), text))
}

/// [`run_traced`] with `config` instead of the process environment.
pub async fn run_traced_with(
    mut config: TracingConfig,
) -> Result<String, mellea::telemetry::TelemetryError> {
    // Tracing on whatever `MELLEA_TRACES_ENABLED` says, with the environment's exporters
    // (console, OTLP) plus the tree collector.
    config.enabled = true;
    let tree = SpanTree::default();
    let telemetry =
        traced::start(TelemetryBuilder::from_config(config).with_simple_exporter(tree.clone()))?;
    telemetry.application_span("quickstart").run(run()).await;
    // Flushes every exporter and fails if any span was lost.
    traced::finish(telemetry)?;
    Ok(tree.render())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run_observed(TracingConfig::from_env(), MetricsConfig::from_env()).await {
        Ok((tree, summary)) => {
            println!("\nspans:\n{tree}");
            if !summary.is_empty() {
                println!("{summary}");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
