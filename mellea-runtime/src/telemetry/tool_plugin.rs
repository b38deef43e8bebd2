//! `ToolTracingPlugin`: one `execute_tool {gen_ai.tool.name}` span per `#[tool]` run.

use std::sync::Arc;

use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracer;
use serde_json::Value;

use super::attributes::truncate_content;
use super::invocation_span::{self, invocation_plugin_builder};
use super::observe::observe;
use super::semconv;
use super::viewer_hints::ViewerHints;
use crate::hooks::{ToolPostInvoke, ToolPostInvokePayload, ToolPreInvoke, ToolPreInvokePayload};
use crate::plugin::{HookContext, Plugin, PluginHooks, PluginMode};
use crate::tools::ToolCall;

/// Emits one span per tool call: name `execute_tool {gen_ai.tool.name}`, kind INTERNAL, child
/// of the caller's span (the `invoke_agent` span inside an agent), with
/// `gen_ai.operation.name = execute_tool`, `gen_ai.tool.name`, `gen_ai.tool.type`,
/// `gen_ai.tool.call.id` (when the model's call has one), `gen_ai.tool.description` and
/// `gen_ai.conversation.id` (the session). With content capture on it adds
/// `gen_ai.tool.call.arguments` and `gen_ai.tool.call.result`; a failure sets status ERROR,
/// `error.type` and an `exception` event.
///
/// SEQUENTIAL handlers with priority [`PRIORITY`](Self::PRIORITY) (1040, as the backend
/// tracing plugin): after user plugins, so the span records the patched arguments and output.
/// [`Telemetry`](super::Telemetry) registers it next to the backend tracing plugin.
pub struct ToolTracingPlugin {
    name: String,
    instance: u64,
    tracer: SdkTracer,
    capture_content: bool,
    content_limit: usize,
    hints: ViewerHints,
}

invocation_plugin_builder!(
    ToolTracingPlugin,
    name = "tool_tracing",
    captures = "Records the arguments and result of each call (may contain PII)."
);

impl ToolTracingPlugin {
    fn on_pre(&self, payload: &ToolPreInvokePayload, ctx: &HookContext) {
        let mut attributes = vec![
            KeyValue::new(
                semconv::GEN_AI_OPERATION_NAME,
                semconv::OPERATION_EXECUTE_TOOL,
            ),
            KeyValue::new(semconv::GEN_AI_TOOL_NAME, payload.tool_name.clone()),
            KeyValue::new(semconv::GEN_AI_TOOL_TYPE, semconv::TOOL_TYPE_FUNCTION),
        ];
        if let Some(id) = &payload.tool_call_id {
            attributes.push(KeyValue::new(semconv::GEN_AI_TOOL_CALL_ID, id.clone()));
        }
        if !payload.tool_description.is_empty() {
            attributes.push(KeyValue::new(
                semconv::GEN_AI_TOOL_DESCRIPTION,
                payload.tool_description.clone(),
            ));
        }
        if let Some(session) = &payload.base.session_id {
            attributes.push(KeyValue::new(
                semconv::GEN_AI_CONVERSATION_ID,
                opentelemetry::Value::String(Arc::clone(session).into()),
            ));
        }
        attributes.extend(self.hints.kind("TOOL"));
        let name = format!("{} {}", semconv::OPERATION_EXECUTE_TOOL, payload.tool_name);
        invocation_span::start(ctx, self.instance, &self.tracer, name, attributes);
    }

    fn on_post(&self, payload: &ToolPostInvokePayload, ctx: &HookContext) {
        let mut attributes = Vec::new();
        if self.capture_content {
            let call = payload
                .model_tool_call
                .as_ref()
                .and_then(|call| call.downcast_ref::<ToolCall>());
            if let Some(call) = call {
                let arguments = truncate_content(call.arguments.clone(), self.content_limit);
                attributes.extend(self.hints.value("input.value", arguments.clone(), true));
                attributes.push(KeyValue::new(
                    semconv::GEN_AI_TOOL_CALL_ARGUMENTS,
                    arguments,
                ));
            }
            let output = payload
                .tool_output
                .as_ref()
                .and_then(|output| output.downcast_ref::<Value>());
            if let Some(output) = output {
                let result = truncate_content(output.to_string(), self.content_limit);
                attributes.extend(self.hints.value("output.value", result.clone(), true));
                attributes.push(KeyValue::new(semconv::GEN_AI_TOOL_CALL_RESULT, result));
            }
        }
        invocation_span::end(
            ctx,
            self.instance,
            attributes,
            payload.error.as_ref(),
            self.capture_content,
            self.content_limit,
        );
    }
}

impl Plugin for ToolTracingPlugin {
    fn name(&self) -> &str {
        &self.name
    }

    fn priority(&self) -> i32 {
        Self::PRIORITY
    }

    fn hooks(self: Arc<Self>, hooks: &mut PluginHooks) {
        let mode = PluginMode::Sequential;
        observe::<ToolPreInvoke, _>(hooks, mode, &self, Self::on_pre);
        observe::<ToolPostInvoke, _>(hooks, mode, &self, Self::on_post);
    }
}
