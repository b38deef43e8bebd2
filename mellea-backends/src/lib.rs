//! Ready-made HTTP backends for [mellea](https://docs.rs/mellea), written with mellea's own
//! `#[backend]` / `#[generation_hook]` attributes: every call fires the generation hooks (and,
//! with the tracing plugin, emits an OpenTelemetry GenAI span) without a line of telemetry code
//! here.
//!
//! - [`openai`] (feature `openai`): any server that speaks the OpenAI chat-completions wire
//!   format — OpenAI, vLLM, llama.cpp's server, LM Studio, Ollama's `/v1` — with plain and SSE
//!   streamed chat, and the legacy `/v1/completions` endpoint for batches.
//! - [`ollama`] (feature `ollama`): Ollama's native `/api/chat` (plain and NDJSON streamed) and
//!   `/api/generate` (batches).
//!
//! Both inject the W3C `traceparent` header of the current OpenTelemetry context, so a traced
//! inference server joins the caller's trace, and both fail with a typed [`BackendError`] whose
//! [`ClassifyError`](mellea_runtime::generation::ClassifyError) class (`rate_limit`, `timeout`,
//! `auth`, `invalid_request`, `server_error`, `transport`, `malformed_response`) becomes the
//! span's `error.type`. Spans get the error's content-free description, never the server's
//! message (which may quote the prompt) unless content capture is on.
//!
//! Both bound every call the same way, through one shared HTTP layer ([`HttpSettings`]):
//! connect, idle and total deadlines; caps on body and stream-frame sizes; and retries like
//! the official OpenAI SDKs ([`RetryPolicy`]), each retried attempt recorded as an event on
//! the generation's one span.
//!
//! Use it through the `mellea` crate (`mellea::backends`), whose default features enable both
//! backends.
//!
//! ```no_run
//! # #[cfg(feature = "openai")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mellea_backends::openai::OpenAiBackend;
//! use mellea_runtime::generation::{GenerationRequest, Message};
//!
//! // OPENAI_BASE_URL, OPENAI_API_KEY and OPENAI_MODEL, with defaults for what is unset.
//! let backend = OpenAiBackend::from_env()?;
//! let reply = backend.chat(GenerationRequest::new([Message::user("Say hi")])).await?;
//! println!("{}", reply.text().unwrap_or_default());
//! # Ok(())
//! # }
//! ```
//!
//! The backends call reqwest, which needs a tokio runtime with I/O and timers enabled (what
//! `#[tokio::main]` builds).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
// No `unsafe`: an exception needs a local `#[allow(unsafe_code)]` and a comment proving why
// nothing safe works.
#![deny(unsafe_code)]

mod error;
#[cfg(any(feature = "openai", feature = "ollama"))]
mod function_tool;
mod http;
mod lines;
mod retry;
mod settings;

#[cfg(feature = "ollama")]
pub mod ollama;
#[cfg(feature = "openai")]
pub mod openai;

pub use error::{BackendError, ConfigError};
pub use retry::RetryPolicy;
pub use settings::{ERROR_BODY_LIMIT, HttpSettings, NO_DEADLINE_ABOVE};
