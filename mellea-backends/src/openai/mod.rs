//! A backend for any server that speaks the OpenAI chat-completions wire format: OpenAI,
//! vLLM, llama.cpp's server, LM Studio, Ollama's `/v1`.
//!
//! - [`OpenAiBackend::chat`]: `POST {base}/chat/completions`, one `chat.completion`.
//! - [`OpenAiBackend::chat_stream`]: the same with `"stream": true` and
//!   `stream_options.include_usage`, read as server-sent `chat.completion.chunk` events up to
//!   `data: [DONE]`.
//! - [`OpenAiBackend::complete_batch`]: `POST {base}/completions` with every prompt of the
//!   batch in one call (the legacy completions endpoint; OpenAI itself serves it only for
//!   instruct models, vLLM and llama.cpp for any).
//!
//! Each method is a mellea generation (`#[backend(provider = "openai")]`): pre-call hooks may
//! patch the model options, the structured output format and the tool-call flag, and the
//! request is built from the patched request. Model options map onto the request body:
//! `temperature`, `max_tokens`, `top_p`, `seed` and `stop` by the same names, any other key
//! verbatim (e.g. `frequency_penalty`, `logprobs`, `tools`); `stream` and `model` are the
//! backend's to set. A [`Format`](mellea_runtime::hooks::Format) becomes a strict `json_schema`
//! `response_format`. Tools ([`GenerationRequest::tools`], or raw `model_options["tools"]`, with
//! `tool_choice` and `parallel_tool_calls`) are sent only while the request's `tool_calls` flag
//! is on, so a hook can switch tools off. An assistant message's tool calls go out as
//! `tool_calls`, a tool result as a `tool` message with its `tool_call_id`; the answer's tool
//! calls (streamed deltas put back together) are in the output hooks read.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use futures_util::StreamExt;
//! use mellea_backends::openai::{OpenAiBackend, OpenAiConfig};
//! use mellea_runtime::generation::{GenerationRequest, Message};
//!
//! let backend = OpenAiBackend::new(
//!     OpenAiConfig::new("Qwen/Qwen2.5-1.5B-Instruct").with_base_url("http://localhost:8000/v1"),
//! )?;
//! let mut stream = backend
//!     .chat_stream(GenerationRequest::new([Message::user("Count to three")]))
//!     .await?;
//! while let Some(chunk) = stream.next().await {
//!     print!("{}", chunk?.text().unwrap_or_default());
//! }
//! # Ok(())
//! # }
//! ```

mod types;
mod wire;

use std::fmt;

use mellea_runtime::generation::{
    BackendIdentity, BatchGenerationRequest, ChunkStream, GenerationRequest, ServerAddress,
};
use reqwest::Url;
use serde_json::Value;

pub use types::{
    AssistantMessage, BatchCompletion, ChatChoice, ChatChunk, ChatResponse, ChunkChoice,
    ChunkDelta, Completion, FunctionCall, FunctionCallDelta, ToolCall, ToolCallDelta,
};

use crate::error::{BackendError, ConfigError};
use crate::http::{self, Api, BadFrame, ChunkParser, HttpCaller, Parsed, Target};
use crate::lines::Sse;
use crate::settings::HttpSettings;
use wire::{chat_body, completions_body};

/// The error of every [`OpenAiBackend`] method.
pub type OpenAiError = BackendError;

/// Environment variable of the base URL.
pub const BASE_URL_ENV: &str = "OPENAI_BASE_URL";
/// Environment variable of the API key.
pub const API_KEY_ENV: &str = "OPENAI_API_KEY";
/// Environment variable of the model.
pub const MODEL_ENV: &str = "OPENAI_MODEL";

static API: Api = Api {
    unreachable_hint: "Is the server running there? Set OPENAI_BASE_URL (or `with_base_url`) to its base URL, e.g. http://localhost:8000/v1",
    auth_hint: "Set OPENAI_API_KEY (or `with_api_key`) to a valid key for this server",
    expected: "an OpenAI-compatible API (the base URL usually ends in /v1)",
};

/// Where and how an [`OpenAiBackend`] calls: base URL, API key, model, and the deadlines,
/// caps and retries of [`HttpSettings`].
///
/// `Debug` never shows the API key or credentials in the base URL.
#[derive(Clone)]
pub struct OpenAiConfig {
    base_url: String,
    api_key: Option<String>,
    model: String,
    http: HttpSettings,
}

impl OpenAiConfig {
    /// OpenAI's own API.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.openai.com/v1";
    /// The model when `OPENAI_MODEL` is unset.
    pub const DEFAULT_MODEL: &'static str = "gpt-4o-mini";

    /// Calls `model` at OpenAI's API, without an API key (set one with
    /// [`with_api_key`](Self::with_api_key)).
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            base_url: Self::DEFAULT_BASE_URL.into(),
            api_key: None,
            model: model.into(),
            http: HttpSettings::default(),
        }
    }

    /// From `OPENAI_BASE_URL`, `OPENAI_API_KEY` and `OPENAI_MODEL`; unset or empty variables
    /// take the defaults (OpenAI's API, no key, [`DEFAULT_MODEL`](Self::DEFAULT_MODEL)).
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`from_env`](Self::from_env), reading variables through `lookup` (for tests and
    /// other configuration sources).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let read = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut config = Self::new(read(MODEL_ENV).unwrap_or_else(|| Self::DEFAULT_MODEL.into()));
        if let Some(base_url) = read(BASE_URL_ENV) {
            config.base_url = base_url;
        }
        config.api_key = read(API_KEY_ENV);
        config
    }

    /// The server's base URL, e.g. `http://localhost:8000/v1` (the paths `chat/completions`
    /// and `completions` are appended).
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The API key, sent as `Authorization: Bearer <key>` and nowhere else.
    #[must_use]
    pub fn with_api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// The model to call.
    #[must_use]
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    crate::settings::http_setters!(
        "The longest a stream may go without a data event, keep-alives not counting \
         ([`DEFAULT_IDLE_TIMEOUT`](HttpSettings::DEFAULT_IDLE_TIMEOUT) unless set)."
    );

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Whether an API key is set.
    pub fn has_api_key(&self) -> bool {
        self.api_key.is_some()
    }

    /// The deadlines, size caps and retry policy.
    pub fn http(&self) -> &HttpSettings {
        &self.http
    }
}

impl fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &http::without_userinfo(&self.base_url))
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("http", &self.http)
            .finish()
    }
}

/// A backend for an OpenAI-compatible server; see the [module docs](self).
pub struct OpenAiBackend {
    model: String,
    base_url: Url,
    chat: Target,
    completions: Target,
    http: HttpCaller,
}

impl OpenAiBackend {
    /// A backend for `config`.
    ///
    /// Fails when the base URL is not an `http(s)` URL, when OpenAI's own API is selected
    /// without an API key, or when the key cannot be sent in a header.
    pub fn new(config: OpenAiConfig) -> Result<Self, ConfigError> {
        let base_url =
            http::parse_base_url(&config.base_url, BASE_URL_ENV, "http://localhost:8000/v1")?;
        if config.api_key.is_none() && base_url.host_str() == Some("api.openai.com") {
            return Err(ConfigError::MissingApiKey {
                url: http::without_userinfo(&config.base_url),
            });
        }
        Ok(Self {
            http: HttpCaller::new(&API, config.api_key.as_deref(), config.http)?,
            chat: http::join(&base_url, "chat/completions"),
            completions: http::join(&base_url, "completions"),
            base_url,
            model: config.model,
        })
    }

    /// A backend configured from the environment ([`OpenAiConfig::from_env`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new(OpenAiConfig::from_env())
    }

    /// The model this backend calls.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The `chat/completions` URL this backend calls (without credentials).
    pub fn chat_url(&self) -> &str {
        &self.chat.shown
    }
}

impl fmt::Debug for OpenAiBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiBackend")
            .field("model", &self.model)
            .field("chat_url", &self.chat.shown)
            .field("api_key", &self.http.has_api_key().then_some("<redacted>"))
            .field("http", self.http.settings())
            .finish()
    }
}

impl BackendIdentity for OpenAiBackend {
    fn model_id(&self) -> &str {
        &self.model
    }
    fn server(&self) -> Option<ServerAddress<'_>> {
        http::server_of(&self.base_url)
    }
}

#[mellea_macros::backend(provider = "openai", crate = ::mellea_runtime)]
impl OpenAiBackend {
    /// One chat completion (`POST {base}/chat/completions`).
    #[mellea_macros::generation_hook(chat)]
    pub async fn chat(&self, request: GenerationRequest) -> Result<ChatResponse, BackendError> {
        let body = chat_body(&self.model, &request, false);
        self.http.call_json(&self.chat, &body).await
    }

    /// One chat completion, streamed as server-sent events. The generation ends when the
    /// returned stream does; the last chunk before `[DONE]` carries the usage.
    #[mellea_macros::generation_hook(stream)]
    pub async fn chat_stream(
        &self,
        request: GenerationRequest,
    ) -> Result<ChunkStream<'static, ChatChunk, BackendError>, BackendError> {
        let body = chat_body(&self.model, &request, true);
        let framing = Sse::new(self.http.settings().max_frame_bytes);
        self.http
            .call_stream(
                &self.chat,
                &body,
                "text/event-stream",
                framing,
                SseChunks::default(),
            )
            .await
    }

    /// Completions of every prompt of the batch in one call (`POST {base}/completions` with
    /// `prompt` as an array).
    #[mellea_macros::generation_hook(batch)]
    pub async fn complete_batch(
        &self,
        request: BatchGenerationRequest,
    ) -> Result<BatchCompletion, BackendError> {
        let body = completions_body(&self.model, &request);
        let mut completion: BatchCompletion = self.http.call_json(&self.completions, &body).await?;
        completion.completions.sort_by_key(|c| c.index);
        if completion.completions.len() < request.prompts.len() {
            return Err(self.http.malformed(
                &self.completions.shown,
                format!(
                    "{} prompts were sent but {} completions came back",
                    request.prompts.len(),
                    completion.completions.len()
                ),
                None,
            ));
        }
        Ok(completion)
    }
}

/// Reads `chat.completion.chunk` events up to `[DONE]`.
#[derive(Default)]
struct SseChunks {
    /// A choice has finished: a stream that ends without `[DONE]` after this lost at most the
    /// usage chunk, and some servers never send `[DONE]`.
    finished_choice: bool,
}

impl ChunkParser for SseChunks {
    type Chunk = ChatChunk;

    fn parse(&mut self, frame: &str, _chunks: u64) -> Result<Parsed<ChatChunk>, BadFrame> {
        if frame.trim() == "[DONE]" {
            return Ok(Parsed::End);
        }
        match serde_json::from_str::<ChatChunk>(frame) {
            Ok(chunk) if chunk.choices.is_empty() && chunk.usage.is_none() => {
                // A server's error object can parse as an empty chunk: check before skipping.
                match error_event(frame) {
                    Some(message) => Ok(Parsed::Error(message)),
                    None => Ok(Parsed::Skip),
                }
            }
            Ok(chunk) => {
                if chunk.choices.iter().any(|c| c.finish_reason.is_some()) {
                    self.finished_choice = true;
                }
                Ok(Parsed::Chunk(chunk))
            }
            Err(error) => match error_event(frame) {
                Some(message) => Ok(Parsed::Error(message)),
                None => Err(BadFrame::json(&error, frame)),
            },
        }
    }

    fn complete_without_end(&self) -> bool {
        self.finished_choice
    }

    fn end_marker(&self) -> &'static str {
        "`data: [DONE]`"
    }
}

/// The message of an error event (`{"error": {...}}` or `{"object": "error", ...}`).
fn error_event(frame: &str) -> Option<String> {
    let value: Value = serde_json::from_str(frame).ok()?;
    let is_error = value.get("error").is_some()
        || value.get("object").and_then(Value::as_str) == Some("error");
    is_error.then(|| http::error_message(&value)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_server_needs_a_key_and_others_do_not() {
        let error = OpenAiBackend::new(OpenAiConfig::new("gpt-4o-mini")).unwrap_err();
        assert!(
            matches!(error, ConfigError::MissingApiKey { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("OPENAI_API_KEY"));
        OpenAiBackend::new(OpenAiConfig::new("gpt-4o-mini").with_api_key("sk-test")).unwrap();
        OpenAiBackend::new(OpenAiConfig::new("m").with_base_url("http://localhost:8000/v1"))
            .unwrap();
        let error =
            OpenAiBackend::new(OpenAiConfig::new("m").with_base_url("localhost:8000")).unwrap_err();
        assert!(error.to_string().contains("OPENAI_BASE_URL"), "{error}");
    }

    #[test]
    fn url_credentials_never_show_in_debug_or_errors() {
        let config = OpenAiConfig::new("m").with_base_url("https://user:hunter2@api.openai.com/v1");
        assert!(!format!("{config:?}").contains("hunter2"), "{config:?}");
        let error = OpenAiBackend::new(config).unwrap_err();
        assert!(
            matches!(error, ConfigError::MissingApiKey { .. }),
            "{error}"
        );
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
        let bad = OpenAiConfig::new("m").with_base_url("ftp://user:hunter2@h/v1");
        let error = OpenAiBackend::new(bad).unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
        let ok = OpenAiConfig::new("m").with_base_url("http://user:hunter2@h:8000/v1");
        let backend = OpenAiBackend::new(ok).unwrap();
        assert!(!format!("{backend:?}").contains("hunter2"), "{backend:?}");
        assert!(!backend.chat_url().contains("hunter2"));
    }

    #[test]
    fn config_reads_the_environment_and_hides_the_key() {
        let config = OpenAiConfig::from_lookup(|name| match name {
            BASE_URL_ENV => Some("http://127.0.0.1:9/v1".into()),
            API_KEY_ENV => Some("sk-secret-value".into()),
            MODEL_ENV => Some("".into()),
            _ => None,
        });
        assert_eq!(config.base_url(), "http://127.0.0.1:9/v1");
        assert_eq!(
            config.model(),
            OpenAiConfig::DEFAULT_MODEL,
            "empty means unset"
        );
        assert!(config.has_api_key());
        assert!(!format!("{config:?}").contains("sk-secret-value"));
        let backend = OpenAiBackend::new(config).unwrap();
        assert!(!format!("{backend:?}").contains("sk-secret-value"));
        assert_eq!(backend.server().unwrap().port, 9);
    }
}
