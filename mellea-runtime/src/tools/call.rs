//! Tool calls as a conversation carries them: what the model asks for, what a request offers,
//! and how streamed pieces of a call are put back together.

use std::borrow::Cow;

use serde_json::{Value, json};

/// A tool call the model asked for: the call's id, the tool's name and its arguments.
///
/// The arguments are kept as the JSON text the model produced (as the OpenAI wire format
/// carries them), so a malformed answer is never lost or rewritten on its way to the tool
/// that reports it.
///
/// ```
/// use mellea_runtime::tools::ToolCall;
/// let call = ToolCall::new("get_weather", r#"{"city":"Paris"}"#).with_id("call_1");
/// assert_eq!(call.arguments_json().unwrap()["city"], "Paris");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ToolCall {
    /// The provider's id of this call, answered by the tool message's `tool_call_id`. Some
    /// servers (older Ollama) send none.
    pub id: Option<String>,
    /// The tool's name.
    pub name: String,
    /// The arguments as a JSON text (usually an object).
    pub arguments: String,
}

impl ToolCall {
    /// A call of `name` with `arguments` (a JSON text) and no id.
    pub fn new(name: impl Into<String>, arguments: impl Into<String>) -> Self {
        Self {
            id: None,
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    /// Sets the call's id.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The arguments parsed as JSON; an empty text reads as `{}` (models calling a tool without
    /// parameters often send nothing).
    pub fn arguments_json(&self) -> Result<Value, serde_json::Error> {
        if self.arguments.trim().is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_str(&self.arguments)
    }

    /// The call as a GenAI semantic-conventions `tool_call` message part. The arguments are
    /// the parsed JSON, or the text as given when it does not parse.
    pub fn to_semconv_part(&self) -> Value {
        let arguments = self
            .arguments_json()
            .unwrap_or_else(|_| Value::String(self.arguments.clone()));
        json!({
            "type": "tool_call",
            "id": self.id,
            "name": self.name,
            "arguments": arguments,
        })
    }
}

/// A tool a request offers the model: its name, what it does, and a JSON schema of its
/// parameters.
///
/// ```
/// use mellea_runtime::tools::ToolDefinition;
/// let tool = ToolDefinition::new(
///     "get_weather",
///     "Current weather of a city.",
///     serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}}}),
/// );
/// assert_eq!(tool.name, "get_weather");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ToolDefinition {
    /// The name the model calls the tool by.
    pub name: String,
    /// What the tool does, for the model (a `#[tool]` takes its doc comment).
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: Value,
}

impl ToolDefinition {
    /// A tool named `name`.
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            parameters,
        }
    }
}

/// A piece of a streamed tool call, as one chunk carries it: the first piece of a call names
/// it (and gives its id), later pieces add fragments of its JSON arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ToolCallChunk<'a> {
    /// Which call of the answer the piece belongs to.
    pub index: u32,
    /// The call's id, on its first piece.
    pub id: Option<&'a str>,
    /// The tool's name, on its first piece.
    pub name: Option<&'a str>,
    /// A fragment of the arguments' JSON text (owned when the wire format carries the
    /// arguments as an object rather than text).
    pub arguments: Option<Cow<'a, str>>,
}

impl<'a> ToolCallChunk<'a> {
    /// A piece of call `index`.
    pub fn new(index: u32) -> Self {
        Self {
            index,
            ..Self::default()
        }
    }

    /// Sets the call's id.
    #[must_use]
    pub fn with_id(mut self, id: Option<&'a str>) -> Self {
        self.id = id;
        self
    }

    /// Sets the tool's name.
    #[must_use]
    pub fn with_name(mut self, name: Option<&'a str>) -> Self {
        self.name = name;
        self
    }

    /// Sets the arguments fragment.
    #[must_use]
    pub fn with_arguments<S: Into<Cow<'a, str>>>(mut self, arguments: Option<S>) -> Self {
        self.arguments = arguments.map(Into::into);
        self
    }
}

/// Puts streamed tool-call pieces back together, in the order the calls were first seen.
///
/// ```
/// use mellea_runtime::tools::{ToolCallAssembler, ToolCallChunk};
/// let mut calls = ToolCallAssembler::default();
/// calls.add(ToolCallChunk::new(0).with_id(Some("c1")).with_name(Some("add")).with_arguments(Some("{\"a\":")));
/// calls.add(ToolCallChunk::new(0).with_arguments(Some("1}")));
/// assert_eq!(calls.calls()[0].arguments, "{\"a\":1}");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolCallAssembler {
    /// `(index, call)`, in first-seen order; answers have a handful of calls at most, so a
    /// scan beats a map.
    calls: Vec<(u32, ToolCall)>,
}

impl ToolCallAssembler {
    /// Folds one piece in.
    pub fn add(&mut self, chunk: ToolCallChunk<'_>) {
        let position = match self.calls.iter().position(|(i, _)| *i == chunk.index) {
            Some(position) => position,
            None => {
                self.calls.push((chunk.index, ToolCall::default()));
                self.calls.len() - 1
            }
        };
        let call = &mut self.calls[position].1;
        if let Some(id) = chunk.id.filter(|id| !id.is_empty()) {
            call.id = Some(id.to_owned());
        }
        // The first piece names the call; some servers repeat the name on later pieces.
        if let Some(name) = chunk.name.filter(|name| !name.is_empty())
            && call.name.is_empty()
        {
            call.name = name.to_owned();
        }
        if let Some(arguments) = chunk.arguments {
            call.arguments.push_str(&arguments);
        }
    }

    /// Whether no piece was seen.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The calls so far.
    pub fn calls(&self) -> Vec<ToolCall> {
        self.calls.iter().map(|(_, call)| call.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_of_two_interleaved_calls_assemble_in_first_seen_order() {
        let mut calls = ToolCallAssembler::default();
        calls.add(
            ToolCallChunk::new(1)
                .with_id(Some("b"))
                .with_name(Some("second")),
        );
        calls.add(
            ToolCallChunk::new(0)
                .with_id(Some("a"))
                .with_name(Some("first")),
        );
        calls.add(ToolCallChunk::new(1).with_arguments(Some("{\"x\"")));
        calls.add(ToolCallChunk::new(0).with_arguments(Some("{}")));
        calls.add(ToolCallChunk::new(1).with_arguments(Some(":2}")));
        let calls = calls.calls();
        assert_eq!(calls[0], ToolCall::new("second", "{\"x\":2}").with_id("b"));
        assert_eq!(calls[1], ToolCall::new("first", "{}").with_id("a"));
    }

    #[test]
    fn malformed_arguments_are_kept_as_text_in_the_semconv_part() {
        let part = ToolCall::new("t", "{not json").to_semconv_part();
        assert_eq!(part["arguments"], "{not json");
        assert_eq!(part["type"], "tool_call");
        let part = ToolCall::new("t", "").with_id("1").to_semconv_part();
        assert_eq!(part["arguments"], json!({}));
        assert_eq!(part["id"], "1");
    }
}
