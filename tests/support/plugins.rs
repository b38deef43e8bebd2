//! Helpers shared by the behaviour tests: handlers that record what they saw.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use mellea::hooks::{
    SessionPostInit, SessionPostInitPayload, SessionPreInit, SessionPreInitPatch,
    SessionPreInitPayload,
};
use mellea::plugin::{
    Dispatched, HookAction, HookContext, HookFn, HookResult, Plugin, PluginHooks, PluginMode,
    PluginRegistry,
};

/// An ordered record of handler names (and whatever they append).
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }

    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// The payload most reference tests dispatch: `SessionPreInitPayload(backend_name, model_id)`.
pub fn pre_init(backend_name: &str, model_id: &str) -> SessionPreInitPayload {
    let mut payload = SessionPreInitPayload::default();
    payload.backend_name = backend_name.to_owned();
    payload.model_id = model_id.to_owned();
    payload
}

/// A `session_pre_init` handler that logs its name and then returns what `respond` builds
/// from the payload it saw.
pub fn recorder(
    name: &str,
    log: &Log,
    mode: PluginMode,
    respond: impl Fn(&SessionPreInitPayload) -> HookResult<SessionPreInitPatch> + Send + Sync + 'static,
) -> HookFn {
    let log = log.clone();
    let entry = name.to_owned();
    HookFn::new::<SessionPreInit, _>(name, move |payload, _ctx| {
        log.push(entry.clone());
        let result = respond(payload);
        Box::pin(async move { result })
    })
    .with_mode(mode)
}

/// A handler that only logs its name.
pub fn logging(name: &str, log: &Log, mode: PluginMode) -> HookFn {
    recorder(name, log, mode, |_| Ok(HookAction::Continue))
}

pub fn block(reason: &str) -> HookResult<SessionPreInitPatch> {
    Ok(HookAction::Block(mellea::Violation::new(reason)))
}

pub fn block_with_code(reason: &str, code: &str) -> HookResult<SessionPreInitPatch> {
    Ok(HookAction::Block(
        mellea::Violation::new(reason).with_code(code),
    ))
}

pub fn set_model(model_id: &str) -> HookResult<SessionPreInitPatch> {
    Ok(HookAction::Modify(
        SessionPreInitPatch::new().with_model_id(model_id.to_owned()),
    ))
}

/// A `session_pre_init` handler that waits `delay` (on tokio's clock), logs its name and then
/// returns what `respond` builds.
pub fn delayed(
    name: &str,
    log: &Log,
    mode: PluginMode,
    delay: std::time::Duration,
    respond: impl Fn() -> HookResult<SessionPreInitPatch> + Send + Sync + 'static,
) -> HookFn {
    let log = log.clone();
    let entry = name.to_owned();
    let respond = Arc::new(respond);
    HookFn::new::<SessionPreInit, _>(name, move |_payload, _ctx| {
        let log = log.clone();
        let entry = entry.clone();
        let respond = respond.clone();
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            log.push(entry);
            respond()
        })
    })
    .with_mode(mode)
}

/// A hand-written plugin (what `#[mellea::plugin]` will generate) whose `session_pre_init`
/// and `session_post_init` handlers log the plugin's name.
pub struct LogPlugin {
    pub name: String,
    pub priority: i32,
    pub log: Log,
    /// `(mode, own priority)` of each `session_pre_init` handler to declare.
    pub pre_init: Vec<(PluginMode, Option<i32>)>,
    /// Whether to also declare a `session_post_init` handler.
    pub post_init: bool,
}

impl LogPlugin {
    /// A plugin with one SEQUENTIAL `session_pre_init` handler of its default priority.
    pub fn new(name: &str, priority: i32, log: &Log) -> Self {
        Self {
            name: name.to_owned(),
            priority,
            log: log.clone(),
            pre_init: vec![(PluginMode::Sequential, None)],
            post_init: false,
        }
    }

    async fn record(&self) -> HookResult<SessionPreInitPatch> {
        self.log.push(self.name.clone());
        Ok(HookAction::Continue)
    }

    async fn record_post_init(&self) -> HookResult {
        self.log.push(format!("{}:post_init", self.name));
        Ok(HookAction::Continue)
    }
}

impl Plugin for LogPlugin {
    fn name(&self) -> &str {
        &self.name
    }

    fn priority(&self) -> i32 {
        self.priority
    }

    fn hooks(self: Arc<Self>, hooks: &mut PluginHooks) {
        for (mode, priority) in self.pre_init.clone() {
            hooks.method::<SessionPreInit, _, _>(mode, priority, self.clone(), |this, _p, _c| {
                Box::pin(this.record())
            });
        }
        if self.post_init {
            hooks.method::<SessionPostInit, _, _>(
                PluginMode::Sequential,
                None,
                self.clone(),
                |this, _p, _c| Box::pin(this.record_post_init()),
            );
        }
    }
}

/// Dispatches `session_pre_init` with a default context.
pub async fn dispatch_pre_init(
    registry: &PluginRegistry,
    payload: SessionPreInitPayload,
) -> Result<Dispatched<SessionPreInitPayload>, mellea::PluginViolation> {
    registry
        .dispatch::<SessionPreInit>(payload, HookContext::new())
        .await
}

/// Dispatches `session_post_init` with a default context.
pub async fn dispatch_post_init(
    registry: &PluginRegistry,
) -> Result<Dispatched<SessionPostInitPayload>, mellea::PluginViolation> {
    registry
        .dispatch::<SessionPostInit>(SessionPostInitPayload::default(), HookContext::new())
        .await
}
