//! Quickstart: a plugin and a standalone handler around a toy generation.
//!
//! Run it with `cargo run --example quickstart`. It registers
//! - `Guardrails`, a plugin (a plain type implementing `Plugin`) whose SEQUENTIAL
//!   `generation_pre_call` handler pins the temperature to 0 (a patch) and blocks prompts that
//!   mention a password (a block), and
//! - `latency_logger`, a standalone AUDIT handler of `generation_post_call`,
//!
//! then runs two generations through a toy backend function that dispatches the hooks the way
//! `#[generation_hook]` will: only if someone listens.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use mellea::hooks::{
    GenerationPostCall, GenerationPostCallPayload, GenerationPreCall, GenerationPreCallPatch,
    GenerationPreCallPayload, HookType, ModelOptions, model_option,
};
use mellea::plugin::{BackendInfo, HookContext, HookFn, PluginHooks};
use mellea::{HookAction, HookResult, Plugin, PluginMode, PluginViolation, Violation};

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

/// A plugin: pins sampling to temperature 0 and refuses prompts that mention a password.
struct Guardrails {
    transcript: Transcript,
}

impl Guardrails {
    async fn check_prompt(
        &self,
        payload: &GenerationPreCallPayload,
        _ctx: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        let prompt = payload
            .prompt
            .as_ref()
            .and_then(|p| p.as_str())
            .unwrap_or("");
        if prompt.contains("password") {
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

impl Plugin for Guardrails {
    fn name(&self) -> &str {
        "guardrails"
    }

    fn priority(&self) -> i32 {
        10
    }

    fn hooks(self: Arc<Self>, hooks: &mut PluginHooks) {
        hooks.method::<GenerationPreCall, _, _>(
            PluginMode::Sequential,
            None,
            self,
            |this, payload, ctx| Box::pin(this.check_prompt(payload, ctx)),
        );
    }
}

/// A standalone handler that reports how long each successful generation took.
fn latency_logger(transcript: &Transcript) -> HookFn {
    let transcript = transcript.clone();
    HookFn::new::<GenerationPostCall, _>("latency_logger", move |payload, ctx| {
        let model = ctx
            .get_state("backend_name")
            .and_then(|name| name.as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown".into());
        transcript.say(format!(
            "latency_logger: {model} answered in {:.3} ms",
            payload.latency_ms
        ));
        Box::pin(async { Ok(HookAction::Continue) })
    })
    .with_mode(PluginMode::Audit)
}

/// A toy backend call, dispatching the hooks as `#[generation_hook]` will.
async fn generate(prompt: &str) -> Result<String, PluginViolation> {
    let backend = BackendInfo::new("echo", "echo-1");
    let started = Instant::now();
    let mut options = ModelOptions::new();
    options.insert(model_option::TEMPERATURE.into(), 0.7.into());

    if mellea::has_listeners(HookType::GenerationPreCall) {
        let mut payload = GenerationPreCallPayload::default();
        payload.prompt = Some(prompt.into());
        payload.model_options = options;
        let ctx = HookContext::new().with_backend(backend.clone());
        // A block returns the violation instead of calling the model.
        let dispatched = mellea::global()
            .dispatch::<GenerationPreCall>(payload, ctx)
            .await?;
        options = dispatched.payload.model_options;
    }

    let temperature = &options[model_option::TEMPERATURE];
    let reply = format!("echo (temperature {temperature}): {prompt}");

    if mellea::has_listeners(HookType::GenerationPostCall) {
        let mut payload = GenerationPostCallPayload::default();
        payload.prompt = prompt.into();
        payload.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let ctx = HookContext::new().with_backend(backend);
        let _observed = mellea::global()
            .dispatch::<GenerationPostCall>(payload, ctx)
            .await?;
    }
    Ok(reply)
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

    for prompt in ["Write a haiku about Rust", "What is the admin password?"] {
        match generate(prompt).await {
            Ok(reply) => transcript.say(format!("reply: {reply}")),
            Err(violation) => transcript.say(format!("error: {violation}")),
        }
    }

    mellea::unregister(&logger);
    transcript
}

#[tokio::main]
async fn main() {
    run().await;
}
