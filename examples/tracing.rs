//! Tracing: one OpenTelemetry GenAI span per generation, nested under the application's own
//! spans, printed to the console or exported by OTLP.
//!
//! ```sh
//! # print the spans
//! MELLEA_TRACES_ENABLED=1 MELLEA_TRACES_CONSOLE=1 cargo run --example tracing
//! # send them to any OTLP/HTTP collector (Jaeger: docker run -p 16686:16686 -p 4318:4318 jaegertracing/all-in-one)
//! MELLEA_TRACES_ENABLED=1 MELLEA_TRACES_OTLP=1 OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 \
//!     cargo run --example tracing
//! ```
//!
//! The backend below carries no telemetry code: `#[mellea::backend]` and
//! `#[mellea::generation_hook]` fire the generation hooks, and the tracing plugin that
//! `init_from_env` registers turns them into spans.

use std::time::Duration;

use futures_util::StreamExt as _;
use mellea::generation::{BackendIdentity, ChunkStream, GenerationRequest, Message, ServerAddress};
use mellea::hooks::{GenerationOutput, Usage};
use mellea::telemetry::{Telemetry, TelemetryBuilder};

#[allow(dead_code)] // each example uses part of it
#[path = "support/traced.rs"]
mod traced;

/// A stand-in for a model served by Ollama on this machine.
pub struct Granite;

impl BackendIdentity for Granite {
    fn model_id(&self) -> &str {
        "granite4:micro"
    }
    fn server(&self) -> Option<ServerAddress<'_>> {
        Some(ServerAddress {
            host: "localhost",
            port: 11434,
        })
    }
}

/// The model's answer.
pub struct Reply(String);

impl GenerationOutput for Reply {
    fn usage(&self) -> Option<Usage> {
        Some(Usage::new(12, self.0.split_whitespace().count() as u64))
    }
    fn response_model(&self) -> Option<&str> {
        Some("granite4:micro")
    }
    fn finish_reasons(&self) -> Vec<String> {
        vec!["stop".into()]
    }
    fn text(&self) -> Option<&str> {
        Some(&self.0)
    }
}

/// What can go wrong calling the model.
#[derive(Debug)]
pub struct GraniteError(String);

impl std::fmt::Display for GraniteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GraniteError {}

impl From<mellea::PluginViolation> for GraniteError {
    fn from(violation: mellea::PluginViolation) -> Self {
        GraniteError(violation.to_string())
    }
}

#[mellea::backend(provider = "ollama")]
impl Granite {
    /// Answers in one piece.
    #[mellea::generation_hook(chat)]
    pub async fn chat(&self, request: GenerationRequest) -> Result<Reply, GraniteError> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let question = request.messages.last().map_or("", |m| m.content.as_str());
        Ok(Reply(format!("You asked: {question}")))
    }

    /// Answers word by word.
    #[mellea::generation_hook(stream)]
    pub async fn stream(
        &self,
        _request: GenerationRequest,
    ) -> Result<ChunkStream<'static, String, GraniteError>, GraniteError> {
        let words = ["Spans ", "nest ", "under ", "the ", "session."].map(String::from);
        Ok(Box::pin(futures_util::stream::iter(words).then(
            |word| async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Ok(word)
            },
        )))
    }
}

/// Session the example's work runs in.
pub const SESSION: &str = "example-session";

/// Runs a chat and a streamed generation inside a `session` span; returns both answers.
pub async fn run(telemetry: &Telemetry) -> Result<(String, String), GraniteError> {
    telemetry
        .session_span(SESSION)
        .run(async {
            let model = Granite;
            let reply = model
                .chat(GenerationRequest::new([Message::user("What is a span?")]))
                .await?;
            let mut words = model
                .stream(GenerationRequest::new([Message::user("And nesting?")]).with_stream(true))
                .await?;
            let mut streamed = String::new();
            while let Some(word) = words.next().await {
                streamed.push_str(&word?);
            }
            Ok((reply.0, streamed))
        })
        .await
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Keep the guard until the end: shutting it down flushes the last spans.
    let telemetry = match traced::start(TelemetryBuilder::from_env()) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if !telemetry.is_enabled() {
        eprintln!("tracing is off: set MELLEA_TRACES_ENABLED=1 (and MELLEA_TRACES_CONSOLE=1)");
    }
    let outcome = run(&telemetry).await;
    match &outcome {
        Ok((reply, streamed)) => {
            println!("chat:   {reply}");
            println!("stream: {streamed}");
        }
        Err(error) => eprintln!("error: {error}"),
    }
    let export = traced::finish(telemetry);
    traced::exit_code(outcome.is_ok(), &export)
}
