//! `AgentTracingPlugin`: one `invoke_agent {gen_ai.agent.name}` span per `#[agent]` call.

use std::sync::Arc;

use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracer;
use serde_json::{Value, json};

use super::attributes::truncate_content;
use super::invocation_span::{self, invocation_plugin_builder};
use super::observe::observe;
use super::semconv;
use super::viewer_hints::ViewerHints;
use crate::hooks::{
    ComponentPostError, ComponentPostErrorPayload, ComponentPostSuccess,
    ComponentPostSuccessPayload, ComponentPreExecute, ComponentPreExecutePayload, Object,
};
use crate::plugin::{HookContext, Plugin, PluginHooks, PluginMode};

/// Emits one span per agent invocation: name `invoke_agent {gen_ai.agent.name}`, kind
/// INTERNAL (the agent runs in process), with `gen_ai.operation.name = invoke_agent`,
/// `gen_ai.agent.name`, `gen_ai.agent.id` (when given), `gen_ai.agent.description` and
/// `gen_ai.conversation.id`. The invocation's body runs under the span, so its chat and
/// `execute_tool` spans are children. With content capture on it adds
/// `gen_ai.input.messages` (the agent's serializable arguments as one user message) and
/// `gen_ai.output.messages` (its result as one assistant message).
///
/// Component executions that are not agents are not traced. SEQUENTIAL handlers with
/// priority [`PRIORITY`](Self::PRIORITY) (1040).
pub struct AgentTracingPlugin {
    name: String,
    instance: u64,
    tracer: SdkTracer,
    capture_content: bool,
    content_limit: usize,
    hints: ViewerHints,
}

invocation_plugin_builder!(
    AgentTracingPlugin,
    name = "agent_tracing",
    captures = "Records the agent's input and output messages (may contain PII)."
);

impl AgentTracingPlugin {
    fn on_pre(&self, payload: &ComponentPreExecutePayload, ctx: &HookContext) {
        let Some(name) = &payload.agent_name else {
            return;
        };
        let mut attributes = vec![
            KeyValue::new(
                semconv::GEN_AI_OPERATION_NAME,
                semconv::OPERATION_INVOKE_AGENT,
            ),
            KeyValue::new(semconv::GEN_AI_AGENT_NAME, name.clone()),
        ];
        if let Some(id) = &payload.agent_id {
            attributes.push(KeyValue::new(semconv::GEN_AI_AGENT_ID, id.clone()));
        }
        if let Some(description) = &payload.agent_description {
            attributes.push(KeyValue::new(
                semconv::GEN_AI_AGENT_DESCRIPTION,
                description.clone(),
            ));
        }
        if let Some(session) = &payload.base.session_id {
            attributes.push(KeyValue::new(
                semconv::GEN_AI_CONVERSATION_ID,
                opentelemetry::Value::String(Arc::clone(session).into()),
            ));
        }
        attributes.extend(self.hints.kind("AGENT"));
        if self.capture_content
            && let Some((text, messages)) = message("user", payload.action.as_ref())
        {
            let text = truncate_content(text, self.content_limit);
            attributes.extend(self.hints.value("input.value", text, false));
            attributes.push(KeyValue::new(
                semconv::GEN_AI_INPUT_MESSAGES,
                truncate_content(messages, self.content_limit),
            ));
        }
        let span_name = format!("{} {name}", semconv::OPERATION_INVOKE_AGENT);
        invocation_span::start(ctx, self.instance, &self.tracer, span_name, attributes);
    }

    fn on_success(&self, payload: &ComponentPostSuccessPayload, ctx: &HookContext) {
        let mut attributes = Vec::new();
        if self.capture_content
            && let Some((text, messages)) = message("assistant", payload.result.as_ref())
        {
            let text = truncate_content(text, self.content_limit);
            attributes.extend(self.hints.value("output.value", text, false));
            attributes.push(KeyValue::new(
                semconv::GEN_AI_OUTPUT_MESSAGES,
                truncate_content(messages, self.content_limit),
            ));
        }
        invocation_span::end(
            ctx,
            self.instance,
            attributes,
            None,
            self.capture_content,
            self.content_limit,
        );
    }

    fn on_error(&self, payload: &ComponentPostErrorPayload, ctx: &HookContext) {
        invocation_span::end(
            ctx,
            self.instance,
            Vec::new(),
            payload.error.as_ref(),
            self.capture_content,
            self.content_limit,
        );
    }
}

/// A JSON value (an agent's arguments or result) as text — a string as itself, an object of one
/// string argument as that string, anything else as its JSON text — and as a one-message
/// semconv array.
fn message(role: &str, value: Option<&Object>) -> Option<(String, String)> {
    let value = value?.downcast_ref::<Value>()?;
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Object(map) if map.len() == 1 => match map.values().next() {
            Some(Value::String(text)) => text.clone(),
            _ => value.to_string(),
        },
        Value::Object(map) if map.is_empty() => return None,
        other => other.to_string(),
    };
    let messages = json!([{"role": role, "parts": [{"type": "text", "content": text}]}]);
    Some((text, messages.to_string()))
}

impl Plugin for AgentTracingPlugin {
    fn name(&self) -> &str {
        &self.name
    }

    fn priority(&self) -> i32 {
        Self::PRIORITY
    }

    fn hooks(self: Arc<Self>, hooks: &mut PluginHooks) {
        let mode = PluginMode::Sequential;
        observe::<ComponentPreExecute, _>(hooks, mode, &self, Self::on_pre);
        observe::<ComponentPostSuccess, _>(hooks, mode, &self, Self::on_success);
        observe::<ComponentPostError, _>(hooks, mode, &self, Self::on_error);
    }
}
