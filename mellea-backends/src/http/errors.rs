//! Mapping transport failures and server answers to [`BackendError`]s, with the server's
//! message shown in a bounded, credential-free excerpt.

use std::time::Duration;

use serde_json::Value;

use super::deadline::Expired;
use super::url::Api;
use crate::error::BackendError;

/// What is wrong with a JSON document, without quoting it: serde's messages can contain the
/// offending values.
pub(crate) fn json_problem(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Io => "cannot be read",
        Category::Syntax => "is not valid JSON",
        Category::Data => "is not the expected JSON",
        Category::Eof => "ends mid-document: it was truncated",
    };
    format!("{what} (line {}, column {})", error.line(), error.column())
}

/// Maps failures of one call to [`BackendError`]s.
pub(super) struct ErrorMapper {
    pub(super) endpoint: String,
    pub(super) api: &'static Api,
    pub(super) connect_timeout: Duration,
}

impl ErrorMapper {
    pub(super) fn failure(&self, error: reqwest::Error, stage: &str) -> BackendError {
        let endpoint = self.endpoint.clone();
        if error.is_timeout() {
            // The only deadline reqwest keeps is the connect timeout.
            BackendError::Timeout {
                endpoint,
                detail: format!(
                    "no connection within {:?} (the connect timeout); raise it with \
                     `with_connect_timeout`, or check that the server is reachable",
                    self.connect_timeout
                ),
            }
        } else if error.is_connect() {
            BackendError::Unreachable {
                endpoint,
                hint: self.api.unreachable_hint,
                cause: root_cause(&error),
                source: Box::new(error.without_url()),
            }
        } else {
            BackendError::Transport {
                endpoint,
                stage: stage.to_owned(),
                cause: root_cause(&error),
                source: Box::new(error.without_url()),
            }
        }
    }

    /// The error of a deadline that passed; `chunks` when it was a stream's.
    pub(super) fn timeout(&self, expired: Expired, chunks: Option<u64>) -> BackendError {
        let at = chunks
            .map(|n| format!(" after {n} chunks of the stream"))
            .unwrap_or_default();
        let detail = match expired {
            Expired::Total(total) => format!(
                "the call took longer than its total timeout of {total:?}{at}; raise it with \
                 `with_timeout`"
            ),
            Expired::Idle(idle) => format!(
                "no data for {idle:?}{at} (the idle timeout; keep-alive comments do not count); \
                 raise it with `with_idle_timeout`, or check the server"
            ),
        };
        BackendError::Timeout {
            endpoint: self.endpoint.clone(),
            detail,
        }
    }

    pub(super) fn malformed(&self, detail: String, content: Option<String>) -> BackendError {
        BackendError::MalformedResponse {
            endpoint: self.endpoint.clone(),
            detail,
            content,
            expected: self.api.expected,
        }
    }
}

/// The innermost error of `error`'s source chain: reqwest's own message ("error sending
/// request") says less than the I/O error under it ("Connection refused").
pub(super) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

/// The message of an error body: `{"error": {"message"}}` (OpenAI), `{"error": "..."}`
/// (Ollama), `{"message"}` / `{"detail"}` (vLLM, FastAPI servers), or the text itself.
pub(crate) fn server_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body)
        && let Some(message) = error_message(&value)
    {
        return excerpt_message(message);
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    excerpt_message(text.to_owned())
}

/// A server's message, cut to 500 characters.
pub(super) fn excerpt_message(message: String) -> String {
    const LIMIT: usize = 500;
    match message.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message,
    }
}

/// The start of `text`, for messages about it.
pub(crate) fn excerpt(text: &str) -> String {
    const LIMIT: usize = 120;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

/// The message of a JSON error object, if `value` is one.
pub(crate) fn error_message(value: &Value) -> Option<String> {
    let error = value.get("error");
    error
        .and_then(|e| e.get("message"))
        .or(error.filter(|e| e.is_string()))
        .or_else(|| value.get("message"))
        .or_else(|| value.get("detail"))
        .map(|message| match message {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
}
