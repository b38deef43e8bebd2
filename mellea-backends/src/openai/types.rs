//! What an OpenAI-compatible server answers, in the shape of its JSON (`chat.completion`,
//! `chat.completion.chunk`, `text_completion`), and how hooks read it.

use mellea_runtime::generation::{BatchOutput, StreamChunk};
use mellea_runtime::hooks::{GenerationOutput, OutputView, Usage};
use mellea_runtime::tools::ToolCallChunk;
use serde::{Deserialize, Deserializer};

/// A `chat.completion`: the answer of a non-streamed chat call.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ChatResponse {
    /// Provider-assigned response id, e.g. `"chatcmpl-..."`.
    #[serde(default)]
    pub id: Option<String>,
    /// The model that answered (may differ from the one asked for, e.g. a dated snapshot).
    #[serde(default)]
    pub model: Option<String>,
    /// One choice per requested completion (`n`, usually 1). Required: a body without it is
    /// not a chat completion.
    #[serde(deserialize_with = "null_as_default")]
    pub choices: Vec<ChatChoice>,
    /// Token counts, including cached prompt tokens and reasoning tokens when reported.
    #[serde(default, deserialize_with = "openai_usage")]
    pub usage: Option<Usage>,
    /// Backend configuration fingerprint, when the server reports one.
    #[serde(default)]
    pub system_fingerprint: Option<String>,
}

impl ChatResponse {
    /// The text of the first choice.
    pub fn text(&self) -> Option<&str> {
        self.choices.first()?.message.content.as_deref()
    }

    /// The tool calls of the first choice.
    pub fn tool_calls(&self) -> &[ToolCall] {
        self.choices
            .first()
            .map_or(&[], |choice| choice.message.tool_calls.as_slice())
    }
}

/// One choice of a [`ChatResponse`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ChatChoice {
    /// Position among the choices.
    #[serde(default)]
    pub index: u32,
    /// The assistant's message.
    pub message: AssistantMessage,
    /// Why generation stopped: `"stop"`, `"length"`, `"tool_calls"`, `"content_filter"`.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// The assistant's message of a choice.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct AssistantMessage {
    /// `"assistant"`.
    #[serde(default)]
    pub role: Option<String>,
    /// The text; `None` when the model only called tools or refused.
    #[serde(default)]
    pub content: Option<String>,
    /// Tool calls the model asks for.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tool_calls: Vec<ToolCall>,
    /// The refusal text, when the model refused.
    #[serde(default)]
    pub refusal: Option<String>,
    /// Reasoning text, from servers that return it separately (vLLM, DeepSeek, llama.cpp).
    #[serde(default)]
    pub reasoning_content: Option<String>,
}

/// A tool call the model asks for.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ToolCall {
    /// Id to answer the call with (in a `tool` message).
    #[serde(default)]
    pub id: Option<String>,
    /// The function and its arguments.
    pub function: FunctionCall,
}

/// The function of a [`ToolCall`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct FunctionCall {
    /// Function name.
    pub name: String,
    /// Arguments as a JSON text (as the wire format carries them).
    #[serde(default)]
    pub arguments: String,
}

impl GenerationOutput for ChatResponse {
    fn usage(&self) -> Option<Usage> {
        self.usage
    }
    fn response_model(&self) -> Option<&str> {
        self.model.as_deref()
    }
    fn response_id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn finish_reasons(&self) -> Vec<String> {
        self.choices
            .iter()
            .filter_map(|choice| choice.finish_reason.clone())
            .collect()
    }
    fn text(&self) -> Option<&str> {
        ChatResponse::text(self)
    }
    fn tool_calls(&self) -> Vec<mellea_runtime::tools::ToolCall> {
        self.tool_calls().iter().map(ToolCall::to_call).collect()
    }
}

impl ToolCall {
    /// The call as mellea's [`ToolCall`](mellea_runtime::tools::ToolCall).
    pub fn to_call(&self) -> mellea_runtime::tools::ToolCall {
        let mut call =
            mellea_runtime::tools::ToolCall::new(&self.function.name, &self.function.arguments);
        call.id = self.id.clone();
        call
    }
}

/// A `chat.completion.chunk`: one server-sent event of a streamed chat call.
///
/// With `stream_options.include_usage` (which the backend always asks for) the last chunk
/// carries the usage of the whole call and no choices.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ChatChunk {
    /// Provider-assigned response id, the same on every chunk.
    #[serde(default)]
    pub id: Option<String>,
    /// The model that answers.
    #[serde(default)]
    pub model: Option<String>,
    /// What each choice adds.
    #[serde(default, deserialize_with = "null_as_default")]
    pub choices: Vec<ChunkChoice>,
    /// Token counts of the whole call, on the last chunk.
    #[serde(default, deserialize_with = "openai_usage")]
    pub usage: Option<Usage>,
}

impl ChatChunk {
    /// The text the first choice adds.
    pub fn text(&self) -> Option<&str> {
        self.choices.first()?.delta.content.as_deref()
    }
}

/// What one choice adds in a [`ChatChunk`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ChunkChoice {
    /// Position among the choices.
    #[serde(default)]
    pub index: u32,
    /// The added content.
    #[serde(default)]
    pub delta: ChunkDelta,
    /// Why generation stopped, on the choice's last chunk.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// The content a [`ChunkChoice`] adds.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ChunkDelta {
    /// `"assistant"`, on the first chunk.
    #[serde(default)]
    pub role: Option<String>,
    /// Added text.
    #[serde(default)]
    pub content: Option<String>,
    /// Pieces of tool calls (the first piece of each names the function).
    #[serde(default, deserialize_with = "null_as_default")]
    pub tool_calls: Vec<ToolCallDelta>,
    /// Added refusal text.
    #[serde(default)]
    pub refusal: Option<String>,
    /// Added reasoning text, from servers that stream it separately.
    #[serde(default)]
    pub reasoning_content: Option<String>,
}

/// A piece of a streamed tool call.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ToolCallDelta {
    /// Which tool call of the choice this piece belongs to.
    #[serde(default)]
    pub index: u32,
    /// The call's id, on its first piece.
    #[serde(default)]
    pub id: Option<String>,
    /// Name (first piece) and a fragment of the arguments.
    #[serde(default)]
    pub function: Option<FunctionCallDelta>,
}

/// The function part of a [`ToolCallDelta`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct FunctionCallDelta {
    /// Function name, on the first piece.
    #[serde(default)]
    pub name: Option<String>,
    /// A fragment of the JSON arguments.
    #[serde(default)]
    pub arguments: Option<String>,
}

impl StreamChunk for ChatChunk {
    fn text(&self) -> Option<&str> {
        ChatChunk::text(self)
    }
    fn usage(&self) -> Option<Usage> {
        self.usage
    }
    fn response_model(&self) -> Option<&str> {
        self.model.as_deref()
    }
    fn response_id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn finish_reason(&self) -> Option<&str> {
        self.choices.first()?.finish_reason.as_deref()
    }
    fn tool_call_chunks(&self) -> Vec<ToolCallChunk<'_>> {
        let Some(choice) = self.choices.first() else {
            return Vec::new();
        };
        choice
            .delta
            .tool_calls
            .iter()
            .map(|piece| {
                let function = piece.function.as_ref();
                ToolCallChunk::new(piece.index)
                    .with_id(piece.id.as_deref())
                    .with_name(function.and_then(|f| f.name.as_deref()))
                    .with_arguments(function.and_then(|f| f.arguments.as_deref()))
            })
            .collect()
    }
}

/// A `text_completion` for several prompts: the answer of one batch call to `/completions`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct BatchCompletion {
    /// Provider-assigned response id, e.g. `"cmpl-..."`.
    #[serde(default)]
    pub id: Option<String>,
    /// The model that answered.
    #[serde(default)]
    pub model: Option<String>,
    /// One completion per prompt, in prompt order (sorted by `index` after parsing).
    #[serde(rename = "choices", deserialize_with = "null_as_default")]
    pub completions: Vec<Completion>,
    /// Token counts of the whole call (the provider reports one aggregate).
    #[serde(default, deserialize_with = "openai_usage")]
    pub usage: Option<Usage>,
}

/// The completion of one prompt of a [`BatchCompletion`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Completion {
    /// Position of its prompt in the batch.
    #[serde(default)]
    pub index: u32,
    /// The generated text.
    #[serde(default)]
    pub text: String,
    /// Why generation stopped.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

impl BatchOutput for BatchCompletion {
    fn output_views(&self) -> Vec<OutputView> {
        self.completions
            .iter()
            .map(|completion| {
                let mut view = OutputView::default();
                view.response_model = self.model.as_deref().map(Into::into);
                view.response_id = self.id.clone();
                view.finish_reasons = completion.finish_reason.iter().cloned().collect();
                view.text = Some(completion.text.clone());
                view
            })
            .collect()
    }
    fn total_usage(&self) -> Option<Usage> {
        self.usage
    }
}

/// `null` reads as the default (servers differ on `null` versus absent).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// OpenAI's `usage` object as mellea's [`Usage`]: cached prompt tokens from
/// `prompt_tokens_details.cached_tokens`, reasoning tokens from
/// `completion_tokens_details.reasoning_tokens`.
fn openai_usage<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Usage>, D::Error> {
    #[derive(Deserialize)]
    struct Wire {
        prompt_tokens: Option<u64>,
        completion_tokens: Option<u64>,
        total_tokens: Option<u64>,
        prompt_tokens_details: Option<PromptDetails>,
        completion_tokens_details: Option<CompletionDetails>,
    }
    #[derive(Deserialize)]
    struct PromptDetails {
        cached_tokens: Option<u64>,
    }
    #[derive(Deserialize)]
    struct CompletionDetails {
        reasoning_tokens: Option<u64>,
    }
    Ok(Option::<Wire>::deserialize(deserializer)?.map(|wire| {
        let mut usage = Usage::default();
        usage.input_tokens = wire.prompt_tokens;
        usage.output_tokens = wire.completion_tokens;
        usage.total_tokens = wire.total_tokens;
        usage.cache_read_input_tokens = wire.prompt_tokens_details.and_then(|d| d.cached_tokens);
        usage.reasoning_tokens = wire
            .completion_tokens_details
            .and_then(|d| d.reasoning_tokens);
        usage
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_reads_cached_and_reasoning_tokens() {
        let response: ChatResponse = serde_json::from_str(
            r#"{"id":"x","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14,
                "prompt_tokens_details":{"cached_tokens":8,"audio_tokens":0},
                "completion_tokens_details":{"reasoning_tokens":2,"audio_tokens":0}}}"#,
        )
        .unwrap();
        let usage = response.usage.unwrap();
        assert_eq!(usage.input_tokens, Some(10));
        assert_eq!(usage.output_tokens, Some(4));
        assert_eq!(usage.total_tokens, Some(14));
        assert_eq!(usage.cache_read_input_tokens, Some(8));
        assert_eq!(usage.reasoning_tokens, Some(2));
    }

    #[test]
    fn nulls_and_absent_fields_read_as_empty() {
        let chunk: ChatChunk = serde_json::from_str(
            r#"{"choices":[{"delta":{"content":null,"tool_calls":null}}],"usage":null}"#,
        )
        .unwrap();
        let response: ChatResponse = serde_json::from_str(r#"{"choices":null}"#).unwrap();
        assert!(response.choices.is_empty());
        assert!(
            serde_json::from_str::<ChatResponse>(r#"{"models":[]}"#).is_err(),
            "a body without choices is not a chat completion"
        );
        assert_eq!(chunk.text(), None);
        assert!(chunk.choices[0].delta.tool_calls.is_empty());
        assert_eq!(chunk.usage, None);
    }
}
