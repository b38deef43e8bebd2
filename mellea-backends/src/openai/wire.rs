//! The OpenAI wire format of a request: messages (with tool calls and tool results), tool
//! definitions, model options and the structured output format.

use crate::function_tool::function_tool;
use mellea_runtime::generation::{BatchGenerationRequest, GenerationRequest, Message};
use mellea_runtime::hooks::{Format, ModelOptions, model_option};
use serde_json::{Map, Value, json};

/// Options that the backend sets itself, never copied from `model_options`.
const RESERVED: [&str; 4] = ["model", "messages", "prompt", "stream_options"];
/// Options that only make sense with tools.
const TOOL_OPTIONS: [&str; 3] = ["tools", "tool_choice", "parallel_tool_calls"];

/// The body of a `chat/completions` call.
pub(super) fn chat_body(model: &str, request: &GenerationRequest, stream: bool) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    let messages = request.messages.iter().map(message).collect();
    body.insert("messages".into(), Value::Array(messages));
    copy_options(&mut body, &request.model_options, request.tool_calls);
    if request.tool_calls && !request.tools.is_empty() {
        let tools = request.tools.iter().map(function_tool).collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(format) = &request.format {
        body.insert("response_format".into(), response_format(format));
    }
    body.insert(model_option::STREAM.into(), stream.into());
    if stream {
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Value::Object(body)
}

/// The body of a `completions` call for every prompt of `request`.
pub(super) fn completions_body(model: &str, request: &BatchGenerationRequest) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("prompt".into(), request.prompts.clone().into());
    // The completions endpoint has no tools.
    copy_options(&mut body, &request.model_options, false);
    if let Some(format) = &request.format {
        body.insert("response_format".into(), response_format(format));
    }
    body.insert(model_option::STREAM.into(), false.into());
    Value::Object(body)
}

/// Model options into the body: OpenAI's parameter names are mellea's option keys
/// (`temperature`, `max_tokens`, `top_p`, `seed`, `stop`), and other keys pass through.
fn copy_options(body: &mut Map<String, Value>, options: &ModelOptions, tools: bool) {
    for (key, value) in options {
        let key = key.as_str();
        if key == model_option::STREAM
            || RESERVED.contains(&key)
            || (!tools && TOOL_OPTIONS.contains(&key))
        {
            continue;
        }
        body.insert(key.to_owned(), value.clone());
    }
}

/// A structured output format as a strict `json_schema` response format.
fn response_format(format: &Format) -> Value {
    json!({
        "type": "json_schema",
        "json_schema": {
            "name": schema_name(&format.name),
            "schema": format.schema,
            "strict": true,
        }
    })
}

/// OpenAI accepts schema names of at most 64 of `[a-zA-Z0-9_-]`.
fn schema_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "response".into()
    } else {
        cleaned
    }
}

/// One chat message: an assistant's tool calls as `tool_calls` (arguments as JSON text, content
/// `null` when there is no text), a tool result as a `tool` message with its `tool_call_id`.
fn message(message: &Message) -> Value {
    let mut wire = Map::new();
    wire.insert("role".into(), message.role.clone().into());
    let content = if message.content.is_empty() && !message.tool_calls.is_empty() {
        Value::Null
    } else {
        message.content.clone().into()
    };
    wire.insert("content".into(), content);
    if !message.tool_calls.is_empty() {
        let calls = message
            .tool_calls
            .iter()
            .map(|call| {
                json!({
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                })
            })
            .collect();
        wire.insert("tool_calls".into(), Value::Array(calls));
    }
    if let Some(id) = &message.tool_call_id {
        wire.insert("tool_call_id".into(), id.clone().into());
    }
    Value::Object(wire)
}

#[cfg(test)]
mod tests {
    use mellea_runtime::tools::{ToolCall, ToolDefinition};

    use super::*;

    #[test]
    fn chat_body_maps_options_format_and_stream() {
        let request = GenerationRequest::new([Message::system("Be brief."), Message::user("Hi")])
            .with_option(model_option::TEMPERATURE, 0.2)
            .with_option(model_option::MAX_TOKENS, 50)
            .with_option(model_option::STOP_SEQUENCES, json!(["\n\n"]))
            .with_option("frequency_penalty", 0.5)
            .with_option("model", "not-this-one")
            .with_option("tools", json!([{"type": "function"}]))
            .with_stream(true)
            .with_format(Format::new("Answer Schema!", json!({"type": "object"})));
        let body = chat_body("m", &request, true);
        assert_eq!(
            body,
            json!({
                "model": "m",
                "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
                "temperature": 0.2,
                "max_tokens": 50,
                "stop": ["\n\n"],
                "frequency_penalty": 0.5,
                "response_format": {"type": "json_schema", "json_schema": {
                    "name": "Answer_Schema_", "schema": {"type": "object"}, "strict": true}},
                "stream": true,
                "stream_options": {"include_usage": true},
            })
        );
    }

    #[test]
    fn tools_are_sent_only_while_tool_calls_are_on() {
        let request = GenerationRequest::new([Message::user("Weather?")])
            .with_option(
                "tools",
                json!([{"type": "function", "function": {"name": "w"}}]),
            )
            .with_option("tool_choice", "auto");
        let off = chat_body("m", &request, false);
        assert!(off.get("tools").is_none() && off.get("tool_choice").is_none());
        let on = chat_body("m", &request.with_tool_calls(true), false);
        assert_eq!(on["tools"][0]["function"]["name"], "w");
        assert_eq!(on["tool_choice"], "auto");
        assert_eq!(on["stream"], false);
        assert!(on.get("stream_options").is_none());
    }

    #[test]
    fn completions_body_sends_every_prompt_in_one_array() {
        let request = BatchGenerationRequest::new(["a", "b"]).with_option("max_tokens", 3);
        let body = completions_body("m", &request);
        assert_eq!(
            body,
            json!({"model": "m", "prompt": ["a", "b"], "max_tokens": 3, "stream": false})
        );
    }

    #[test]
    fn schema_names_are_made_acceptable() {
        assert_eq!(schema_name(""), "response");
        assert_eq!(schema_name("a.b c"), "a_b_c");
        assert_eq!(schema_name(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn tool_calls_tool_results_and_definitions_take_the_openai_shape() {
        let tool = ToolDefinition::new("add", "Adds.", json!({"type": "object"}));
        let request = GenerationRequest::new([
            Message::user("1+2?"),
            Message::assistant("")
                .with_tool_calls([ToolCall::new("add", r#"{"a":1,"b":2}"#).with_id("c1")]),
            Message::tool_result("c1", "3"),
        ])
        .with_tools([tool.clone()])
        .with_option(
            "tools",
            json!([{"type": "function", "function": {"name": "raw"}}]),
        );
        let body = chat_body("m", &request, false);
        assert_eq!(
            body["messages"],
            json!([
                {"role": "user", "content": "1+2?"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function",
                     "function": {"name": "add", "arguments": "{\"a\":1,\"b\":2}"}}]},
                {"role": "tool", "content": "3", "tool_call_id": "c1"},
            ])
        );
        assert_eq!(
            body["tools"],
            json!([{"type": "function", "function": {
                "name": "add", "description": "Adds.", "parameters": {"type": "object"}}}]),
            "typed definitions replace raw `tools` options"
        );
        let off = chat_body("m", &request.with_tool_calls(false), false);
        assert!(off.get("tools").is_none());
    }
}
