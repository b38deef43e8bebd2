//! A backend for Ollama's native API.
//!
//! - [`OllamaBackend::chat`]: `POST {host}/api/chat` with `"stream": false`.
//! - [`OllamaBackend::chat_stream`]: the same with `"stream": true`, read as newline-delimited
//!   JSON up to the line with `"done": true`.
//! - [`OllamaBackend::generate_batch`]: one `POST {host}/api/generate` per prompt, run
//!   concurrently as one generation (Ollama has no multi-prompt endpoint; it schedules the
//!   calls itself, `OLLAMA_NUM_PARALLEL` at a time).
//!
//! Usage comes from `prompt_eval_count` / `eval_count`, the finish reason from `done_reason`.
//! Model options map onto Ollama's `options`: `temperature`, `max_tokens` → `num_predict`,
//! `top_p`, `seed`, `stop`, and any other key verbatim (`num_ctx`, `top_k`, ...), except the
//! top-level fields `keep_alive`, `think`, `format`, `raw`, `system`, `suffix` and `template`,
//! which stay top-level. A [`Format`](mellea_runtime::hooks::Format) becomes `format` (its JSON schema).
//! Tools ([`GenerationRequest::tools`], or raw `model_options["tools"]`) are sent only while
//! the request's `tool_calls` flag is on. An assistant message's tool calls go out with their
//! arguments as JSON objects, and a tool result as a `tool` message naming its tool
//! (`tool_name`, found from the call it answers).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mellea_backends::ollama::{OllamaBackend, OllamaConfig};
//! use mellea_runtime::generation::{GenerationRequest, Message};
//!
//! let backend = OllamaBackend::new(OllamaConfig::new("granite4:micro"))?;
//! let reply = backend.chat(GenerationRequest::new([Message::user("Say hi")])).await?;
//! println!("{}", reply.text());
//! # Ok(())
//! # }
//! ```

mod types;
mod wire;

use std::fmt;
use std::time::Duration;

use mellea_runtime::generation::{
    BackendIdentity, BatchGenerationRequest, ChunkStream, GenerationRequest, ServerAddress,
};
use reqwest::Url;
use serde_json::Value;

pub use types::{
    GenerateResponse, OllamaChatResponse, OllamaFunctionCall, OllamaMessage, OllamaToolCall,
};

use crate::error::{BackendError, ConfigError};
use crate::http::{self, Api, BadFrame, ChunkParser, HttpCaller, Parsed, Target};
use crate::lines::NdJson;
use crate::settings::HttpSettings;
use wire::{chat_body, generate_body};

/// The error of every [`OllamaBackend`] method.
pub type OllamaError = BackendError;

/// Environment variable of the server (`host:port` or a URL), as Ollama's own CLI reads it.
pub const HOST_ENV: &str = "OLLAMA_HOST";
/// Environment variable of the model.
pub const MODEL_ENV: &str = "OLLAMA_MODEL";
/// Environment variable of an API key, for servers behind an authenticating proxy.
pub const API_KEY_ENV: &str = "OLLAMA_API_KEY";

static API: Api = Api {
    unreachable_hint: "Is Ollama running there? Start it with `ollama serve`, or set OLLAMA_HOST (or `with_host`) to where it listens",
    auth_hint: "The server (or a proxy in front of it) wants credentials: set OLLAMA_API_KEY (or `with_api_key`)",
    expected: "Ollama's native API (OLLAMA_HOST names the server, without /api or /v1)",
};

/// The port Ollama listens on unless told otherwise.
const DEFAULT_PORT: u16 = 11434;

/// Where and how an [`OllamaBackend`] calls: host, model, an optional API key, and the
/// deadlines, caps and retries of [`HttpSettings`] (with an idle timeout of
/// [`DEFAULT_IDLE_TIMEOUT`](Self::DEFAULT_IDLE_TIMEOUT), as the first call loads the model).
///
/// `Debug` never shows the API key or credentials in the host.
#[derive(Clone)]
pub struct OllamaConfig {
    host: String,
    model: String,
    api_key: Option<String>,
    http: HttpSettings,
}

impl OllamaConfig {
    /// Ollama on this machine.
    pub const DEFAULT_HOST: &'static str = "http://localhost:11434";
    /// The model when `OLLAMA_MODEL` is unset (the Python mellea's default).
    pub const DEFAULT_MODEL: &'static str = "granite4:micro";
    /// How long a stream may wait for its first and every next data event; generous, as the
    /// first call loads the model.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

    /// Calls `model` on Ollama at `localhost:11434`.
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            host: Self::DEFAULT_HOST.into(),
            model: model.into(),
            api_key: None,
            http: HttpSettings::default().with_idle_timeout(Self::DEFAULT_IDLE_TIMEOUT),
        }
    }

    /// From `OLLAMA_HOST`, `OLLAMA_MODEL` and `OLLAMA_API_KEY`; unset or empty variables take
    /// the defaults.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`from_env`](Self::from_env), reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let read = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut config = Self::new(read(MODEL_ENV).unwrap_or_else(|| Self::DEFAULT_MODEL.into()));
        if let Some(host) = read(HOST_ENV) {
            config.host = host;
        }
        config.api_key = read(API_KEY_ENV);
        config
    }

    /// The server, as `OLLAMA_HOST` takes it: `host[:port]` (scheme `http`, port 11434 by
    /// default) or a URL (`http://gpu-box:11434`; a URL without a port has its scheme's).
    #[must_use]
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// The model to call.
    #[must_use]
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// An API key, sent as `Authorization: Bearer <key>` and nowhere else.
    #[must_use]
    pub fn with_api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    crate::settings::http_setters!(
        "The longest a stream may go without a data event, keep-alives not counting \
         ([`DEFAULT_IDLE_TIMEOUT`](Self::DEFAULT_IDLE_TIMEOUT) unless set)."
    );

    /// The host as given.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The deadlines, size caps and retry policy.
    pub fn http(&self) -> &HttpSettings {
        &self.http
    }
}

impl fmt::Debug for OllamaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OllamaConfig")
            .field("host", &http::without_userinfo(&self.host))
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("http", &self.http)
            .finish()
    }
}

/// The server URL of an `OLLAMA_HOST` value, read as Ollama's CLI reads it: without a scheme,
/// `http` and port 11434 (`localhost`, `:8080`, `10.0.0.2:11500`); with one, the scheme's
/// default port (`http://gpu-box` is port 80).
fn host_url(raw: &str) -> Result<Url, ConfigError> {
    let raw = raw.trim();
    let has_scheme = raw.contains("://");
    let with_scheme = match raw {
        _ if has_scheme => raw.to_owned(),
        _ if raw.starts_with(':') => format!("http://127.0.0.1{raw}"),
        _ => format!("http://{raw}"),
    };
    let mut url = http::parse_base_url(&with_scheme, HOST_ENV, "http://localhost:11434").map_err(
        |error| match error {
            ConfigError::InvalidUrl {
                variable,
                reason,
                example,
                ..
            } => ConfigError::InvalidUrl {
                variable,
                url: http::without_userinfo(raw),
                reason,
                example,
            },
            other => other,
        },
    )?;
    if !has_scheme && url.port().is_none() {
        // Cannot fail: an http URL with a host can carry a port.
        let _ = url.set_port(Some(DEFAULT_PORT));
    }
    Ok(url)
}

/// A backend for Ollama's native API; see the [module docs](self).
pub struct OllamaBackend {
    model: String,
    host: Url,
    chat: Target,
    generate: Target,
    http: HttpCaller,
}

impl OllamaBackend {
    /// A backend for `config`; fails when the host is not a usable URL.
    pub fn new(config: OllamaConfig) -> Result<Self, ConfigError> {
        let host = host_url(&config.host)?;
        Ok(Self {
            http: HttpCaller::new(&API, config.api_key.as_deref(), config.http)?,
            chat: http::join(&host, "api/chat"),
            generate: http::join(&host, "api/generate"),
            host,
            model: config.model,
        })
    }

    /// A backend configured from the environment ([`OllamaConfig::from_env`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new(OllamaConfig::from_env())
    }

    /// The model this backend calls.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The `/api/chat` URL this backend calls (without credentials).
    pub fn chat_url(&self) -> &str {
        &self.chat.shown
    }
}

impl fmt::Debug for OllamaBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OllamaBackend")
            .field("model", &self.model)
            .field("chat_url", &self.chat.shown)
            .field("api_key", &self.http.has_api_key().then_some("<redacted>"))
            .field("http", self.http.settings())
            .finish()
    }
}

impl BackendIdentity for OllamaBackend {
    fn model_id(&self) -> &str {
        &self.model
    }
    fn server(&self) -> Option<ServerAddress<'_>> {
        http::server_of(&self.host)
    }
}

#[mellea_macros::backend(provider = "ollama", crate = ::mellea_runtime)]
impl OllamaBackend {
    /// One chat answer (`POST {host}/api/chat`, not streamed).
    #[mellea_macros::generation_hook(chat)]
    pub async fn chat(
        &self,
        request: GenerationRequest,
    ) -> Result<OllamaChatResponse, BackendError> {
        let body = chat_body(&self.model, &request, false);
        self.http.call_json(&self.chat, &body).await
    }

    /// One chat answer, streamed as newline-delimited JSON. The generation ends when the
    /// returned stream does; its last chunk (`done: true`) carries the counts.
    #[mellea_macros::generation_hook(stream)]
    pub async fn chat_stream(
        &self,
        request: GenerationRequest,
    ) -> Result<ChunkStream<'static, OllamaChatResponse, BackendError>, BackendError> {
        let body = chat_body(&self.model, &request, true);
        let framing = NdJson::new(self.http.settings().max_frame_bytes);
        self.http
            .call_stream(
                &self.chat,
                &body,
                "application/x-ndjson",
                framing,
                NdJsonChunks,
            )
            .await
    }

    /// One completion per prompt (`POST {host}/api/generate` each, concurrently), in prompt
    /// order; the first failure fails the batch and cancels the other calls.
    #[mellea_macros::generation_hook(batch)]
    pub async fn generate_batch(
        &self,
        request: BatchGenerationRequest,
    ) -> Result<Vec<GenerateResponse>, BackendError> {
        let bodies: Vec<Value> = request
            .prompts
            .iter()
            .map(|prompt| generate_body(&self.model, prompt, &request))
            .collect();
        self.http.call_json_all(&self.generate, &bodies).await
    }
}

/// Reads `/api/chat` NDJSON lines up to the one with `"done": true`.
struct NdJsonChunks;

impl ChunkParser for NdJsonChunks {
    type Chunk = OllamaChatResponse;

    fn parse(&mut self, frame: &str, _chunks: u64) -> Result<Parsed<OllamaChatResponse>, BadFrame> {
        match serde_json::from_str::<OllamaChatResponse>(frame) {
            Ok(chunk) if chunk.done => Ok(Parsed::Last(chunk)),
            Ok(chunk) => Ok(Parsed::Chunk(chunk)),
            // Ollama reports a failure mid-stream as a line `{"error": "..."}`.
            Err(error) => match serde_json::from_str::<Value>(frame)
                .ok()
                .filter(|value| value.get("error").is_some())
                .and_then(|value| http::error_message(&value))
            {
                Some(message) => Ok(Parsed::Error(message)),
                None => Err(BadFrame::json(&error, frame)),
            },
        }
    }

    fn end_marker(&self) -> &'static str {
        "a line with `\"done\": true`"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_host_takes_the_forms_the_cli_takes() {
        let cases = [
            ("localhost", "http://localhost:11434/"),
            ("127.0.0.1:8080", "http://127.0.0.1:8080/"),
            (":8080", "http://127.0.0.1:8080/"),
            ("http://gpu-box", "http://gpu-box/"),
            ("https://ollama.example.com", "https://ollama.example.com/"),
            ("http://proxy:80/ollama", "http://proxy/ollama"),
        ];
        for (raw, expected) in cases {
            assert_eq!(host_url(raw).unwrap().as_str(), expected, "{raw}");
        }
        let error = host_url("ftp://x").unwrap_err();
        assert!(error.to_string().contains("OLLAMA_HOST"), "{error}");
        let error = host_url("ftp://user:hunter2@x").unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
        let config = OllamaConfig::new("m").with_host("user:hunter2@gpu-box:11434");
        assert!(!format!("{config:?}").contains("hunter2"), "{config:?}");
        let backend = OllamaBackend::new(config).unwrap();
        assert!(!format!("{backend:?}").contains("hunter2"), "{backend:?}");
        let backend =
            OllamaBackend::new(OllamaConfig::new("m").with_host("http://proxy/ollama")).unwrap();
        assert_eq!(backend.chat_url(), "http://proxy/ollama/api/chat");
        assert_eq!(backend.server().unwrap().port, 80);
    }

    #[test]
    fn config_reads_the_environment() {
        let config = OllamaConfig::from_lookup(|name| match name {
            HOST_ENV => Some("10.0.0.2:11500".into()),
            MODEL_ENV => Some("llama3.2".into()),
            _ => None,
        });
        assert_eq!(config.host(), "10.0.0.2:11500");
        assert_eq!(config.model(), "llama3.2");
        let backend = OllamaBackend::new(config).unwrap();
        let server = backend.server().unwrap();
        assert_eq!((server.host, server.port), ("10.0.0.2", 11500));
        let defaults = OllamaConfig::from_lookup(|_| None);
        assert_eq!(defaults.host(), OllamaConfig::DEFAULT_HOST);
        assert_eq!(defaults.model(), OllamaConfig::DEFAULT_MODEL);
    }
}
