//! A deterministic in-process backend written with `#[backend]`, and a plugin that records
//! every generation hook, for the generation behaviour tests.
//!
//! Tests share the process-wide registry, so each test runs its generations inside its own
//! session (`mellea::session::in_session`) and registers its recorder for that session only.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream;
use mellea::PluginViolation;
use mellea::generation::{
    BackendIdentity, BatchGenerationRequest, ChunkStream, GenerationRequest, ServerAddress,
};
use mellea::hooks::{
    ErrorInfo, GenerationBatchError, GenerationBatchPostCall, GenerationBatchPreCall,
    GenerationBatchPreCallPatch, GenerationError, GenerationEvent, GenerationOutput,
    GenerationPostCall, GenerationPreCall, GenerationPreCallPatch, Usage,
};
use mellea::plugin::{HookAction, HookResult, Plugin, PluginHooks, PluginMode};

/// What the echo backend was asked, as its body saw it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Seen {
    pub model_options: mellea::hooks::ModelOptions,
    pub format: Option<String>,
    pub tool_calls: bool,
}

#[derive(Debug)]
pub enum EchoError {
    Blocked(PluginViolation),
    Failed(String),
}

impl std::fmt::Display for EchoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EchoError::Blocked(v) => write!(f, "{v}"),
            EchoError::Failed(m) => write!(f, "echo failed: {m}"),
        }
    }
}

impl std::error::Error for EchoError {}

impl From<PluginViolation> for EchoError {
    fn from(v: PluginViolation) -> Self {
        EchoError::Blocked(v)
    }
}

#[derive(Clone, Debug)]
pub struct Reply {
    pub text: String,
    pub seen: Seen,
}

impl GenerationOutput for Reply {
    fn usage(&self) -> Option<Usage> {
        Some(Usage::new(3, self.text.split_whitespace().count() as u64))
    }
    fn response_model(&self) -> Option<&str> {
        Some("echo-1")
    }
    fn response_id(&self) -> Option<&str> {
        Some("resp-1")
    }
    fn finish_reasons(&self) -> Vec<String> {
        vec!["stop".into()]
    }
    fn text(&self) -> Option<&str> {
        Some(&self.text)
    }
}

/// Echoes the last message. Model options steer it: `sleep_ms` (wait first), `fail` (return
/// an error), `panic` (panic in the body), `hang` (never finish), `chunks` (stream: number of chunks), `fail_at`
/// (stream: error instead of that chunk).
pub struct Echo {
    pub model: String,
    pub calls: Arc<Mutex<u32>>,
}

impl Echo {
    pub fn new() -> Self {
        Self {
            model: "echo-model".into(),
            calls: Arc::default(),
        }
    }

    pub fn calls(&self) -> u32 {
        *self.calls.lock().unwrap()
    }
}

impl BackendIdentity for Echo {
    fn model_id(&self) -> &str {
        &self.model
    }
    fn server(&self) -> Option<ServerAddress<'_>> {
        Some(ServerAddress {
            host: "echo.local",
            port: 8080,
        })
    }
}

fn option_u64(request: &GenerationRequest, key: &str) -> Option<u64> {
    request.model_options.get(key).and_then(|v| v.as_u64())
}

#[mellea::backend(provider = "echo")]
impl Echo {
    #[mellea::generation_hook(chat)]
    pub async fn generate(&self, request: GenerationRequest) -> Result<Reply, EchoError> {
        *self.calls.lock().unwrap() += 1;
        if let Some(ms) = option_u64(&request, "sleep_ms") {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if request.model_options.contains_key("hang") {
            std::future::pending::<()>().await;
        }
        if request.model_options.contains_key("panic") {
            panic!("echo body panicked on purpose");
        }
        if request.model_options.contains_key("fail") {
            return Err(EchoError::Failed("asked to fail".into()));
        }
        let text = request
            .messages
            .last()
            .map(|m| m.content.clone())
            .unwrap_or_default();
        Ok(Reply {
            text,
            seen: Seen {
                model_options: request.model_options.clone(),
                format: request.format.as_ref().map(|f| f.name.clone()),
                tool_calls: request.tool_calls,
            },
        })
    }

    #[mellea::generation_hook(batch)]
    pub async fn generate_batch(
        &self,
        request: BatchGenerationRequest,
    ) -> Result<Vec<Reply>, EchoError> {
        *self.calls.lock().unwrap() += 1;
        if request.model_options.contains_key("fail") {
            return Err(EchoError::Failed("batch asked to fail".into()));
        }
        let seen = Seen {
            model_options: request.model_options.clone(),
            format: request.format.as_ref().map(|f| f.name.clone()),
            tool_calls: request.tool_calls,
        };
        Ok(request
            .prompts
            .iter()
            .map(|p| Reply {
                text: format!("{p} ok"),
                seen: seen.clone(),
            })
            .collect())
    }

    #[mellea::generation_hook(stream)]
    pub async fn generate_stream(
        &self,
        request: GenerationRequest,
    ) -> Result<ChunkStream<'static, String, EchoError>, EchoError> {
        *self.calls.lock().unwrap() += 1;
        let chunks = option_u64(&request, "chunks").unwrap_or(3);
        let fail_at = option_u64(&request, "fail_at");
        let items = (0..chunks).map(move |i| {
            if Some(i) == fail_at {
                Err(EchoError::Failed(format!("stream cut at chunk {i}")))
            } else {
                Ok(format!("c{i} "))
            }
        });
        Ok(Box::pin(stream::iter(items.collect::<Vec<_>>())))
    }
}

/// One recorded hook firing.
#[derive(Clone, Debug)]
pub enum Fired {
    Pre {
        id: String,
        model: Option<String>,
        provider: Option<String>,
        stream: bool,
        session: Option<String>,
    },
    Post {
        id: String,
        latency_ms: f64,
        usage: Option<Usage>,
        text: Option<String>,
        ttfc: Option<Duration>,
        finish: Vec<String>,
    },
    Error {
        id: String,
        error: ErrorInfo,
        partial_text: Option<String>,
    },
    Event {
        id: String,
        name: String,
        data: mellea::hooks::JsonMap,
    },
    BatchPre {
        id: String,
        num_actions: u64,
    },
    BatchPost {
        id: String,
        outputs: usize,
        usage: Option<Usage>,
    },
    BatchError {
        id: String,
        error: ErrorInfo,
    },
}

impl Fired {
    pub fn id(&self) -> &str {
        match self {
            Fired::Pre { id, .. }
            | Fired::Post { id, .. }
            | Fired::Error { id, .. }
            | Fired::Event { id, .. }
            | Fired::BatchPre { id, .. }
            | Fired::BatchPost { id, .. }
            | Fired::BatchError { id, .. } => id,
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Fired::Post { .. }
                | Fired::Error { .. }
                | Fired::BatchPost { .. }
                | Fired::BatchError { .. }
        )
    }
}

/// Records every generation hook; optionally patches or blocks pre-call.
#[derive(Clone, Default)]
pub struct Recorder {
    pub name: String,
    pub log: Arc<Mutex<Vec<Fired>>>,
    pub patch: Option<GenerationPreCallPatch>,
    pub batch_patch: Option<GenerationBatchPreCallPatch>,
    pub block: Option<String>,
}

impl Recorder {
    pub fn named(name: &str) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    pub fn fired(&self) -> Vec<Fired> {
        self.log.lock().unwrap().clone()
    }

    fn push(&self, fired: Fired) {
        self.log.lock().unwrap().push(fired);
    }
}

fn continue_or<P>(patch: Option<P>) -> HookResult<P> {
    Ok(patch.map_or(HookAction::Continue, HookAction::Modify))
}

impl Plugin for Recorder {
    fn name(&self) -> &str {
        &self.name
    }

    fn hooks(self: Arc<Self>, hooks: &mut PluginHooks) {
        hooks.method::<GenerationPreCall, _, _>(
            PluginMode::Sequential,
            None,
            self.clone(),
            |this, p, ctx| {
                this.push(Fired::Pre {
                    id: ctx.generation_id().unwrap_or_default().to_owned(),
                    model: ctx.model().map(str::to_owned),
                    provider: ctx.provider().map(str::to_owned),
                    stream: p.stream,
                    session: ctx.session_id().map(str::to_owned),
                });
                let result = match &this.block {
                    Some(reason) => Ok(HookAction::Block(
                        mellea::Violation::new(reason.clone()).with_code("TEST"),
                    )),
                    None => continue_or(this.patch.clone()),
                };
                Box::pin(async move { result })
            },
        );
        hooks.method::<GenerationPostCall, _, _>(
            PluginMode::Sequential,
            None,
            self.clone(),
            |this, p, ctx| {
                let view = p.model_output.clone().unwrap_or_default();
                this.push(Fired::Post {
                    id: ctx.generation_id().unwrap_or_default().to_owned(),
                    latency_ms: p.latency_ms,
                    usage: view.usage,
                    text: view.text.clone(),
                    ttfc: view.time_to_first_chunk,
                    finish: view.finish_reasons.clone(),
                });
                Box::pin(async { Ok(HookAction::Continue) })
            },
        );
        hooks.method::<GenerationError, _, _>(
            PluginMode::Sequential,
            None,
            self.clone(),
            |this, p, ctx| {
                this.push(Fired::Error {
                    id: ctx.generation_id().unwrap_or_default().to_owned(),
                    error: p.exception.clone(),
                    partial_text: p.model_output.as_ref().and_then(|v| v.text.clone()),
                });
                Box::pin(async { Ok(HookAction::Continue) })
            },
        );
        hooks.method::<GenerationEvent, _, _>(
            PluginMode::Sequential,
            None,
            self.clone(),
            |this, p, ctx| {
                this.push(Fired::Event {
                    id: ctx.generation_id().unwrap_or_default().to_owned(),
                    name: p.event_name.clone(),
                    data: p.data.clone(),
                });
                Box::pin(async { Ok(HookAction::Continue) })
            },
        );
        hooks.method::<GenerationBatchPreCall, _, _>(
            PluginMode::Sequential,
            None,
            self.clone(),
            |this, p, ctx| {
                this.push(Fired::BatchPre {
                    id: ctx.generation_id().unwrap_or_default().to_owned(),
                    num_actions: p.num_actions,
                });
                let result = continue_or(this.batch_patch.clone());
                Box::pin(async move { result })
            },
        );
        hooks.method::<GenerationBatchPostCall, _, _>(
            PluginMode::Sequential,
            None,
            self.clone(),
            |this, p, ctx| {
                this.push(Fired::BatchPost {
                    id: ctx.generation_id().unwrap_or_default().to_owned(),
                    outputs: p.model_outputs.len(),
                    usage: p.usage,
                });
                Box::pin(async { Ok(HookAction::Continue) })
            },
        );
        hooks.method::<GenerationBatchError, _, _>(
            PluginMode::Sequential,
            None,
            self,
            |this, p, ctx| {
                this.push(Fired::BatchError {
                    id: ctx.generation_id().unwrap_or_default().to_owned(),
                    error: p.exception.clone(),
                });
                Box::pin(async { Ok(HookAction::Continue) })
            },
        );
    }
}

/// Registers `recorder` for `session` and returns it with its registration guard.
pub fn record_session(
    session: &str,
    recorder: Recorder,
) -> (Arc<Recorder>, mellea::plugin::Registration) {
    let recorder = Arc::new(recorder);
    let registration =
        mellea::register_for_session(session, recorder.clone()).expect("recorder registers");
    (recorder, registration)
}

/// Checks that every generation in `fired` ended exactly once, and returns how many there were.
pub fn assert_each_ended_once(fired: &[Fired]) -> usize {
    let mut ids: Vec<&str> = fired.iter().map(Fired::id).collect();
    ids.sort();
    ids.dedup();
    for id in &ids {
        let terminals = fired
            .iter()
            .filter(|f| f.id() == *id && f.is_terminal())
            .count();
        assert_eq!(
            terminals, 1,
            "generation {id} ended {terminals} times: {fired:?}"
        );
    }
    ids.len()
}
