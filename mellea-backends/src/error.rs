//! What can go wrong talking to an inference server, typed and classed for `error.type`.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::time::Duration;

use mellea_runtime::PluginViolation;
use mellea_runtime::generation::ClassifyError;

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
/// | [`ResponseTooLarge`](Self::ResponseTooLarge) | `response_too_large` |
/// | [`Blocked`](Self::Blocked) | `PluginViolation` (the class the runtime gives every block) |
///
/// Messages never contain the API key or URL credentials: the key lives only in the
/// `Authorization` header, a server message that echoes it is redacted, and URLs are shown
/// without their userinfo. The server's own words (`message`, `content` fields) stay in the
/// error for the caller, but [`ClassifyError::safe_description`] leaves them out, so spans
/// never record them unless content capture is on.
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
    /// A deadline passed (connect, idle or total timeout), or the server answered 408.
    #[error("{endpoint} timed out: {detail}")]
    Timeout {
        /// The URL that was called.
        endpoint: String,
        /// Which deadline passed and the setting that raises it.
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
    /// The server is rate limiting (HTTP 429), or the account's quota is used up
    /// (`insufficient_quota`, never retried).
    #[error(
        "{endpoint} is rate limiting requests (HTTP 429): {message}; {}",
        rate_limit_advice(*quota_exhausted, *retry_after)
    )]
    RateLimited {
        /// The URL that was called.
        endpoint: String,
        /// The server's message.
        message: String,
        /// The wait the server asked for (`retry-after-ms` or `Retry-After`), when it sent
        /// one.
        retry_after: Option<Duration>,
        /// The server said the quota is used up: waiting does not help.
        quota_exhausted: bool,
    },
    /// The server rejected the request as invalid (HTTP 400, 404, 409, 422 and other 4xx).
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
        "{endpoint} failed (HTTP {status}): {message}; the fault is on the server: retry{}, or check its logs",
        retry_after.map(|wait| format!(" (it asks to wait {wait:?})")).unwrap_or_default()
    )]
    Server {
        /// The URL that was called.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
        /// The wait the server asked for (e.g. a 503's `Retry-After`), when it sent one.
        retry_after: Option<Duration>,
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
        "{endpoint} sent a response this backend cannot read: {detail}{}; check that the URL points at {expected}",
        content.as_deref().map(|c| format!(" ({c})")).unwrap_or_default()
    )]
    MalformedResponse {
        /// The URL that was called.
        endpoint: String,
        /// What was wrong with it, in the backend's words (no response text).
        detail: String,
        /// The parser's message and an excerpt of the offending text, which may quote the
        /// answer.
        content: Option<String>,
        /// The API the backend expected to find there.
        expected: &'static str,
    },
    /// A response body or one frame of a stream was larger than its cap.
    #[error(
        "{endpoint} sent {what} larger than {limit} bytes; raise the cap with `{setting}` if the server is trusted and such answers are expected"
    )]
    ResponseTooLarge {
        /// The URL that was called.
        endpoint: String,
        /// What was too large, e.g. `"a response body"`, `"an SSE event"`.
        what: &'static str,
        /// The cap, in bytes.
        limit: usize,
        /// The setting that raises it.
        setting: &'static str,
    },
    /// A plugin blocked the generation before the server was called.
    #[error(transparent)]
    Blocked(#[from] PluginViolation),
}

fn rate_limit_advice(quota_exhausted: bool, retry_after: Option<Duration>) -> String {
    if quota_exhausted {
        return "the account's quota is used up: check the plan and billing".to_owned();
    }
    match retry_after {
        Some(wait) => {
            format!("retry later (the server asks to wait {wait:?}), or lower the request rate")
        }
        None => "retry later, or lower the request rate".to_owned(),
    }
}

impl BackendError {
    /// The wait the server asked for before trying again (`retry-after-ms` or `Retry-After`
    /// of a 429 or 5xx answer), when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            BackendError::RateLimited { retry_after, .. }
            | BackendError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status the server answered with, for errors that are one.
    pub fn status(&self) -> Option<u16> {
        match self {
            BackendError::Auth { status, .. }
            | BackendError::InvalidRequest { status, .. }
            | BackendError::Server { status, .. } => Some(*status),
            BackendError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }
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
            BackendError::ResponseTooLarge { .. } => "response_too_large",
            BackendError::Blocked(_) => "PluginViolation",
        })
    }

    /// The status, class, endpoint and where it failed; never the server's message, a
    /// fragment of its answer, or a plugin's reason (any of which may quote the prompt).
    fn safe_description(&self) -> Cow<'static, str> {
        let text = match self {
            BackendError::Unreachable {
                endpoint, cause, ..
            } => format!("cannot connect to {endpoint}: {cause}"),
            BackendError::Timeout { endpoint, detail } => {
                format!("{endpoint} timed out: {detail}")
            }
            BackendError::Auth {
                endpoint, status, ..
            } => format!("{endpoint} refused the request (HTTP {status})"),
            BackendError::RateLimited {
                endpoint,
                retry_after,
                quota_exhausted,
                ..
            } => format!(
                "{endpoint} is rate limiting requests (HTTP 429){}{}",
                if *quota_exhausted {
                    ", quota used up"
                } else {
                    ""
                },
                retry_after
                    .map(|wait| format!(", retry after {wait:?}"))
                    .unwrap_or_default()
            ),
            BackendError::InvalidRequest {
                endpoint, status, ..
            } => format!("{endpoint} rejected the request (HTTP {status})"),
            BackendError::Server {
                endpoint, status, ..
            } => format!("{endpoint} failed (HTTP {status})"),
            BackendError::ErrorEvent {
                endpoint, chunks, ..
            } => format!("{endpoint} reported an error mid-stream after {chunks} chunks"),
            BackendError::Transport {
                endpoint,
                stage,
                cause,
                ..
            } => format!("the connection to {endpoint} broke {stage}: {cause}"),
            BackendError::MalformedResponse {
                endpoint, detail, ..
            } => format!("{endpoint} sent a response this backend cannot read: {detail}"),
            BackendError::ResponseTooLarge { .. } => self.to_string(),
            BackendError::Blocked(violation) => match violation.code.as_str() {
                "" => format!("blocked by {}", violation.plugin_name),
                code => format!("blocked by {} [{code}]", violation.plugin_name),
            },
        };
        Cow::Owned(text)
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
        /// The URL as given, with any userinfo (`user:password@`) replaced by `***`.
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
        /// The base URL that needs a key, without userinfo.
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
                    retry_after: Some(Duration::from_secs(2)),
                    quota_exhausted: false,
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
                    retry_after: None,
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
                    content: None,
                    expected: "an OpenAI-compatible API",
                },
                "malformed_response",
            ),
            (
                BackendError::ResponseTooLarge {
                    endpoint: endpoint(),
                    what: "a response body",
                    limit: 16,
                    setting: "with_max_body_bytes",
                },
                "response_too_large",
            ),
        ];
        for (error, class) in cases {
            assert_eq!(error.error_type(), class, "{error}");
        }
    }

    #[test]
    fn rate_limit_message_gives_the_wait_as_a_duration_only_when_sent() {
        let with = BackendError::RateLimited {
            endpoint: "e".into(),
            message: "m".into(),
            retry_after: Some(Duration::from_millis(1500)),
            quota_exhausted: false,
        };
        assert!(with.to_string().contains("wait 1.5s"), "{with}");
        assert_eq!(with.retry_after(), Some(Duration::from_millis(1500)));
        let without = BackendError::RateLimited {
            endpoint: "e".into(),
            message: "m".into(),
            retry_after: None,
            quota_exhausted: false,
        };
        assert!(!without.to_string().contains("wait"), "{without}");
        let quota = BackendError::RateLimited {
            endpoint: "e".into(),
            message: "m".into(),
            retry_after: None,
            quota_exhausted: true,
        };
        assert!(quota.to_string().contains("quota is used up"), "{quota}");
    }

    #[test]
    fn safe_descriptions_leave_the_servers_words_out() {
        let canary = "your message 'canary-1234' is too long";
        let errors = [
            BackendError::InvalidRequest {
                endpoint: "http://h/v1/chat/completions".into(),
                status: 400,
                message: canary.into(),
            },
            BackendError::Auth {
                endpoint: "e".into(),
                status: 401,
                message: canary.into(),
                hint: "",
            },
            BackendError::RateLimited {
                endpoint: "e".into(),
                message: canary.into(),
                retry_after: None,
                quota_exhausted: false,
            },
            BackendError::Server {
                endpoint: "e".into(),
                status: 503,
                message: canary.into(),
                retry_after: Some(Duration::from_secs(1)),
            },
            BackendError::ErrorEvent {
                endpoint: "e".into(),
                chunks: 3,
                message: canary.into(),
            },
            BackendError::MalformedResponse {
                endpoint: "e".into(),
                detail: "frame 2 is not a chunk".into(),
                content: Some(canary.into()),
                expected: "",
            },
            BackendError::Blocked(PluginViolation::new(
                mellea_runtime::hooks::HookType::GenerationPreCall,
                canary,
                "PII",
                "guard",
            )),
        ];
        for error in errors {
            assert!(error.to_string().contains("canary-1234"), "{error}");
            let description = error.safe_description();
            assert!(!description.contains("canary"), "{description}");
            assert!(!description.is_empty());
        }
    }
}
