//! What can go wrong talking to an inference server, typed and classed for `error.type`.

use std::borrow::Cow;
use std::error::Error as StdError;

use mellea::PluginViolation;
use mellea::generation::ClassifyError;

/// Boxed cause of a transport failure (reqwest's error, kept out of the public API).
type Cause = Box<dyn StdError + Send + Sync + 'static>;

/// A failed call to an inference server.
///
/// Every variant says what to do in its message, and maps to one low-cardinality class (its
/// [`ClassifyError::error_type`], recorded as the span's `error.type`):
///
/// | variant | class |
/// |---|---|
/// | [`Unreachable`](Self::Unreachable), [`Transport`](Self::Transport) | `transport` |
/// | [`Timeout`](Self::Timeout) | `timeout` |
/// | [`Auth`](Self::Auth) | `auth` |
/// | [`RateLimited`](Self::RateLimited) | `rate_limit` |
/// | [`InvalidRequest`](Self::InvalidRequest) | `invalid_request` |
/// | [`Server`](Self::Server), [`ErrorEvent`](Self::ErrorEvent) | `server_error` |
/// | [`MalformedResponse`](Self::MalformedResponse) | `malformed_response` |
/// | [`Blocked`](Self::Blocked) | `PluginViolation` (the class the runtime gives every block) |
///
/// Messages never contain the API key: the key lives only in the `Authorization` header, and a
/// server message that echoes it is redacted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// No connection could be made (refused, DNS failure, TLS handshake failure).
    #[error("cannot connect to {endpoint}: {cause}. {hint}")]
    Unreachable {
        /// The URL that was called.
        endpoint: String,
        /// What to check, for this backend.
        hint: &'static str,
        /// The innermost cause, e.g. `Connection refused (os error 111)`.
        cause: String,
        /// The underlying failure.
        #[source]
        source: Cause,
    },
    /// The server did not answer (or stopped sending a stream) in time, or answered 408.
    #[error(
        "{endpoint} timed out: {detail}; raise the backend's timeout (`with_timeout`) or retry when the server is less busy"
    )]
    Timeout {
        /// The URL that was called.
        endpoint: String,
        /// What timed out.
        detail: String,
    },
    /// The server refused the credentials (HTTP 401 or 403).
    #[error("{endpoint} refused the request (HTTP {status}): {message}. {hint}")]
    Auth {
        /// The URL that was called.
        endpoint: String,
        /// 401 or 403.
        status: u16,
        /// The server's message.
        message: String,
        /// What to check, for this backend.
        hint: &'static str,
    },
    /// The server is rate limiting (HTTP 429).
    #[error(
        "{endpoint} is rate limiting requests (HTTP 429): {message}; retry later{}, or lower the request rate",
        retry_after.as_ref().map(|after| format!(" (the server asks to wait {after}s)")).unwrap_or_default()
    )]
    RateLimited {
        /// The URL that was called.
        endpoint: String,
        /// The server's message.
        message: String,
        /// The `Retry-After` header, when the server sent one.
        retry_after: Option<String>,
    },
    /// The server rejected the request as invalid (HTTP 400, 404, 422 and other 4xx).
    #[error(
        "{endpoint} rejected the request (HTTP {status}): {message}; check the model name and the model options"
    )]
    InvalidRequest {
        /// The URL that was called.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The server failed (HTTP 5xx, or a status no other variant covers).
    #[error(
        "{endpoint} failed (HTTP {status}): {message}; the fault is on the server: retry, or check its logs"
    )]
    Server {
        /// The URL that was called.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The server reported an error inside a stream that had begun successfully.
    #[error(
        "{endpoint} reported an error mid-stream after {chunks} chunks: {message}; the fault is on the server: retry, or check its logs"
    )]
    ErrorEvent {
        /// The URL that was called.
        endpoint: String,
        /// Chunks received before the error.
        chunks: u64,
        /// The server's message.
        message: String,
    },
    /// The connection broke after it was made: while sending, or before the whole response
    /// (or stream) arrived.
    #[error(
        "the connection to {endpoint} broke {stage}: {cause}; retry, and check for a proxy or load balancer that cuts long responses"
    )]
    Transport {
        /// The URL that was called.
        endpoint: String,
        /// Where it broke, e.g. `"while reading the response"`.
        stage: String,
        /// The innermost cause, e.g. `end of file before message length reached`.
        cause: String,
        /// The underlying failure.
        #[source]
        source: Cause,
    },
    /// The server answered something that is not the expected wire format: invalid or
    /// truncated JSON, missing fields, or a stream that ended before its end marker.
    #[error(
        "{endpoint} sent a response this backend cannot read: {detail}; check that the URL points at {expected}"
    )]
    MalformedResponse {
        /// The URL that was called.
        endpoint: String,
        /// What was wrong with it.
        detail: String,
        /// The API the backend expected to find there.
        expected: &'static str,
    },
    /// A plugin blocked the generation before the server was called.
    #[error(transparent)]
    Blocked(#[from] PluginViolation),
}

impl ClassifyError for BackendError {
    fn error_type(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            BackendError::Unreachable { .. } | BackendError::Transport { .. } => "transport",
            BackendError::Timeout { .. } => "timeout",
            BackendError::Auth { .. } => "auth",
            BackendError::RateLimited { .. } => "rate_limit",
            BackendError::InvalidRequest { .. } => "invalid_request",
            BackendError::Server { .. } | BackendError::ErrorEvent { .. } => "server_error",
            BackendError::MalformedResponse { .. } => "malformed_response",
            BackendError::Blocked(_) => "PluginViolation",
        })
    }
}

/// A backend could not be configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The base URL is not an absolute `http` / `https` URL with a host.
    #[error("{variable} is not a usable server URL ({url:?}): {reason}; use e.g. {example}")]
    InvalidUrl {
        /// Where the URL came from (an environment variable or `base_url`).
        variable: &'static str,
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
        /// A URL that would work.
        example: &'static str,
    },
    /// OpenAI's own API was selected but no API key is set.
    #[error(
        "no API key for {url}: set OPENAI_API_KEY (or call `with_api_key`), or point OPENAI_BASE_URL at a server that needs none, e.g. http://localhost:8000/v1"
    )]
    MissingApiKey {
        /// The base URL that needs a key.
        url: String,
    },
    /// A value cannot be sent as an HTTP header (e.g. an API key with a line break).
    #[error(
        "{what} cannot be sent in an HTTP header: {reason}; check it for line breaks or stray characters"
    )]
    InvalidHeader {
        /// Which value.
        what: &'static str,
        /// Why not.
        reason: String,
    },
    /// A number read from the environment does not parse.
    #[error("{variable} must be a number of seconds, got {value:?}")]
    InvalidNumber {
        /// The environment variable.
        variable: &'static str,
        /// Its value.
        value: String,
    },
    /// The HTTP client could not be built (e.g. no TLS root certificates).
    #[error("the HTTP client cannot be built: {0}")]
    Client(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_class() {
        let endpoint = || "http://127.0.0.1:1/v1/chat/completions".to_owned();
        let cases: Vec<(BackendError, &str)> = vec![
            (
                BackendError::Unreachable {
                    endpoint: endpoint(),
                    hint: "",
                    cause: "refused".into(),
                    source: "refused".into(),
                },
                "transport",
            ),
            (
                BackendError::Transport {
                    endpoint: endpoint(),
                    stage: "while reading the response".into(),
                    cause: "reset".into(),
                    source: "reset".into(),
                },
                "transport",
            ),
            (
                BackendError::Timeout {
                    endpoint: endpoint(),
                    detail: "no answer within 1s".into(),
                },
                "timeout",
            ),
            (
                BackendError::Auth {
                    endpoint: endpoint(),
                    status: 401,
                    message: "bad key".into(),
                    hint: "",
                },
                "auth",
            ),
            (
                BackendError::RateLimited {
                    endpoint: endpoint(),
                    message: "slow down".into(),
                    retry_after: Some("2".into()),
                },
                "rate_limit",
            ),
            (
                BackendError::InvalidRequest {
                    endpoint: endpoint(),
                    status: 400,
                    message: "bad".into(),
                },
                "invalid_request",
            ),
            (
                BackendError::Server {
                    endpoint: endpoint(),
                    status: 500,
                    message: "oops".into(),
                },
                "server_error",
            ),
            (
                BackendError::ErrorEvent {
                    endpoint: endpoint(),
                    chunks: 2,
                    message: "oops".into(),
                },
                "server_error",
            ),
            (
                BackendError::MalformedResponse {
                    endpoint: endpoint(),
                    detail: "not JSON".into(),
                    expected: "an OpenAI-compatible API",
                },
                "malformed_response",
            ),
        ];
        for (error, class) in cases {
            assert_eq!(error.error_type(), class, "{error}");
        }
    }

    #[test]
    fn rate_limit_message_mentions_retry_after_only_when_sent() {
        let with = BackendError::RateLimited {
            endpoint: "e".into(),
            message: "m".into(),
            retry_after: Some("20".into()),
        };
        assert!(with.to_string().contains("wait 20s"), "{with}");
        let without = BackendError::RateLimited {
            endpoint: "e".into(),
            message: "m".into(),
            retry_after: None,
        };
        assert!(!without.to_string().contains("wait"), "{without}");
    }
}
