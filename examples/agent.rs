//! An agent with one tool: `#[mellea::agent]` around a tool-calling loop, `#[mellea::tool]` on
//! the tool.
//!
//! Run it with `cargo run --example agent`. No network and no API key: the model is a
//! deterministic in-process backend that asks for `get_weather` on the first turn and answers
//! with the tool's result on the second. The example prints the span tree the tracing plugins
//! recorded:
//!
//! ```text
//! invoke_agent weather_agent
//!   chat scripted-1          (the model asks for get_weather)
//!   execute_tool get_weather (the tool runs, with the model's call id)
//!   chat scripted-1          (the model answers)
//! ```
//!
//! every span with the same `gen_ai.conversation.id`. `MELLEA_TRACES_CONSOLE=1` also prints
//! every span in full; `MELLEA_TRACES_OTLP=1` with `OTEL_EXPORTER_OTLP_ENDPOINT` sends them to a
//! collector (Phoenix, MLflow, Jaeger); `MELLEA_TRACES_CONTENT=1` records messages,
//! tool arguments and results.
//!
//! With `OPENAI_BASE_URL` and `OPENAI_MODEL` set (and `OPENAI_API_KEY` where the server needs
//! one) the same loop runs against that OpenAI-compatible server instead.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use mellea::PluginViolation;
use mellea::backends::openai::{OpenAiBackend, OpenAiConfig};
use mellea::generation::{BackendIdentity, GenerationRequest, Message};
use mellea::hooks::{GenerationOutput, Usage};
use mellea::telemetry::{TelemetryBuilder, TelemetryError, TracingConfig};
use mellea::tools::ToolCall;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use serde::Serialize;

#[allow(dead_code)] // each example uses part of it
#[path = "support/traced.rs"]
pub(crate) mod traced;

/// What can go wrong in the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A plugin blocked a step.
    #[error(transparent)]
    Blocked(#[from] PluginViolation),
    /// The model server failed.
    #[error("the model failed: {0}")]
    Backend(#[from] mellea::backends::BackendError),
    /// The model kept calling tools.
    #[error("the model still called tools after {0} turns; giving up")]
    TooManyTurns(usize),
}

/// The weather the tool reports.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Weather {
    /// The city.
    pub city: String,
    /// Temperature in Celsius.
    pub celsius: f64,
    /// Sky.
    pub sky: String,
}

/// The tool's failure.
#[derive(Debug, thiserror::Error)]
pub enum WeatherError {
    /// No data for the city.
    #[error("no weather data for {0}")]
    UnknownCity(String),
    /// A plugin blocked the call.
    #[error(transparent)]
    Blocked(#[from] PluginViolation),
}

/// Current weather of a city: temperature in Celsius and the sky.
#[mellea::tool]
pub async fn get_weather(city: String) -> Result<Weather, WeatherError> {
    let (celsius, sky) = match city.as_str() {
        "Paris" => (21.5, "sunny"),
        "Oslo" => (4.0, "snow"),
        _ => return Err(WeatherError::UnknownCity(city)),
    };
    Ok(Weather {
        city,
        celsius,
        sky: sky.into(),
    })
}

/// A deterministic model: asks for the weather of the city in the question until a tool
/// result is in the conversation, then answers from it.
pub struct Scripted;

/// The scripted model's answer.
pub struct Reply {
    /// The text.
    pub text: String,
    /// The tools it asks for.
    pub tool_calls: Vec<ToolCall>,
}

impl GenerationOutput for Reply {
    fn usage(&self) -> Option<Usage> {
        Some(Usage::new(20, 12))
    }
    fn finish_reasons(&self) -> Vec<String> {
        let reason = if self.tool_calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        };
        vec![reason.into()]
    }
    fn text(&self) -> Option<&str> {
        Some(self.text.as_str()).filter(|text| !text.is_empty())
    }
    fn tool_calls(&self) -> Vec<ToolCall> {
        self.tool_calls.clone()
    }
}

impl BackendIdentity for Scripted {
    fn model_id(&self) -> &str {
        "scripted-1"
    }
}

#[mellea::backend(provider = "scripted")]
impl Scripted {
    #[mellea::generation_hook(chat)]
    pub async fn chat(&self, request: GenerationRequest) -> Result<Reply, AgentError> {
        let result = request.messages.iter().rev().find(|m| m.role == "tool");
        if let Some(result) = result {
            let weather: serde_json::Value =
                serde_json::from_str(&result.content).unwrap_or_default();
            return Ok(Reply {
                text: format!(
                    "It is {} °C and {} in {}.",
                    weather["celsius"],
                    weather["sky"].as_str().unwrap_or("unknown"),
                    weather["city"].as_str().unwrap_or("the city"),
                ),
                tool_calls: Vec::new(),
            });
        }
        let question = request.messages.last().map(|m| m.content.as_str());
        let city = if question.is_some_and(|q| q.contains("Oslo")) {
            "Oslo"
        } else {
            "Paris"
        };
        let arguments = serde_json::json!({ "city": city }).to_string();
        Ok(Reply {
            text: String::new(),
            tool_calls: vec![ToolCall::new("get_weather", arguments).with_id("call_1")],
        })
    }
}

/// The model the agent talks to.
pub enum Model {
    /// The in-process script.
    Scripted(Scripted),
    /// An OpenAI-compatible server (boxed: a backend is large next to the script).
    OpenAi(Box<OpenAiBackend>),
}

impl Model {
    /// A server from `OPENAI_BASE_URL` / `OPENAI_MODEL` when both are set, else the script.
    pub fn from_env() -> Self {
        let set = |name| std::env::var(name).is_ok_and(|v| !v.is_empty());
        if set("OPENAI_BASE_URL") && set("OPENAI_MODEL") {
            match OpenAiBackend::new(OpenAiConfig::from_env()) {
                Ok(backend) => return Model::OpenAi(Box::new(backend)),
                Err(error) => eprintln!("{error}; using the scripted model"),
            }
        }
        Model::Scripted(Scripted)
    }

    /// One turn: the answer's text and tool calls.
    async fn turn(
        &self,
        request: GenerationRequest,
    ) -> Result<(String, Vec<ToolCall>), AgentError> {
        match self {
            Model::Scripted(model) => {
                let reply = model.chat(request).await?;
                Ok((reply.text, reply.tool_calls))
            }
            Model::OpenAi(model) => {
                let reply = model.chat(request).await?;
                let calls = GenerationOutput::tool_calls(&reply);
                Ok((reply.text().unwrap_or_default().to_owned(), calls))
            }
        }
    }
}

/// Answers weather questions, calling `get_weather` when it needs to.
#[mellea::agent(name = "weather_agent", id = "weather-agent-v1")]
pub async fn weather_agent(model: &Model, question: String) -> Result<String, AgentError> {
    let mut messages = vec![
        Message::system("Answer weather questions. Use get_weather for current conditions."),
        Message::user(question),
    ];
    const TURNS: usize = 4;
    for _ in 0..TURNS {
        let request = GenerationRequest::new(messages.clone()).with_tools([get_weather_tool()]);
        let (text, calls) = model.turn(request).await?;
        if calls.is_empty() {
            return Ok(text);
        }
        messages.push(Message::assistant(text).with_tool_calls(calls.clone()));
        for call in &calls {
            let answer = match call.name.as_str() {
                "get_weather" => call_get_weather(call)
                    .await
                    .unwrap_or_else(|error| error.to_message(call)),
                other => Message::tool_result(
                    call.id.clone().unwrap_or_default(),
                    format!("there is no tool named {other}"),
                ),
            };
            messages.push(answer);
        }
    }
    Err(AgentError::TooManyTurns(TURNS))
}

/// Collects finished spans for the tree printed at the end.
#[derive(Clone, Debug, Default)]
pub struct SpanTree(pub Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for SpanTree {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().unwrap().extend(batch);
        Ok(())
    }
}

impl SpanTree {
    /// The spans as an indented tree: name, kind and the GenAI attributes.
    pub fn render(&self) -> String {
        let spans = self.0.lock().unwrap();
        let mut out = String::new();
        for root in spans.iter().filter(|s| {
            !spans
                .iter()
                .any(|p| p.span_context.span_id() == s.parent_span_id)
        }) {
            render_span(&spans, root, 0, &mut out);
        }
        out
    }
}

fn render_span(spans: &[SpanData], span: &SpanData, depth: usize, out: &mut String) {
    let _ = write!(
        out,
        "{:indent$}{} [{:?}]",
        "",
        span.name,
        span.span_kind,
        indent = depth * 2
    );
    for attribute in &span.attributes {
        let key = attribute.key.as_str();
        if key.starts_with("gen_ai.") && !key.starts_with("gen_ai.usage") {
            let _ = write!(out, " {key}={}", attribute.value);
        }
    }
    out.push('\n');
    // Children in start order: the tree reads as the loop ran.
    let mut children: Vec<&SpanData> = spans
        .iter()
        .filter(|c| c.parent_span_id == span.span_context.span_id())
        .collect();
    children.sort_by_key(|c| c.start_time);
    for child in children {
        render_span(spans, child, depth + 1, out);
    }
}

/// Runs the agent once, traced with `config` (enabled whatever it says, plus the tree
/// collector); returns the answer and the collected spans.
pub async fn run_traced_with(
    mut config: TracingConfig,
    model: &Model,
) -> Result<(Result<String, AgentError>, SpanTree), TelemetryError> {
    config.enabled = true;
    let tree = SpanTree::default();
    let telemetry =
        traced::start(TelemetryBuilder::from_config(config).with_simple_exporter(tree.clone()))?;
    let answer = weather_agent(model, "What is the weather in Paris?".into()).await;
    // Flushes every exporter and fails if any span was lost.
    traced::finish(telemetry)?;
    Ok((answer, tree))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let model = Model::from_env();
    match run_traced_with(TracingConfig::from_env(), &model).await {
        Ok((answer, tree)) => {
            let ok = answer.is_ok();
            match answer {
                Ok(answer) => println!("answer: {answer}"),
                Err(error) => eprintln!("error: {error}"),
            }
            println!("\nspans:\n{}", tree.render());
            if ok {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
