//! The HTTP client of one backend and its retry loop: one call, many attempts, one deadline.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use mellea_runtime::generation::{ChunkStream, with_generation_span};
use mellea_runtime::telemetry::semconv;
use opentelemetry::{Context, KeyValue};
use reqwest::Response;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;

use super::deadline::{Deadline, deadline_of, within};
use super::errors::json_problem;
use super::propagate::inject_trace_context;
use super::stream::{ChunkParser, StreamState};
use super::url::{Api, Target};
use crate::error::{BackendError, ConfigError};
use crate::lines::Framing;
use crate::settings::{HttpSettings, deadline};

/// The HTTP client of one backend, with its credentials, deadlines, caps and retry policy.
pub(crate) struct HttpCaller {
    pub(super) client: reqwest::Client,
    pub(super) authorization: Option<HeaderValue>,
    /// Kept only to redact it from server messages that echo it.
    pub(super) secret: Option<String>,
    pub(super) settings: HttpSettings,
    pub(super) api: &'static Api,
}

/// A failed attempt, and whether another may follow.
pub(super) struct Failure {
    pub(super) error: BackendError,
    pub(super) retryable: bool,
    pub(super) status: Option<u16>,
    pub(super) server_wait: Option<Duration>,
}

impl Failure {
    pub(super) fn last(error: BackendError) -> Self {
        Self {
            error,
            retryable: false,
            status: None,
            server_wait: None,
        }
    }
}

impl HttpCaller {
    pub(crate) fn new(
        api: &'static Api,
        api_key: Option<&str>,
        settings: HttpSettings,
    ) -> Result<Self, ConfigError> {
        let authorization = api_key
            .map(|key| {
                let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|e| {
                    ConfigError::InvalidHeader {
                        what: "the API key",
                        reason: e.to_string(),
                    }
                })?;
                // Keeps it out of reqwest's and http's Debug output.
                value.set_sensitive(true);
                Ok(value)
            })
            .transpose()?;
        // Only the connect timeout is reqwest's: the idle and total deadlines are kept here,
        // where data events can be told from keep-alives and retries share one deadline.
        let mut client =
            reqwest::Client::builder().user_agent(concat!("mellea-rs/", env!("CARGO_PKG_VERSION")));
        if let Some(connect) = deadline(settings.connect_timeout) {
            client = client.connect_timeout(connect);
        }
        let client = client
            .build()
            .map_err(|e| ConfigError::Client(e.to_string()))?;
        Ok(Self {
            client,
            authorization,
            secret: api_key.filter(|key| !key.is_empty()).map(str::to_owned),
            settings,
            api,
        })
    }

    pub(crate) fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    pub(crate) fn has_api_key(&self) -> bool {
        self.authorization.is_some()
    }

    /// POSTs `body` and reads the whole JSON answer, within the total deadline.
    pub(crate) async fn call_json<T: DeserializeOwned>(
        &self,
        target: &Target,
        body: &Value,
    ) -> Result<T, BackendError> {
        let attempts = AtomicU32::new(0);
        let result = self.json_call(target, body, &attempts).await;
        record_attempts(&attempts);
        result
    }

    /// POSTs every body of `bodies` concurrently and reads their JSON answers in order; the
    /// first failure fails all (and cancels the others). The generation's span counts every
    /// request made.
    pub(crate) async fn call_json_all<T: DeserializeOwned>(
        &self,
        target: &Target,
        bodies: &[Value],
    ) -> Result<Vec<T>, BackendError> {
        let attempts = AtomicU32::new(0);
        let calls = bodies
            .iter()
            .map(|body| self.json_call(target, body, &attempts));
        let result = futures_util::future::try_join_all(calls).await;
        record_attempts(&attempts);
        result
    }

    pub(super) async fn json_call<T: DeserializeOwned>(
        &self,
        target: &Target,
        body: &Value,
        attempts: &AtomicU32,
    ) -> Result<T, BackendError> {
        let deadline = Deadline::start(self.settings.total(false));
        let response = self
            .send(target, body, "application/json", deadline, false, attempts)
            .await?;
        let bytes = self.read_body(response, target, deadline).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            self.malformed(
                &target.shown,
                format!("the {}-byte body {}", bytes.len(), json_problem(&e)),
                Some(e.to_string()),
            )
        })
    }

    /// POSTs `body` and turns the streamed answer into chunks, framed by `framing` and parsed
    /// by `parser`. Retries happen only before the stream begins.
    pub(crate) async fn call_stream<F: Framing, P: ChunkParser>(
        &self,
        target: &Target,
        body: &Value,
        accept: &'static str,
        framing: F,
        parser: P,
    ) -> Result<ChunkStream<'static, P::Chunk, BackendError>, BackendError> {
        let deadline = Deadline::start(self.settings.total(true));
        let attempts = AtomicU32::new(0);
        let response = self
            .send(target, body, accept, deadline, true, &attempts)
            .await;
        record_attempts(&attempts);
        let state = StreamState {
            body: response?.bytes_stream(),
            framing,
            parser,
            ready: VecDeque::new(),
            chunks: 0,
            finished: false,
            deadline,
            idle: deadline_of(self.settings.idle_timeout),
            last_data: Instant::now(),
            max_frame: self.settings.max_frame_bytes,
            errors: self.errors(&target.shown),
        };
        Ok(Box::pin(futures_util::stream::unfold(
            state,
            StreamState::step,
        )))
    }

    /// Sends the request, retrying as the policy says, until a response with a success
    /// status arrives.
    pub(super) async fn send(
        &self,
        target: &Target,
        body: &Value,
        accept: &'static str,
        deadline: Deadline,
        streamed: bool,
        attempts: &AtomicU32,
    ) -> Result<Response, BackendError> {
        let body =
            Bytes::from(
                serde_json::to_vec(body).map_err(|e| BackendError::InvalidRequest {
                    endpoint: target.shown.clone(),
                    status: 0,
                    message: format!("the request body cannot be serialised: {e}"),
                })?,
            );
        let mut attempt = 1u32;
        loop {
            attempts.fetch_add(1, Ordering::Relaxed);
            let failure = match self
                .attempt(target, body.clone(), accept, deadline, streamed)
                .await
            {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            let wait = failure
                .retryable
                .then(|| self.settings.retry.wait(attempt, failure.server_wait))
                .flatten()
                .filter(|wait| deadline.allows(*wait));
            let Some(wait) = wait else {
                return Err(failure.error);
            };
            record_retry(attempt, &failure, wait);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One request: its response when the status is a success.
    pub(super) async fn attempt(
        &self,
        target: &Target,
        body: Bytes,
        accept: &'static str,
        deadline: Deadline,
        streamed: bool,
    ) -> Result<Response, Failure> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static(accept));
        if let Some(authorization) = &self.authorization {
            headers.insert(AUTHORIZATION, authorization.clone());
        }
        inject_trace_context(&Context::current(), &mut headers);
        let request = self
            .client
            .post(target.url.clone())
            .headers(headers)
            .body(body)
            .send();
        // A stream's response head is its first wait for data; a whole answer's head comes
        // when the answer is ready, bounded by the total deadline only.
        let idle = if streamed {
            deadline_of(self.settings.idle_timeout)
        } else {
            None
        };
        let response = match within(deadline.with_idle(idle, Instant::now()), request).await {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => {
                // No response byte arrived (refused, reset, closed): safe to send again.
                let retryable = !error.is_builder();
                return Err(Failure {
                    error: self
                        .errors(&target.shown)
                        .failure(error, "while sending the request"),
                    retryable,
                    status: None,
                    server_wait: None,
                });
            }
            Err(expired) => {
                return Err(Failure::last(
                    self.errors(&target.shown).timeout(expired, None),
                ));
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        Err(self.status_failure(response, target, deadline).await)
    }
}

/// Counts the requests of one call on the generation's span.
pub(super) fn record_attempts(attempts: &AtomicU32) {
    let attempts = attempts.load(Ordering::Relaxed);
    if attempts == 0 {
        return;
    }
    with_generation_span(|span| {
        span.set_attribute(KeyValue::new(
            semconv::MELLEA_HTTP_ATTEMPTS,
            i64::from(attempts),
        ));
    });
}

/// Records a failed attempt that is retried after `wait`, as an event on the generation's
/// span: its number, status (or class) and the wait — no server text.
pub(super) fn record_retry(attempt: u32, failure: &Failure, wait: Duration) {
    use mellea_runtime::generation::ClassifyError;
    with_generation_span(|span| {
        let mut attributes = vec![
            KeyValue::new(semconv::MELLEA_HTTP_ATTEMPT, i64::from(attempt)),
            KeyValue::new(semconv::ERROR_TYPE, failure.error.error_type()),
            KeyValue::new(semconv::MELLEA_HTTP_RETRY_WAIT, wait.as_secs_f64()),
        ];
        if let Some(status) = failure.status {
            attributes.push(KeyValue::new(
                semconv::HTTP_RESPONSE_STATUS_CODE,
                i64::from(status),
            ));
        }
        span.add_event(semconv::HTTP_RETRY_EVENT, attributes);
    });
}
