//! What an error status means: its body read within bounds, mapped to a [`BackendError`].

use std::time::{Duration, SystemTime};

use reqwest::{Response, StatusCode};
use serde_json::Value;
use tokio::time::Instant;

use super::caller::{Failure, HttpCaller};
use super::deadline::{Deadline, deadline_of, read_prefix, within};
use super::errors::{ErrorMapper, server_message};
use super::url::Target;
use crate::error::BackendError;
use crate::retry;
use crate::settings::ERROR_BODY_LIMIT;

impl HttpCaller {
    /// The failure of a response with an error status; its body is read up to
    /// [`ERROR_BODY_LIMIT`] bytes and for at most the idle timeout.
    pub(super) async fn status_failure(
        &self,
        response: Response,
        target: &Target,
        deadline: Deadline,
    ) -> Failure {
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let server_wait = retry::server_wait(
            header("retry-after-ms").as_deref(),
            header("retry-after").as_deref(),
            SystemTime::now(),
        );
        let should_retry = header("x-should-retry");
        let limit = deadline.with_idle(deadline_of(self.settings.idle_timeout), Instant::now());
        let (bytes, complete) = read_prefix(response, ERROR_BODY_LIMIT, limit).await;
        let parsed = serde_json::from_slice::<Value>(&bytes).ok();
        let message = if bytes.is_empty() && !complete {
            String::from("(the error body could not be read)")
        } else {
            server_message(&bytes)
        };
        let quota_exhausted = parsed.as_ref().is_some_and(is_quota_exhausted);
        let code = status.as_u16();
        let retryable = match should_retry.as_deref() {
            Some("true") => true,
            Some("false") => false,
            _ => matches!(code, 408 | 409 | 500..=599) || (code == 429 && !quota_exhausted),
        };
        Failure {
            error: self.status_error(
                status,
                self.redact(message),
                server_wait,
                quota_exhausted,
                &target.shown,
            ),
            retryable,
            status: Some(code),
            server_wait,
        }
    }

    /// Reads a whole body, up to the body cap, within the total deadline.
    pub(super) async fn read_body(
        &self,
        mut response: Response,
        target: &Target,
        deadline: Deadline,
    ) -> Result<Vec<u8>, BackendError> {
        let max = self.settings.max_body_bytes;
        let too_large = || BackendError::ResponseTooLarge {
            endpoint: target.shown.clone(),
            what: "a response body",
            limit: max,
            setting: "with_max_body_bytes",
        };
        let declared = response.content_length().unwrap_or(0);
        if declared > max as u64 {
            return Err(too_large());
        }
        let mut body = Vec::with_capacity(declared as usize);
        let limit = deadline.with_idle(None, Instant::now());
        loop {
            match within(limit, response.chunk()).await {
                Ok(Ok(Some(chunk))) => {
                    if body.len() + chunk.len() > max {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(Ok(None)) => return Ok(body),
                Ok(Err(error)) => {
                    return Err(self
                        .errors(&target.shown)
                        .failure(error, "while reading the response"));
                }
                Err(expired) => return Err(self.errors(&target.shown).timeout(expired, None)),
            }
        }
    }

    pub(crate) fn malformed(
        &self,
        endpoint: &str,
        detail: String,
        content: Option<String>,
    ) -> BackendError {
        self.errors(endpoint).malformed(detail, content)
    }

    pub(super) fn errors(&self, endpoint: &str) -> ErrorMapper {
        ErrorMapper {
            endpoint: endpoint.to_owned(),
            api: self.api,
            connect_timeout: self.settings.connect_timeout,
        }
    }

    pub(super) fn status_error(
        &self,
        status: StatusCode,
        message: String,
        retry_after: Option<Duration>,
        quota_exhausted: bool,
        endpoint: &str,
    ) -> BackendError {
        let endpoint = endpoint.to_owned();
        let code = status.as_u16();
        match code {
            401 | 403 => BackendError::Auth {
                endpoint,
                status: code,
                message,
                hint: self.api.auth_hint,
            },
            429 => BackendError::RateLimited {
                endpoint,
                message,
                retry_after,
                quota_exhausted,
            },
            // The server's words add nothing to a 408 and may quote the request.
            408 => BackendError::Timeout {
                endpoint,
                detail: "the server gave up waiting for the request (HTTP 408); retry when the \
                         network or the server is less busy"
                    .into(),
            },
            400..=499 => BackendError::InvalidRequest {
                endpoint,
                status: code,
                message,
            },
            _ => BackendError::Server {
                endpoint,
                status: code,
                message,
                retry_after,
            },
        }
    }

    /// `text` with the API key replaced, should a server echo it.
    pub(super) fn redact(&self, text: String) -> String {
        match &self.secret {
            Some(secret) if text.contains(secret.as_str()) => text.replace(secret, "<redacted>"),
            _ => text,
        }
    }
}

/// Whether an error body says the account's quota is used up (OpenAI's
/// `insufficient_quota`), which waiting does not fix.
pub(super) fn is_quota_exhausted(value: &Value) -> bool {
    let error = value.get("error");
    ["code", "type"].iter().any(|field| {
        error.and_then(|e| e.get(field)).and_then(Value::as_str) == Some("insufficient_quota")
    })
}
