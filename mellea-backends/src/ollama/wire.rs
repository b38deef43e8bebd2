//! Ollama's wire format of a request: messages (with tool calls and tool results), tool
//! definitions, model options renamed into `options`, and the format.

use crate::function_tool::function_tool;
use mellea_runtime::generation::{BatchGenerationRequest, GenerationRequest, Message};
use mellea_runtime::hooks::{Format, ModelOptions, model_option};
use serde_json::{Map, Value, json};

/// Options that stay top-level in Ollama's request instead of going into `options`.
const TOP_LEVEL: [&str; 7] = [
    "keep_alive",
    "think",
    "format",
    "raw",
    "system",
    "suffix",
    "template",
];
/// Options the backend sets itself, never copied from `model_options`.
const RESERVED: [&str; 4] = ["model", "messages", "prompt", "options"];
/// Options that only make sense with tools (Ollama reads only `tools`).
const TOOL_OPTIONS: [&str; 3] = ["tools", "tool_choice", "parallel_tool_calls"];

/// The body of an `/api/chat` call.
pub(super) fn chat_body(model: &str, request: &GenerationRequest, stream: bool) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    let messages = request
        .messages
        .iter()
        .map(|m| message(m, &request.messages))
        .collect();
    body.insert("messages".into(), Value::Array(messages));
    add_options(
        &mut body,
        &request.model_options,
        request.format.as_ref(),
        request.tool_calls,
    );
    if request.tool_calls && !request.tools.is_empty() {
        let tools = request.tools.iter().map(function_tool).collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    body.insert(model_option::STREAM.into(), stream.into());
    Value::Object(body)
}

/// The body of the `/api/generate` call for one prompt of `request`.
pub(super) fn generate_body(model: &str, prompt: &str, request: &BatchGenerationRequest) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("prompt".into(), prompt.into());
    // `/api/generate` has no tools.
    add_options(
        &mut body,
        &request.model_options,
        request.format.as_ref(),
        false,
    );
    body.insert(model_option::STREAM.into(), false.into());
    Value::Object(body)
}

/// Model options into `options` (renamed where Ollama's names differ) or top-level fields,
/// and the format as `format`.
fn add_options(
    body: &mut Map<String, Value>,
    model_options: &ModelOptions,
    format: Option<&Format>,
    tools: bool,
) {
    let mut options = Map::new();
    for (key, value) in model_options {
        let key = key.as_str();
        if key == model_option::STREAM || RESERVED.contains(&key) {
            continue;
        }
        if TOOL_OPTIONS.contains(&key) {
            if tools && key == "tools" {
                body.insert(key.into(), value.clone());
            }
            continue;
        }
        if TOP_LEVEL.contains(&key) {
            body.insert(key.into(), value.clone());
            continue;
        }
        let key = if key == model_option::MAX_TOKENS {
            "num_predict"
        } else {
            key
        };
        options.insert(key.into(), value.clone());
    }
    if !options.is_empty() {
        body.insert("options".into(), Value::Object(options));
    }
    if let Some(format) = format {
        body.insert("format".into(), format.schema.clone());
    }
}

/// One chat message. Ollama takes a call's arguments as a JSON object (the text as given when it
/// is not JSON, for the server to reject rather than the call to be altered), and a tool
/// result names its tool (`tool_name`), found from the call it answers in `conversation`.
fn message(message: &Message, conversation: &[Message]) -> Value {
    let mut wire = Map::new();
    wire.insert("role".into(), message.role.clone().into());
    wire.insert("content".into(), message.content.clone().into());
    if !message.tool_calls.is_empty() {
        let calls = message
            .tool_calls
            .iter()
            .map(|call| {
                let arguments = call
                    .arguments_json()
                    .unwrap_or_else(|_| Value::String(call.arguments.clone()));
                let mut wire = json!({"function": {"name": call.name, "arguments": arguments}});
                if let Some(id) = &call.id {
                    wire["id"] = id.clone().into();
                }
                wire
            })
            .collect();
        wire.insert("tool_calls".into(), Value::Array(calls));
    }
    if let Some(id) = &message.tool_call_id {
        let answered = conversation
            .iter()
            .flat_map(|m| &m.tool_calls)
            .find(|call| call.id.as_ref() == Some(id));
        if let Some(call) = answered {
            wire.insert("tool_name".into(), call.name.clone().into());
        }
        wire.insert("tool_call_id".into(), id.clone().into());
    }
    Value::Object(wire)
}

#[cfg(test)]
mod tests {
    use mellea_runtime::tools::{ToolCall, ToolDefinition};

    use super::*;

    #[test]
    fn chat_body_maps_options_into_ollama_names() {
        let request = GenerationRequest::new([Message::user("Hi")])
            .with_option(model_option::TEMPERATURE, 0.1)
            .with_option(model_option::MAX_TOKENS, 64)
            .with_option(model_option::TOP_P, 0.9)
            .with_option(model_option::SEED, 7)
            .with_option(model_option::STOP_SEQUENCES, json!(["END"]))
            .with_option("num_ctx", 4096)
            .with_option("keep_alive", "5m")
            .with_option("tools", json!([{"type": "function"}]))
            .with_stream(true)
            .with_format(Format::new("Answer", json!({"type": "object"})));
        assert_eq!(
            chat_body("granite4:micro", &request, true),
            json!({
                "model": "granite4:micro",
                "messages": [{"role": "user", "content": "Hi"}],
                "options": {"temperature": 0.1, "num_predict": 64, "top_p": 0.9, "seed": 7,
                            "stop": ["END"], "num_ctx": 4096},
                "keep_alive": "5m",
                "format": {"type": "object"},
                "stream": true,
            })
        );
        let with_tools = chat_body("m", &request.with_tool_calls(true), false);
        assert_eq!(with_tools["tools"][0]["type"], "function");
        assert_eq!(with_tools["stream"], false);
    }

    #[test]
    fn generate_body_has_one_prompt_and_no_options_when_none_are_set() {
        let request = BatchGenerationRequest::new(["a", "b"]);
        assert_eq!(
            generate_body("m", "b", &request),
            json!({"model": "m", "prompt": "b", "stream": false})
        );
    }

    #[test]
    fn tool_calls_tool_results_and_definitions_take_the_ollama_shape() {
        let tool = ToolDefinition::new("add", "Adds.", json!({"type": "object"}));
        let request = GenerationRequest::new([
            Message::user("1+2?"),
            Message::assistant("")
                .with_tool_calls([ToolCall::new("add", r#"{"a":1,"b":2}"#).with_id("c1")]),
            Message::tool_result("c1", "3"),
        ])
        .with_tools([tool]);
        let body = chat_body("m", &request, false);
        assert_eq!(
            body["messages"],
            json!([
                {"role": "user", "content": "1+2?"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"id": "c1", "function": {"name": "add", "arguments": {"a": 1, "b": 2}}}]},
                {"role": "tool", "content": "3", "tool_name": "add", "tool_call_id": "c1"},
            ])
        );
        assert_eq!(
            body["tools"],
            json!([{"type": "function", "function": {
                "name": "add", "description": "Adds.", "parameters": {"type": "object"}}}])
        );
        assert!(
            chat_body("m", &request.with_tool_calls(false), false)
                .get("tools")
                .is_none()
        );
    }
}
