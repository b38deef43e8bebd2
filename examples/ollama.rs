//! Chat with a local Ollama through its native API (`mellea::backends::ollama`), with a hook
//! reporting every call.
//!
//! ```sh
//! ollama pull granite4:micro     # once
//! cargo run --example ollama
//! OLLAMA_HOST=gpu-box:11434 OLLAMA_MODEL=llama3.2 cargo run --example ollama -- "Why is the sky blue?"
//! ```
//!
//! Environment: `OLLAMA_HOST` (default `localhost:11434`, written as Ollama's CLI takes it),
//! `OLLAMA_MODEL` (default `granite4:micro`). The prompt is the first argument. The example
//! asks once for a whole answer and once for a streamed one (NDJSON), which it prints as it
//! arrives; an audit hook prints the token counts and latency of each call. Without a
//! reachable server it exits with status 1 and says to start `ollama serve`.

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use mellea::backends::ollama::{OllamaBackend, OllamaConfig};
use mellea::generation::{GenerationRequest, Message};
use mellea::hooks::{GenerationPostCall, model_option};
use mellea::plugin::{HookAction, HookFn, PluginMode};
use mellea::session::in_session;
use mellea::telemetry::TelemetryBuilder;

#[allow(dead_code)] // each example uses part of it
#[path = "support/traced.rs"]
mod traced;

/// What happened, line by line: printed as it happens and kept for the example's test.
#[derive(Clone, Default)]
pub struct Transcript(Arc<Mutex<Printed>>);

#[derive(Default)]
struct Printed {
    lines: Vec<String>,
    /// Everything written to standard output, as written.
    output: String,
}

impl Transcript {
    /// Prints a whole line; a streamed answer still on its line is ended first, since the
    /// post-call hook reports a stream as its last chunk arrives.
    fn say(&self, line: String) {
        let mut printed = self.0.lock().unwrap();
        if !printed.output.is_empty() && !printed.output.ends_with('\n') {
            printed.output.push('\n');
            println!();
        }
        println!("{line}");
        printed.output.push_str(&line);
        printed.output.push('\n');
        printed.lines.push(line);
    }

    /// Prints part of a line (a streamed chunk) at once.
    fn write(&self, text: &str) -> std::io::Result<()> {
        self.0.lock().unwrap().output.push_str(text);
        print!("{text}");
        std::io::stdout().flush()
    }

    /// Ends the current line, if a `write` left one open.
    fn end_line(&self) {
        let mut printed = self.0.lock().unwrap();
        if !printed.output.is_empty() && !printed.output.ends_with('\n') {
            printed.output.push('\n');
            println!();
        }
    }

    /// Every line said so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().lines.clone()
    }

    /// Everything printed so far, streamed chunks included.
    pub fn output(&self) -> String {
        self.0.lock().unwrap().output.clone()
    }
}

/// A standalone audit handler: what each generation cost, read from the post-call hook.
fn usage_report(name: String, transcript: Transcript) -> HookFn {
    HookFn::new::<GenerationPostCall, _>(name, move |payload, _ctx| {
        let output = payload.model_output.clone().unwrap_or_default();
        let tokens = output.usage.map_or("no counts reported".into(), |usage| {
            format!(
                "{} prompt + {} generated tokens",
                usage.input_tokens.unwrap_or(0),
                usage.output_tokens.unwrap_or(0)
            )
        });
        transcript.say(format!(
            "[hook] {} answered in {:.0} ms: {tokens}, done_reason {}",
            output.response_model.as_deref().unwrap_or("the model"),
            payload.latency_ms,
            output.finish_reasons.join(",")
        ));
        Box::pin(async { Ok(HookAction::Continue) })
    })
    .with_mode(PluginMode::Audit)
}

/// Asks `prompt` twice (whole, then streamed) of the Ollama server `config` names.
pub async fn run(config: OllamaConfig, prompt: &str) -> Result<Transcript, Box<dyn Error>> {
    let transcript = Transcript::default();
    let backend = OllamaBackend::new(config)?;
    transcript.say(format!(
        "asking {} at {}",
        backend.model(),
        backend.chat_url()
    ));

    // The handler fires only for generations of this session.
    let session = format!("example-ollama-{}", uuid::Uuid::new_v4());
    let handler = usage_report(format!("usage_report-{session}"), transcript.clone());
    let registration = mellea::register_for_session(session.clone(), handler)?;
    let outcome = in_session(session, async {
        let request = GenerationRequest::new([
            Message::system("You are concise: answer in at most two sentences."),
            Message::user(prompt),
        ])
        .with_option(model_option::TEMPERATURE, 0.2)
        .with_option(model_option::MAX_TOKENS, 200);

        let reply = backend.chat(request.clone()).await?;
        transcript.say(format!("reply: {}", reply.text().trim()));

        let mut stream = backend.chat_stream(request).await?;
        let mut streamed = String::new();
        transcript.write("streaming: ")?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            transcript.write(chunk.text())?;
            streamed.push_str(chunk.text());
        }
        transcript.end_line();
        transcript.say(format!("streamed: {}", streamed.trim()));
        Ok::<_, Box<dyn Error>>(())
    })
    .await;
    mellea::unregister(&registration);
    outcome.map(|()| transcript)
}

#[tokio::main]
async fn main() -> ExitCode {
    let prompt = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "What does Rust's borrow checker check?".into());
    // `MELLEA_TRACES_ENABLED=1 MELLEA_TRACES_OTLP=1` exports this backend's spans.
    let telemetry = match traced::start(TelemetryBuilder::from_env()) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = run(OllamaConfig::from_env(), &prompt).await;
    if let Err(error) = &outcome {
        eprintln!("error: {error}");
    }
    let export = traced::finish(telemetry);
    traced::exit_code(outcome.is_ok(), &export)
}
