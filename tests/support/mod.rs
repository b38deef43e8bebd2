//! Helpers shared by the behaviour tests: handlers that record what they saw.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use mellea::hooks::{SessionPreInit, SessionPreInitPatch, SessionPreInitPayload};
use mellea::plugin::{HookAction, HookFn, HookResult, PluginMode};

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

pub fn set_model(model_id: &str) -> HookResult<SessionPreInitPatch> {
    Ok(HookAction::Modify(
        SessionPreInitPatch::new().with_model_id(model_id.to_owned()),
    ))
}
