//! A plugin that records what generation hooks see, and optionally patches or blocks pre-call.
//!
//! Tests share the process-wide registry, so each registers its recorder for its own session
//! and runs its calls inside `in_session` with that id.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mellea_runtime::hooks::{
    ErrorInfo, GenerationBatchError, GenerationBatchPostCall, GenerationBatchPreCall,
    GenerationBatchPreCallPatch, GenerationError, GenerationPostCall, GenerationPreCall,
    GenerationPreCallPatch, ModelOptions, OutputView, Usage,
};
use mellea_runtime::plugin::{
    BackendInfo, BoxFuture, HookAction, HookContext, HookResult, Plugin, PluginHooks, PluginMode,
    Registration,
};

/// One hook firing.
#[derive(Clone, Debug)]
pub enum Fired {
    Pre {
        id: String,
        model: Option<String>,
        provider: Option<String>,
        stream: bool,
        model_options: ModelOptions,
        backend: Option<BackendInfo>,
    },
    Post {
        id: String,
        output: OutputView,
    },
    Error {
        id: String,
        error: ErrorInfo,
        partial: Option<OutputView>,
    },
    BatchPre {
        id: String,
        num_actions: u64,
        backend: Option<BackendInfo>,
    },
    BatchPost {
        id: String,
        outputs: Vec<OutputView>,
        usage: Option<Usage>,
    },
    BatchError {
        id: String,
        error: ErrorInfo,
    },
}

/// Unregisters a recorder when dropped (also when a test fails).
pub struct Registered(Registration);

impl Drop for Registered {
    fn drop(&mut self) {
        mellea_runtime::plugin::global().unregister(&self.0);
    }
}

/// Records every generation hook of its session.
#[derive(Default)]
pub struct Recorder {
    name: String,
    log: Mutex<Vec<Fired>>,
    pub patch: Option<GenerationPreCallPatch>,
    pub batch_patch: Option<GenerationBatchPreCallPatch>,
    pub block: Option<String>,
}

impl Recorder {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Registers for session `name` (the recorder's name) until the guard is dropped.
    pub fn register(self) -> (Arc<Recorder>, Registered) {
        let session = self.name.clone();
        let recorder = Arc::new(self);
        let registration = mellea_runtime::plugin::global()
            .register_for_session(session, recorder.clone())
            .expect("recorder names are unique per test");
        (recorder, Registered(registration))
    }

    pub fn fired(&self) -> Vec<Fired> {
        self.log.lock().unwrap().clone()
    }

    /// The single terminal firing (post-call or error), checking there is exactly one.
    pub fn terminal(&self) -> Fired {
        let terminals: Vec<Fired> = self
            .fired()
            .into_iter()
            .filter(|f| !matches!(f, Fired::Pre { .. } | Fired::BatchPre { .. }))
            .collect();
        assert_eq!(terminals.len(), 1, "one terminal hook: {terminals:#?}");
        terminals.into_iter().next().unwrap()
    }

    /// The error the error hook saw; fails if the generation did not end in one.
    pub fn error(&self) -> ErrorInfo {
        match self.terminal() {
            Fired::Error { error, .. } | Fired::BatchError { error, .. } => error,
            other => panic!("expected an error hook, got {other:#?}"),
        }
    }

    /// The output the post-call hook saw; fails if the generation did not succeed.
    pub fn output(&self) -> OutputView {
        match self.terminal() {
            Fired::Post { output, .. } => output,
            other => panic!("expected a post-call hook, got {other:#?}"),
        }
    }

    fn push(&self, fired: Fired) {
        self.log.lock().unwrap().push(fired);
    }
}

fn id(ctx: &HookContext) -> String {
    ctx.generation_id().unwrap_or_default().to_owned()
}

fn done<P: Send + 'static>() -> BoxFuture<'static, HookResult<P>> {
    Box::pin(async { Ok(HookAction::Continue) })
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
                    id: id(ctx),
                    model: ctx.model().map(str::to_owned),
                    provider: ctx.provider().map(str::to_owned),
                    stream: p.stream,
                    model_options: p.model_options.clone(),
                    backend: ctx.backend().cloned(),
                });
                let action = match (&this.block, &this.patch) {
                    (Some(reason), _) => HookAction::Block(
                        mellea_runtime::plugin::Violation::new(reason.clone()).with_code("TEST"),
                    ),
                    (None, Some(patch)) => HookAction::Modify(patch.clone()),
                    (None, None) => HookAction::Continue,
                };
                Box::pin(async move { Ok(action) })
            },
        );
        hooks.method::<GenerationPostCall, _, _>(
            PluginMode::Sequential,
            None,
            self.clone(),
            |this, p, ctx| {
                this.push(Fired::Post {
                    id: id(ctx),
                    output: p.model_output.clone().unwrap_or_default(),
                });
                done()
            },
        );
        hooks.method::<GenerationError, _, _>(
            PluginMode::Sequential,
            None,
            self.clone(),
            |this, p, ctx| {
                this.push(Fired::Error {
                    id: id(ctx),
                    error: p.exception.clone(),
                    partial: p.model_output.clone(),
                });
                done()
            },
        );
        hooks.method::<GenerationBatchPreCall, _, _>(
            PluginMode::Sequential,
            None,
            self.clone(),
            |this, p, ctx| {
                this.push(Fired::BatchPre {
                    id: id(ctx),
                    num_actions: p.num_actions,
                    backend: ctx.backend().cloned(),
                });
                let action = this
                    .batch_patch
                    .clone()
                    .map_or(HookAction::Continue, HookAction::Modify);
                Box::pin(async move { Ok(action) })
            },
        );
        hooks.method::<GenerationBatchPostCall, _, _>(
            PluginMode::Sequential,
            None,
            self.clone(),
            |this, p, ctx| {
                this.push(Fired::BatchPost {
                    id: id(ctx),
                    outputs: p.model_outputs.clone(),
                    usage: p.usage,
                });
                done()
            },
        );
        hooks.method::<GenerationBatchError, _, _>(
            PluginMode::Sequential,
            None,
            self,
            |this, p, ctx| {
                this.push(Fired::BatchError {
                    id: id(ctx),
                    error: p.exception.clone(),
                });
                done()
            },
        );
    }
}

/// A short timeout for tests that make the server stall (long enough that a loaded machine
/// still delivers what the server does send in time).
pub const SHORT_TIMEOUT: Duration = Duration::from_secs(1);
