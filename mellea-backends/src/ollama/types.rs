//! What Ollama's native API answers (`/api/chat`, `/api/generate`), and how hooks read it.

use std::time::Duration;

use mellea_runtime::generation::StreamChunk;
use mellea_runtime::hooks::{GenerationOutput, Usage};
use mellea_runtime::tools::ToolCallChunk;
use serde::{Deserialize, Deserializer};

/// An `/api/chat` answer: the whole answer of a non-streamed call, or one NDJSON line of a
/// streamed one (the last line has `done: true`, the finish reason and the counts).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct OllamaChatResponse {
    /// The model that answered.
    #[serde(default)]
    pub model: Option<String>,
    /// When the server produced it (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// The assistant's message (in a stream: the piece this line adds). Required, as
    /// `done` is: a body without them is not an `/api/chat` answer.
    pub message: OllamaMessage,
    /// Whether this is the last line.
    pub done: bool,
    /// Why generation stopped (`"stop"`, `"length"`, `"load"`), on the last line.
    #[serde(default)]
    pub done_reason: Option<String>,
    /// Prompt tokens evaluated, on the last line.
    #[serde(default)]
    pub prompt_eval_count: Option<u64>,
    /// Tokens generated, on the last line.
    #[serde(default)]
    pub eval_count: Option<u64>,
    /// Time spent on the whole call, on the last line.
    #[serde(default, deserialize_with = "nanoseconds")]
    pub total_duration: Option<Duration>,
    /// Time spent loading the model, on the last line.
    #[serde(default, deserialize_with = "nanoseconds")]
    pub load_duration: Option<Duration>,
    /// Time spent generating, on the last line.
    #[serde(default, deserialize_with = "nanoseconds")]
    pub eval_duration: Option<Duration>,
}

impl OllamaChatResponse {
    /// The text of the message (in a stream: the text this line adds).
    pub fn text(&self) -> &str {
        &self.message.content
    }
}

/// The assistant's message of an [`OllamaChatResponse`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct OllamaMessage {
    /// `"assistant"`.
    #[serde(default)]
    pub role: String,
    /// The text.
    #[serde(default)]
    pub content: String,
    /// Reasoning text of thinking models (with `think` on).
    #[serde(default)]
    pub thinking: Option<String>,
    /// Tool calls the model asks for.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tool_calls: Vec<OllamaToolCall>,
}

/// A tool call of an [`OllamaMessage`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct OllamaToolCall {
    /// The call's id, from servers that assign one (recent Ollama versions).
    #[serde(default)]
    pub id: Option<String>,
    /// The function and its arguments.
    pub function: OllamaFunctionCall,
}

impl OllamaToolCall {
    /// The call as mellea's [`ToolCall`](mellea_runtime::tools::ToolCall), its arguments as JSON text.
    pub fn to_call(&self) -> mellea_runtime::tools::ToolCall {
        let arguments = match &self.function.arguments {
            serde_json::Value::Null => String::new(),
            arguments => arguments.to_string(),
        };
        let mut call = mellea_runtime::tools::ToolCall::new(&self.function.name, arguments);
        call.id = self.id.clone();
        call
    }
}

/// The function of an [`OllamaToolCall`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct OllamaFunctionCall {
    /// Position of the call in the answer, from servers that number calls.
    #[serde(default)]
    pub index: Option<u32>,
    /// Function name.
    pub name: String,
    /// Arguments as a JSON object (Ollama sends an object, not a JSON text).
    #[serde(default)]
    pub arguments: serde_json::Value,
}

/// An `/api/generate` answer: the completion of one prompt of a batch.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct GenerateResponse {
    /// The model that answered.
    #[serde(default)]
    pub model: Option<String>,
    /// When the server produced it (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// The generated text. Required, as `done` is: a body without them is not an
    /// `/api/generate` answer.
    pub response: String,
    /// Reasoning text of thinking models.
    #[serde(default)]
    pub thinking: Option<String>,
    /// Whether generation finished.
    pub done: bool,
    /// Why generation stopped.
    #[serde(default)]
    pub done_reason: Option<String>,
    /// Prompt tokens evaluated.
    #[serde(default)]
    pub prompt_eval_count: Option<u64>,
    /// Tokens generated.
    #[serde(default)]
    pub eval_count: Option<u64>,
    /// Time spent on the whole call.
    #[serde(default, deserialize_with = "nanoseconds")]
    pub total_duration: Option<Duration>,
}

/// Ollama's counts as mellea's [`Usage`]; `None` when it reported neither.
fn usage(prompt_eval_count: Option<u64>, eval_count: Option<u64>) -> Option<Usage> {
    if prompt_eval_count.is_none() && eval_count.is_none() {
        return None;
    }
    let mut usage = Usage::default();
    usage.input_tokens = prompt_eval_count;
    usage.output_tokens = eval_count;
    usage.total_tokens = Some(prompt_eval_count.unwrap_or(0) + eval_count.unwrap_or(0));
    Some(usage)
}

impl GenerationOutput for OllamaChatResponse {
    fn usage(&self) -> Option<Usage> {
        usage(self.prompt_eval_count, self.eval_count)
    }
    fn response_model(&self) -> Option<&str> {
        self.model.as_deref()
    }
    fn finish_reasons(&self) -> Vec<String> {
        self.done_reason.iter().cloned().collect()
    }
    fn text(&self) -> Option<&str> {
        Some(&self.message.content)
    }
    fn tool_calls(&self) -> Vec<mellea_runtime::tools::ToolCall> {
        self.message
            .tool_calls
            .iter()
            .map(OllamaToolCall::to_call)
            .collect()
    }
}

impl StreamChunk for OllamaChatResponse {
    fn text(&self) -> Option<&str> {
        Some(self.message.content.as_str()).filter(|text| !text.is_empty())
    }
    fn usage(&self) -> Option<Usage> {
        usage(self.prompt_eval_count, self.eval_count)
    }
    fn response_model(&self) -> Option<&str> {
        self.model.as_deref()
    }
    fn finish_reason(&self) -> Option<&str> {
        self.done_reason.as_deref()
    }
    /// Ollama streams each tool call whole, in one line: every call is one piece, numbered by
    /// the server's `index` when it sends one, else by its position in the line.
    fn tool_call_chunks(&self) -> Vec<ToolCallChunk<'_>> {
        self.message
            .tool_calls
            .iter()
            .zip(0..)
            .map(|(call, position)| {
                ToolCallChunk::new(call.function.index.unwrap_or(position))
                    .with_id(call.id.as_deref())
                    .with_name(Some(&call.function.name))
                    .with_arguments(Some(call.to_call().arguments))
            })
            .collect()
    }
}

impl GenerationOutput for GenerateResponse {
    fn usage(&self) -> Option<Usage> {
        usage(self.prompt_eval_count, self.eval_count)
    }
    fn response_model(&self) -> Option<&str> {
        self.model.as_deref()
    }
    fn finish_reasons(&self) -> Vec<String> {
        self.done_reason.iter().cloned().collect()
    }
    fn text(&self) -> Option<&str> {
        Some(&self.response)
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Ollama reports durations as integer nanoseconds.
fn nanoseconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    Ok(Option::<u64>::deserialize(deserializer)?.map(Duration::from_nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_become_usage_and_durations_nanoseconds() {
        let line: OllamaChatResponse = serde_json::from_str(
            r#"{"model":"m","message":{"role":"assistant","content":""},"done":true,
                "done_reason":"stop","total_duration":1500000000,"prompt_eval_count":26,"eval_count":9}"#,
        )
        .unwrap();
        let usage = GenerationOutput::usage(&line).unwrap();
        assert_eq!(
            (usage.input_tokens, usage.output_tokens, usage.total_tokens),
            (Some(26), Some(9), Some(35))
        );
        assert_eq!(line.total_duration, Some(Duration::from_millis(1500)));
        assert_eq!(StreamChunk::text(&line), None, "empty content adds no text");
        assert_eq!(StreamChunk::finish_reason(&line), Some("stop"));
    }

    #[test]
    fn a_line_without_counts_has_no_usage() {
        let line: OllamaChatResponse = serde_json::from_str(
            r#"{"model":"m","message":{"role":"assistant","content":"Hi"},"done":false}"#,
        )
        .unwrap();
        assert_eq!(GenerationOutput::usage(&line), None);
        assert_eq!(StreamChunk::text(&line), Some("Hi"));
    }

    #[test]
    fn bodies_of_other_apis_do_not_parse() {
        assert!(serde_json::from_str::<OllamaChatResponse>(r#"{"models":[]}"#).is_err());
        assert!(serde_json::from_str::<OllamaChatResponse>(r#"{"error":"x"}"#).is_err());
        assert!(serde_json::from_str::<GenerateResponse>(r#"{"choices":[]}"#).is_err());
    }
}
