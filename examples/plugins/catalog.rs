//! The plugins of `examples/plugins.rs`, in their own module so that `tests/plugins/examples.rs`
//! exercises each of them on its own as well as together.

use std::sync::Mutex;

use mellea::hooks::{
    GenerationErrorPayload, GenerationPostCallPayload, GenerationPreCallPatch,
    GenerationPreCallPayload, Usage, model_option,
};
use mellea::{HookAction, HookContext, HookResult, Violation};
use tokio::sync::mpsc::UnboundedSender;

/// What the redactor writes instead of a sensitive value.
pub const REDACTED: &str = "[REDACTED]";

/// Masks sensitive provider options (say, an end-user id that must not reach the provider)
/// before every generation. TRANSFORM: it changes the payload but never blocks.
pub struct Redactor {
    keys: Vec<String>,
}

impl Redactor {
    /// Masks the values of `keys` in `model_options`.
    pub fn new(keys: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Redactor {
            keys: keys.into_iter().map(Into::into).collect(),
        }
    }
}

#[mellea::plugin(name = "redactor", priority = 10)]
impl Redactor {
    #[hook("generation_pre_call", mode = transform)]
    async fn mask_options(
        &self,
        payload: &GenerationPreCallPayload,
        _ctx: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        let sensitive = |key: &String| self.keys.contains(key);
        if !payload.model_options.keys().any(sensitive) {
            return Ok(HookAction::Continue);
        }
        let mut options = payload.model_options.clone();
        for (key, value) in options.iter_mut() {
            if sensitive(key) {
                *value = REDACTED.into();
            }
        }
        Ok(HookAction::Modify(
            GenerationPreCallPatch::new().with_model_options(options),
        ))
    }
}

/// Refuses prompts that contain a forbidden phrase. SEQUENTIAL and first (priority 5): its
/// block stops the generation before any other plugin or the backend sees the prompt.
pub struct PromptGuard {
    forbidden: Vec<String>,
}

impl PromptGuard {
    /// Blocks prompts containing any of `phrases` (case-insensitive).
    pub fn new(phrases: impl IntoIterator<Item = impl Into<String>>) -> Self {
        PromptGuard {
            forbidden: phrases
                .into_iter()
                .map(|phrase| phrase.into().to_lowercase())
                .collect(),
        }
    }
}

#[mellea::plugin(name = "prompt_guard", priority = 5)]
impl PromptGuard {
    #[hook("generation_pre_call")]
    async fn check_prompt(
        &self,
        payload: &GenerationPreCallPayload,
        _ctx: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        let prompt = payload.prompt_text().to_lowercase();
        match self
            .forbidden
            .iter()
            .find(|phrase| prompt.contains(phrase.as_str()))
        {
            Some(phrase) => Ok(HookAction::Block(
                Violation::new(format!("prompt contains the forbidden phrase {phrase:?}"))
                    .with_code("FORBIDDEN_PHRASE"),
            )),
            None => Ok(HookAction::Continue),
        }
    }
}

/// Keeps one line per finished generation, successful or not. AUDIT: it sees the final payload
/// and can neither change nor stop anything.
#[derive(Default)]
pub struct AuditLog {
    lines: Mutex<Vec<String>>,
}

impl AuditLog {
    /// The lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn append(&self, line: String) {
        self.lines.lock().unwrap().push(line);
    }
}

#[mellea::plugin(name = "audit_log")]
impl AuditLog {
    #[hook("generation_post_call", mode = audit)]
    async fn succeeded(
        &self,
        payload: &GenerationPostCallPayload,
        ctx: &HookContext,
    ) -> HookResult {
        let id = ctx.generation_id().unwrap_or("?");
        self.append(format!("ok {id} in {:.0} ms", payload.latency_ms));
        Ok(HookAction::Continue)
    }

    #[hook("generation_error", mode = audit)]
    async fn failed(&self, payload: &GenerationErrorPayload, ctx: &HookContext) -> HookResult {
        let id = ctx.generation_id().unwrap_or("?");
        self.append(format!(
            "error {id}: {} ({})",
            payload.exception.message, payload.exception.error_type
        ));
        Ok(HookAction::Continue)
    }
}

/// One generation's token usage, as the usage recorder ships it.
#[derive(Clone, Debug, PartialEq)]
pub struct UsageRecord {
    /// Correlation id of the generation.
    pub generation_id: Option<String>,
    /// Its token counts.
    pub usage: Usage,
}

/// Ships token usage to a consumer task. FIRE_AND_FORGET: it runs after the generation
/// returned, on the final payload, and never delays the caller.
pub struct UsageRecorder {
    sink: UnboundedSender<UsageRecord>,
}

impl UsageRecorder {
    /// Sends one record per generation that reports usage to `sink`.
    pub fn new(sink: UnboundedSender<UsageRecord>) -> Self {
        UsageRecorder { sink }
    }
}

#[mellea::plugin(name = "usage_recorder")]
impl UsageRecorder {
    #[hook("generation_post_call", mode = fire_and_forget)]
    async fn record(&self, payload: &GenerationPostCallPayload, ctx: &HookContext) -> HookResult {
        let usage = payload
            .model_output
            .as_ref()
            .and_then(|output| output.usage);
        if let Some(usage) = usage {
            // A consumer that went away only loses records; the generation is unaffected.
            let _ = self.sink.send(UsageRecord {
                generation_id: ctx.generation_id().map(str::to_owned),
                usage,
            });
        }
        Ok(HookAction::Continue)
    }
}

/// The `max_tokens` a generation gets when it asks for none.
pub const DEFAULT_MAX_TOKENS: u64 = 512;

/// A handler needs no plugin type: `#[hook]` on a free function, registered with
/// `mellea::register(default_max_tokens_hook())`. Gives every generation that sets no
/// `max_tokens` a bound; TRANSFORM at priority 1, so later handlers see the bound.
#[mellea::hook("generation_pre_call", mode = transform, priority = 1)]
pub async fn default_max_tokens(
    payload: &GenerationPreCallPayload,
    _ctx: &HookContext,
) -> HookResult<GenerationPreCallPatch> {
    if payload.model_options.contains_key(model_option::MAX_TOKENS) {
        return Ok(HookAction::Continue);
    }
    let mut options = payload.model_options.clone();
    options.insert(model_option::MAX_TOKENS.into(), DEFAULT_MAX_TOKENS.into());
    Ok(HookAction::Modify(
        GenerationPreCallPatch::new().with_model_options(options),
    ))
}
