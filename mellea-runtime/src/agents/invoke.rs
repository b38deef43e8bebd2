//! One agent invocation, as `#[agent]` expansions drive it.

use std::any::Any;
use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt as _;
use opentelemetry::context::FutureExt as _;
use serde_json::Value;

use crate::__private::FromViolation;
use crate::generation::drive_detached;
use crate::hooks::{
    ComponentPostError, ComponentPostErrorPayload, ComponentPostSuccess,
    ComponentPostSuccessPayload, ComponentPreExecute, ComponentPreExecutePayload, ErrorInfo,
    HookMask, HookType, Object, Payload, short_type_name,
};
use crate::invocation::Invocation;
use crate::plugin::{BoxFuture, global, has_any_listener, has_listeners};
use crate::session;

/// The hooks an agent invocation fires.
const COMPONENT_HOOKS: HookMask = HookMask::EMPTY
    .with(HookType::ComponentPreExecute)
    .with(HookType::ComponentPostSuccess)
    .with(HookType::ComponentPostError);

/// The `component_type` of an agent invocation.
pub const AGENT_COMPONENT_TYPE: &str = "Agent";

/// What an `#[agent]` knows of itself at compile time.
#[derive(Debug)]
pub struct AgentMeta {
    /// The agent's name.
    pub name: &'static str,
    /// Its id, when given.
    pub id: Option<&'static str>,
    /// Its doc comment.
    pub description: &'static str,
}

/// Whether any plugin listens to the component hooks: the expansion captures the agent's
/// input only then.
#[inline]
pub fn agent_listening() -> bool {
    has_any_listener(COMPONENT_HOOKS)
}

/// Runs `body` as one invocation of `agent`, in the caller's session or a fresh one.
/// `input` is the agent's arguments as JSON (captured only while someone listens); `output`
/// reads the result as JSON when it can.
pub async fn invoke<T, E, Fut, O>(
    agent: &'static AgentMeta,
    input: Option<Value>,
    body: Fut,
    output: O,
) -> Result<T, E>
where
    E: Display + FromViolation,
    Fut: Future<Output = Result<T, E>>,
    O: FnOnce(&T) -> Option<Value>,
{
    match session::current_session_id() {
        Some(_) => run(agent, input, body, output).await,
        None => {
            let conversation: Arc<str> = uuid::Uuid::new_v4().to_string().into();
            session::in_session(conversation, run(agent, input, body, output)).await
        }
    }
}

async fn run<T, E, Fut, O>(
    agent: &'static AgentMeta,
    input: Option<Value>,
    body: Fut,
    output: O,
) -> Result<T, E>
where
    E: Display + FromViolation,
    Fut: Future<Output = Result<T, E>>,
    O: FnOnce(&T) -> Option<Value>,
{
    if !agent_listening() {
        return body.await;
    }
    let mut scope = AgentScope {
        live: Some(Live {
            invocation: Invocation::begin(),
            id: uuid::Uuid::new_v4().to_string(),
            agent,
            input: input.map(Object::new),
            started: Instant::now(),
        }),
    };
    if has_listeners(HookType::ComponentPreExecute) {
        let live = scope.live.as_ref().expect("live until ended");
        let payload = live.stamp(ComponentPreExecutePayload {
            action_id: live.id.clone(),
            component_type: AGENT_COMPONENT_TYPE.to_owned(),
            agent_name: Some(agent.name.to_owned()),
            agent_id: agent.id.map(str::to_owned),
            agent_description: Some(agent.description.to_owned()).filter(|d| !d.is_empty()),
            action: live.input.clone(),
            ..Default::default()
        });
        let dispatch =
            global().dispatch::<ComponentPreExecute>(payload, live.invocation.hook_ctx());
        if let Err(violation) = dispatch.await {
            let error = ErrorInfo::new("blocked", "PluginViolation", violation.to_string());
            scope.end(Err(error)).await;
            return Err(E::from_violation(violation));
        }
    }
    let cx = scope.live.as_ref().expect("live").invocation.body_context();
    let result = AssertUnwindSafe(body.with_context(cx)).catch_unwind().await;
    match result {
        Err(panic) => {
            scope
                .end(Err(ErrorInfo::panic(panic_message(&*panic))))
                .await;
            std::panic::resume_unwind(panic)
        }
        Ok(Err(error)) => {
            let type_name = short_type_name(std::any::type_name::<E>());
            scope
                .end(Err(ErrorInfo::new(type_name, type_name, error.to_string())))
                .await;
            Err(error)
        }
        Ok(Ok(value)) => {
            scope.end(Ok(output(&value))).await;
            Ok(value)
        }
    }
}

struct Live {
    invocation: Invocation,
    id: String,
    agent: &'static AgentMeta,
    input: Option<Object>,
    started: Instant,
}

impl Live {
    fn stamp<P: Payload>(&self, mut payload: P) -> P {
        payload.base_mut().session_id = self.invocation.session.clone();
        payload
    }

    fn latency_ms(&self) -> u64 {
        self.started
            .elapsed()
            .as_millis()
            .try_into()
            .unwrap_or(u64::MAX)
    }

    /// The end hook for `outcome` (the output as JSON, or the error), or nothing to fire.
    fn end(self, outcome: Result<Option<Value>, ErrorInfo>) -> Option<BoxFuture<'static, ()>> {
        let agent = self.agent;
        match outcome {
            Ok(output) => {
                if !has_listeners(HookType::ComponentPostSuccess) {
                    return None;
                }
                let payload = self.stamp(ComponentPostSuccessPayload {
                    action_id: self.id.clone(),
                    component_type: AGENT_COMPONENT_TYPE.to_owned(),
                    agent_name: Some(agent.name.to_owned()),
                    agent_id: agent.id.map(str::to_owned),
                    agent_description: Some(agent.description.to_owned()).filter(|d| !d.is_empty()),
                    action: self.input.clone(),
                    result: output.map(Object::new),
                    latency_ms: self.latency_ms(),
                    ..Default::default()
                });
                Some(Box::pin(async move {
                    let ctx = self.invocation.hook_ctx();
                    if let Err(violation) = global()
                        .dispatch::<ComponentPostSuccess>(payload, ctx)
                        .await
                    {
                        crate::plugin::ignore_late_block(&violation, "the agent invocation");
                    }
                }))
            }
            Err(error) => {
                if !has_listeners(HookType::ComponentPostError) {
                    return None;
                }
                let payload = self.stamp(ComponentPostErrorPayload {
                    action_id: self.id.clone(),
                    component_type: AGENT_COMPONENT_TYPE.to_owned(),
                    agent_name: Some(agent.name.to_owned()),
                    agent_id: agent.id.map(str::to_owned),
                    agent_description: Some(agent.description.to_owned()).filter(|d| !d.is_empty()),
                    action: self.input.clone(),
                    error_type: error.error_type.clone(),
                    error: Some(error),
                    ..Default::default()
                });
                Some(Box::pin(async move {
                    let ctx = self.invocation.hook_ctx();
                    if let Err(violation) =
                        global().dispatch::<ComponentPostError>(payload, ctx).await
                    {
                        crate::plugin::ignore_late_block(&violation, "the agent invocation");
                    }
                }))
            }
        }
    }
}

/// Ends its invocation exactly once: by [`end`](Self::end), or when dropped before that.
struct AgentScope {
    live: Option<Live>,
}

impl AgentScope {
    async fn end(&mut self, outcome: Result<Option<Value>, ErrorInfo>) {
        if let Some(firing) = self.live.take().and_then(|live| live.end(outcome)) {
            firing.await;
        }
    }
}

impl Drop for AgentScope {
    fn drop(&mut self) {
        // Dropped before it ended: the caller stopped waiting.
        if let Some(firing) = self
            .live
            .take()
            .and_then(|live| live.end(Err(ErrorInfo::cancelled())))
        {
            drive_detached(firing, "an agent invocation");
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the agent panicked with a non-string payload".to_owned())
}
