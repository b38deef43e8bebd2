//! One tool invocation, as `#[tool]` expansions drive it: `tool_pre_invoke` (whose patch may
//! replace the arguments), the body, and exactly one `tool_post_invoke` (whose patch may
//! replace the output) — also when the body fails, panics, or its future is dropped.

use std::any::Any;
use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt as _;
use opentelemetry::context::FutureExt as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ToolCall, ToolError};
use crate::__private::FromViolation;
use crate::generation::drive_detached;
use crate::hooks::{
    ErrorInfo, HookMask, HookType, Message, Object, Payload, ToolPostInvoke, ToolPostInvokePayload,
    ToolPreInvoke, ToolPreInvokePayload, is_internal_tool,
};
use crate::invocation::Invocation;
use crate::plugin::{BoxFuture, global, has_any_listener, has_listeners};

/// The hooks a tool invocation fires.
const TOOL_HOOKS: HookMask = HookMask::EMPTY
    .with(HookType::ToolPreInvoke)
    .with(HookType::ToolPostInvoke);

/// What a `#[tool]` knows of itself at compile time.
#[derive(Debug)]
pub struct ToolMeta {
    /// The tool's name.
    pub name: &'static str,
    /// Its doc comment.
    pub description: &'static str,
}

/// Runs `body` with `args` as one invocation of `tool`, for the model's call `call_id` if
/// there is one. When no plugin listens to the tool hooks this is one atomic load and the
/// body's own future.
pub async fn invoke<A, T, E, F, Fut>(
    tool: &'static ToolMeta,
    call_id: Option<String>,
    args: A,
    body: F,
) -> Result<T, E>
where
    A: Serialize + DeserializeOwned,
    T: Serialize + DeserializeOwned,
    E: Display + FromViolation,
    F: FnOnce(A) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    if !has_any_listener(TOOL_HOOKS) {
        return body(args).await;
    }
    // Boxed: the listened-to path's state stays out of the caller's future.
    Box::pin(listened(tool, call_id, args, body)).await
}

async fn listened<A, T, E, F, Fut>(
    tool: &'static ToolMeta,
    call_id: Option<String>,
    mut args: A,
    body: F,
) -> Result<T, E>
where
    A: Serialize + DeserializeOwned,
    T: Serialize + DeserializeOwned,
    E: Display + FromViolation,
    F: FnOnce(A) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let arguments = serde_json::to_string(&args).unwrap_or_else(|_| "{}".to_owned());
    let mut call = ToolCall::new(tool.name, arguments);
    call.id = call_id;
    let mut scope = ToolScope {
        live: Some(Live {
            invocation: Invocation::begin(),
            id: uuid::Uuid::new_v4().to_string(),
            tool,
            call: Object::new(call),
            started: Instant::now(),
        }),
    };
    if has_listeners(HookType::ToolPreInvoke) {
        let live = scope.live.as_mut().expect("live until ended");
        let payload = live.stamp(ToolPreInvokePayload {
            tool_invocation_id: live.id.clone(),
            tool_name: tool.name.to_owned(),
            tool_description: tool.description.to_owned(),
            tool_call_id: live.call_id(),
            model_tool_call: Some(live.call.clone()),
            is_control_flow: is_internal_tool(tool.name),
            ..Default::default()
        });
        match global()
            .dispatch::<ToolPreInvoke>(payload, live.invocation.hook_ctx())
            .await
        {
            Err(violation) => {
                let error = ErrorInfo::new("blocked", "PluginViolation", violation.to_string());
                scope.end(None, Some(error)).await;
                return Err(E::from_violation(violation));
            }
            Ok(dispatched) => {
                if let Some(patched) = dispatched.into_payload().model_tool_call
                    && !patched.ptr_eq(&live.call)
                {
                    args = live.take_patched_arguments(patched, args);
                }
            }
        }
    }
    let cx = scope.live.as_ref().expect("live").invocation.body_context();
    let result = AssertUnwindSafe(body(args).with_context(cx))
        .catch_unwind()
        .await;
    match result {
        Err(panic) => {
            scope
                .end(None, Some(ErrorInfo::panic(panic_message(&*panic))))
                .await;
            std::panic::resume_unwind(panic)
        }
        Ok(Err(error)) => {
            let type_name = crate::hooks::short_type_name(std::any::type_name::<E>());
            let info = ErrorInfo::new(type_name, type_name, error.to_string());
            scope.end(None, Some(info)).await;
            Err(error)
        }
        Ok(Ok(output)) => {
            let value = serde_json::to_value(&output).ok();
            match scope.end(value, None).await {
                Some(patched) => match serde_json::from_value::<T>(patched) {
                    Ok(patched) => Ok(patched),
                    Err(error) => {
                        tracing::warn!(
                            tool = tool.name,
                            "a tool_post_invoke patch replaced the output with a value that does \
                             not fit the tool's output type ({error}); the tool's own output is \
                             returned"
                        );
                        Ok(output)
                    }
                },
                None => Ok(output),
            }
        }
    }
}

/// One begun invocation.
struct Live {
    invocation: Invocation,
    id: String,
    tool: &'static ToolMeta,
    /// The call as it runs (after a pre-invoke patch): a [`ToolCall`].
    call: Object,
    started: Instant,
}

impl Live {
    fn stamp<P: Payload>(&self, mut payload: P) -> P {
        payload.base_mut().session_id = self.invocation.session.clone();
        payload
    }

    fn call_id(&self) -> Option<String> {
        self.call.downcast_ref::<ToolCall>()?.id.clone()
    }

    /// The arguments of a patched call, or `args` unchanged (with a warning) when the patch
    /// does not hold a [`ToolCall`] whose arguments fit.
    fn take_patched_arguments<A: DeserializeOwned>(&mut self, patched: Object, args: A) -> A {
        let parsed = match patched.downcast_ref::<ToolCall>() {
            Some(call) => call.arguments_json().and_then(serde_json::from_value::<A>),
            None => {
                tracing::warn!(
                    tool = self.tool.name,
                    "a tool_pre_invoke patch replaced the tool call with a `{}` rather than a \
                     `mellea::tools::ToolCall`; the original arguments are used",
                    patched.type_name()
                );
                return args;
            }
        };
        match parsed {
            Ok(patched_args) => {
                self.call = patched;
                patched_args
            }
            Err(error) => {
                tracing::warn!(
                    tool = self.tool.name,
                    "a tool_pre_invoke patch gave arguments that do not fit the tool's \
                     parameters ({error}); the original arguments are used"
                );
                args
            }
        }
    }

    /// The post-invoke firing, returning the patched output; `None` when nobody listens.
    fn post(
        self,
        output: Option<Value>,
        error: Option<ErrorInfo>,
    ) -> Option<BoxFuture<'static, Option<Value>>> {
        if !has_listeners(HookType::ToolPostInvoke) {
            return None;
        }
        let original = output.clone();
        let payload = self.stamp(ToolPostInvokePayload {
            tool_invocation_id: self.id.clone(),
            tool_name: self.tool.name.to_owned(),
            tool_description: self.tool.description.to_owned(),
            tool_call_id: self.call_id(),
            model_tool_call: Some(self.call.clone()),
            tool_output: output.map(Object::new),
            execution_time_ms: self
                .started
                .elapsed()
                .as_millis()
                .try_into()
                .unwrap_or(u64::MAX),
            success: error.is_none(),
            error,
            is_control_flow: is_internal_tool(self.tool.name),
            ..Default::default()
        });
        Some(Box::pin(async move {
            let ctx = self.invocation.hook_ctx();
            let output = match global().dispatch::<ToolPostInvoke>(payload, ctx).await {
                Ok(dispatched) => dispatched.into_payload().tool_output,
                Err(violation) => {
                    crate::plugin::ignore_late_block(&violation, "the tool call");
                    return None;
                }
            };
            let patched = output?.downcast_ref::<Value>().cloned();
            (patched != original).then_some(patched).flatten()
        }))
    }
}

/// Ends its invocation exactly once: by [`end`](Self::end), or when dropped before that.
struct ToolScope {
    live: Option<Live>,
}

impl ToolScope {
    async fn end(&mut self, output: Option<Value>, error: Option<ErrorInfo>) -> Option<Value> {
        let live = self.live.take()?;
        live.post(output, error)?.await
    }
}

impl Drop for ToolScope {
    fn drop(&mut self) {
        // Dropped before it ended: the caller stopped waiting.
        if let Some(live) = self.live.take()
            && let Some(firing) = live.post(None, Some(ErrorInfo::cancelled()))
        {
            drive_detached(Box::pin(firing.map(drop)), "a tool call");
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the tool panicked with a non-string payload".to_owned())
}

/// The arguments of `call` for `tool`.
pub fn parse_arguments<A: DeserializeOwned>(
    tool: &'static ToolMeta,
    call: &ToolCall,
) -> Result<A, ToolError> {
    if call.name != tool.name {
        return Err(ToolError::WrongTool {
            tool: tool.name.to_owned(),
            called: call.name.clone(),
        });
    }
    call.arguments_json()
        .and_then(serde_json::from_value)
        .map_err(|source| ToolError::InvalidArguments {
            tool: tool.name.to_owned(),
            source,
        })
}

/// The result of `call` as the `tool` message answering it: the output as JSON text (a string
/// output as itself).
pub fn result_message<T: Serialize, E: Display>(
    tool: &'static ToolMeta,
    call: &ToolCall,
    result: Result<T, E>,
) -> Result<Message, ToolError> {
    let output = result.map_err(|error| ToolError::Failed {
        tool: tool.name.to_owned(),
        message: error.to_string(),
    })?;
    let content = match serde_json::to_value(&output) {
        Ok(Value::String(text)) => text,
        Ok(value) => value.to_string(),
        Err(source) => {
            return Err(ToolError::Output {
                tool: tool.name.to_owned(),
                source,
            });
        }
    };
    Ok(Message::tool_result(
        call.id.clone().unwrap_or_default(),
        content,
    ))
}
