//! HTTP plumbing both backends share: URLs, the client, trace-context injection, deadlines,
//! size caps, retries, mapping of failures to [`BackendError`], and the streamed-body state
//! machine. Everything that bounds a call lives here, so both backends get it.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use mellea_runtime::generation::{ChunkStream, ServerAddress, with_generation_span};
use mellea_runtime::telemetry::semconv;
use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;

use crate::error::{BackendError, ConfigError};
use crate::lines::{FrameError, Framing};
use crate::retry;
use crate::settings::{ERROR_BODY_LIMIT, HttpSettings, deadline};

/// What a backend tells its users when something fails: hints that name its own settings.
#[derive(Debug)]
pub(crate) struct Api {
    /// Added to "cannot connect" errors.
    pub(crate) unreachable_hint: &'static str,
    /// Added to 401 / 403 errors.
    pub(crate) auth_hint: &'static str,
    /// The API the backend expects at its URL, for malformed-response errors.
    pub(crate) expected: &'static str,
}

/// A URL the backend calls, and how it is shown in messages (without credentials).
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub(crate) url: Url,
    pub(crate) shown: String,
}

impl Target {
    pub(crate) fn new(url: Url) -> Self {
        let mut shown = url.clone();
        // Userinfo in a base URL is a credential: never echo it.
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        Self {
            shown: shown.to_string(),
            url,
        }
    }
}

/// Parses a base URL: absolute, `http` or `https`, with a host; the trailing `/` trimmed so
/// paths join with one.
pub(crate) fn parse_base_url(
    raw: &str,
    variable: &'static str,
    example: &'static str,
) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::InvalidUrl {
        variable,
        url: without_userinfo(raw),
        reason,
        example,
    };
    let url = Url::parse(raw.trim()).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "the scheme is {:?}, not http or https",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host".into()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it has a query or fragment".into()));
    }
    Ok(url)
}

/// `raw` with the userinfo of its authority (`user:password@`) replaced by `***`, whether or
/// not it parses as a URL, so that no message or `Debug` output shows a credential.
pub(crate) fn without_userinfo(raw: &str) -> String {
    let authority_start = raw.find("://").map_or(0, |at| at + 3);
    let rest = &raw[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!(
            "{}***@{}",
            &raw[..authority_start],
            &raw[authority_start + at + 1..]
        ),
        None => raw.to_owned(),
    }
}

/// `base` joined with `path` (`base` may or may not end in `/`).
pub(crate) fn join(base: &Url, path: &str) -> Target {
    let mut url = base.clone();
    let joined = format!("{}/{path}", base.path().trim_end_matches('/'));
    url.set_path(&joined);
    Target::new(url)
}

/// The server a base URL names, as spans record it.
pub(crate) fn server_of(url: &Url) -> Option<ServerAddress<'_>> {
    Some(ServerAddress {
        host: url.host_str()?,
        port: url.port_or_known_default()?,
    })
}

/// The HTTP client of one backend, with its credentials, deadlines, caps and retry policy.
pub(crate) struct HttpCaller {
    client: reqwest::Client,
    authorization: Option<HeaderValue>,
    /// Kept only to redact it from server messages that echo it.
    secret: Option<String>,
    settings: HttpSettings,
    api: &'static Api,
}

/// Which deadline passed.
#[derive(Clone, Copy, Debug)]
enum Expired {
    Total(Duration),
    Idle(Duration),
}

/// The total deadline of one call, fixed when it starts.
#[derive(Clone, Copy, Debug)]
struct Deadline {
    at: Option<(Instant, Duration)>,
}

impl Deadline {
    fn start(total: Option<Duration>) -> Self {
        Self {
            at: total.and_then(|total| Some((Instant::now().checked_add(total)?, total))),
        }
    }

    /// The earliest of this deadline and `idle` after `since`.
    fn with_idle(self, idle: Option<Duration>, since: Instant) -> Option<(Instant, Expired)> {
        let idle = idle.and_then(|idle| Some((since.checked_add(idle)?, Expired::Idle(idle))));
        let total = self.at.map(|(at, total)| (at, Expired::Total(total)));
        match (total, idle) {
            (Some(total), Some(idle)) => Some(if idle.0 < total.0 { idle } else { total }),
            (total, idle) => total.or(idle),
        }
    }

    /// Whether waiting `wait` from now still leaves time before the deadline.
    fn allows(self, wait: Duration) -> bool {
        self.at
            .is_none_or(|(at, _)| Instant::now().checked_add(wait).is_some_and(|t| t < at))
    }
}

/// Runs `future` until `limit`, if any.
async fn within<F: Future>(
    limit: Option<(Instant, Expired)>,
    future: F,
) -> Result<F::Output, Expired> {
    match limit {
        Some((at, which)) => tokio::time::timeout_at(at, future).await.map_err(|_| which),
        None => Ok(future.await),
    }
}

/// A failed attempt, and whether another may follow.
struct Failure {
    error: BackendError,
    retryable: bool,
    status: Option<u16>,
    server_wait: Option<Duration>,
}

impl Failure {
    fn last(error: BackendError) -> Self {
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

    async fn json_call<T: DeserializeOwned>(
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
    async fn send(
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
    async fn attempt(
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

    /// The failure of a response with an error status; its body is read up to
    /// [`ERROR_BODY_LIMIT`] bytes and for at most the idle timeout.
    async fn status_failure(
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
    async fn read_body(
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

    fn errors(&self, endpoint: &str) -> ErrorMapper {
        ErrorMapper {
            endpoint: endpoint.to_owned(),
            api: self.api,
            connect_timeout: self.settings.connect_timeout,
        }
    }

    fn status_error(
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
    fn redact(&self, text: String) -> String {
        match &self.secret {
            Some(secret) if text.contains(secret.as_str()) => text.replace(secret, "<redacted>"),
            _ => text,
        }
    }
}

/// `timeout` as an idle deadline length (`None`: no deadline).
fn deadline_of(timeout: Duration) -> Option<Duration> {
    deadline(timeout)
}

/// Reads at most `limit` bytes of `response` before `until`; `true` if the body was read to
/// its end. A failure or a deadline just ends the read: what arrived is kept.
async fn read_prefix(
    mut response: Response,
    limit: usize,
    until: Option<(Instant, Expired)>,
) -> (Vec<u8>, bool) {
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        match within(until, response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                let room = limit - bytes.len();
                bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(Ok(None)) => return (bytes, true),
            Ok(Err(_)) | Err(_) => return (bytes, false),
        }
    }
    (bytes, false)
}

/// Whether an error body says the account's quota is used up (OpenAI's
/// `insufficient_quota`), which waiting does not fix.
fn is_quota_exhausted(value: &Value) -> bool {
    let error = value.get("error");
    ["code", "type"].iter().any(|field| {
        error.and_then(|e| e.get(field)).and_then(Value::as_str) == Some("insufficient_quota")
    })
}

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

/// Counts the requests of one call on the generation's span.
fn record_attempts(attempts: &AtomicU32) {
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
fn record_retry(attempt: u32, failure: &Failure, wait: Duration) {
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

/// Maps failures of one call to [`BackendError`]s.
struct ErrorMapper {
    endpoint: String,
    api: &'static Api,
    connect_timeout: Duration,
}

impl ErrorMapper {
    fn failure(&self, error: reqwest::Error, stage: &str) -> BackendError {
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
    fn timeout(&self, expired: Expired, chunks: Option<u64>) -> BackendError {
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

    fn malformed(&self, detail: String, content: Option<String>) -> BackendError {
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
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

/// What one frame of a stream means.
pub(crate) enum Parsed<C> {
    /// A chunk to yield.
    Chunk(C),
    /// The last chunk: yield it and end.
    Last(C),
    /// The end marker.
    End,
    /// Nothing to yield (e.g. a keep-alive).
    Skip,
    /// The server's error object, in place of a chunk.
    Error(String),
}

/// A frame that is not a valid chunk.
pub(crate) struct BadFrame {
    /// What is wrong, without quoting the frame.
    pub(crate) detail: String,
    /// The parser's message and an excerpt of the frame.
    pub(crate) content: Option<String>,
}

impl BadFrame {
    /// `frame` failed to parse as JSON with `error`.
    pub(crate) fn json(error: &serde_json::Error, frame: &str) -> Self {
        Self {
            detail: json_problem(error),
            content: Some(format!("{error}: {}", excerpt(frame))),
        }
    }
}

/// Reads the frames of one provider's stream.
pub(crate) trait ChunkParser: Send + 'static {
    /// The chunks yielded.
    type Chunk: Send + 'static;
    /// Parses one frame; `chunks` is the number of chunks yielded before it.
    fn parse(&mut self, frame: &str, chunks: u64) -> Result<Parsed<Self::Chunk>, BadFrame>;
    /// Whether the frames so far make a whole answer even without the end marker.
    fn complete_without_end(&self) -> bool {
        false
    }
    /// The end marker, for the message when it is missing.
    fn end_marker(&self) -> &'static str;
}

struct StreamState<S, F, P: ChunkParser> {
    body: S,
    framing: F,
    parser: P,
    ready: VecDeque<Result<P::Chunk, BackendError>>,
    chunks: u64,
    finished: bool,
    deadline: Deadline,
    idle: Option<Duration>,
    /// When the last data event (or the response head) arrived.
    last_data: Instant,
    max_frame: usize,
    errors: ErrorMapper,
}

impl<S, B, F, P> StreamState<S, F, P>
where
    S: Stream<Item = reqwest::Result<B>> + Unpin + Send,
    B: AsRef<[u8]>,
    F: Framing,
    P: ChunkParser,
{
    async fn step(mut self) -> Option<(Result<P::Chunk, BackendError>, Self)> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some((item, self));
            }
            if self.finished {
                return None;
            }
            self.decode_frames();
            if !self.ready.is_empty() || self.finished {
                continue;
            }
            let limit = self.deadline.with_idle(self.idle, self.last_data);
            match within(limit, self.body.next()).await {
                Ok(Some(Ok(bytes))) => self.framing.push(bytes.as_ref()),
                Ok(Some(Err(error))) => {
                    let stage = format!("after {} chunks of the stream", self.chunks);
                    self.fail(self.errors.failure(error, &stage));
                }
                Err(expired) => self.fail(self.errors.timeout(expired, Some(self.chunks))),
                Ok(None) => {
                    self.finished = true;
                    if self.framing.has_partial() || !self.parser.complete_without_end() {
                        let error = self.errors.malformed(
                            format!(
                                "the stream ended after {} chunks without its end marker ({}){}; it was cut short",
                                self.chunks,
                                self.parser.end_marker(),
                                if self.framing.has_partial() {
                                    " and in the middle of a frame"
                                } else {
                                    ""
                                },
                            ),
                            None,
                        );
                        return Some((Err(error), self));
                    }
                }
            }
        }
    }

    /// Moves every complete frame into `ready`, stopping at the end or an error.
    fn decode_frames(&mut self) {
        while !self.finished {
            let frame = match self.framing.next_frame() {
                None => return,
                Some(Ok(frame)) => frame,
                Some(Err(FrameError::TooLarge)) => {
                    let error = BackendError::ResponseTooLarge {
                        endpoint: self.errors.endpoint.clone(),
                        what: self.framing.frame_name(),
                        limit: self.max_frame,
                        setting: "with_max_frame_bytes",
                    };
                    self.fail(error);
                    return;
                }
                Some(Err(FrameError::NotText(detail))) => {
                    let error = self.errors.malformed(
                        format!("frame {} of the stream: {detail}", self.chunks + 1),
                        None,
                    );
                    self.fail(error);
                    return;
                }
            };
            let parsed = self.parser.parse(&frame, self.chunks);
            if !matches!(parsed, Ok(Parsed::Skip)) {
                self.last_data = Instant::now();
            }
            match parsed {
                Ok(Parsed::Chunk(chunk)) => self.push(chunk),
                Ok(Parsed::Last(chunk)) => {
                    self.push(chunk);
                    self.finished = true;
                }
                Ok(Parsed::End) => self.finished = true,
                Ok(Parsed::Skip) => {}
                Ok(Parsed::Error(message)) => {
                    let error = BackendError::ErrorEvent {
                        endpoint: self.errors.endpoint.clone(),
                        chunks: self.chunks,
                        message,
                    };
                    self.fail(error);
                }
                Err(bad) => {
                    let error = self.errors.malformed(
                        format!(
                            "frame {} of the stream is not a valid chunk: it {}",
                            self.chunks + 1,
                            bad.detail
                        ),
                        bad.content,
                    );
                    self.fail(error);
                }
            }
        }
    }

    fn push(&mut self, chunk: P::Chunk) {
        self.chunks += 1;
        self.ready.push_back(Ok(chunk));
    }

    fn fail(&mut self, error: BackendError) {
        self.ready.push_back(Err(error));
        self.finished = true;
    }
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
fn excerpt_message(message: String) -> String {
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

/// Writes the W3C `traceparent` (and `tracestate`) of `cx` into `headers`, when `cx` holds a
/// valid span context; otherwise writes nothing.
pub(crate) fn inject_trace_context(cx: &Context, headers: &mut HeaderMap) {
    struct HeaderInjector<'a>(&'a mut HeaderMap);
    impl Injector for HeaderInjector<'_> {
        fn set(&mut self, key: &str, value: String) {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(key.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                self.0.insert(name, value);
            }
        }
    }
    TraceContextPropagator::new().inject_context(cx, &mut HeaderInjector(headers));
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };

    use super::*;

    #[test]
    fn traceparent_is_written_only_for_a_valid_span_context() {
        let mut headers = HeaderMap::new();
        inject_trace_context(&Context::new(), &mut headers);
        assert!(headers.get("traceparent").is_none());

        let span = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::from_key_value([("vendor", "x")]).unwrap(),
        );
        inject_trace_context(&Context::new().with_remote_span_context(span), &mut headers);
        assert_eq!(
            headers["traceparent"],
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        assert_eq!(headers["tracestate"], "vendor=x");
    }

    #[test]
    fn server_messages_are_read_from_every_known_error_shape() {
        assert_eq!(
            server_message(br#"{"error":{"message":"bad key","type":"invalid_request_error"}}"#),
            "bad key"
        );
        assert_eq!(
            server_message(br#"{"error":"model 'x' not found"}"#),
            "model 'x' not found"
        );
        assert_eq!(
            server_message(br#"{"object":"error","message":"too long","code":400}"#),
            "too long"
        );
        assert_eq!(server_message(br#"{"detail":"Not Found"}"#), "Not Found");
        assert_eq!(
            server_message(b"<html>502 Bad Gateway</html>"),
            "<html>502 Bad Gateway</html>"
        );
        assert_eq!(server_message(b"  "), "(empty body)");
        let long = "x".repeat(2000);
        assert_eq!(server_message(long.as_bytes()).chars().count(), 501);
    }

    #[test]
    fn base_urls_must_be_absolute_http_with_a_host() {
        for bad in [
            "localhost:8000",
            "ftp://host/v1",
            "http://",
            "not a url",
            "http://h/v1?x=1",
        ] {
            assert!(
                parse_base_url(bad, "OPENAI_BASE_URL", "http://localhost:8000/v1").is_err(),
                "{bad} should be refused"
            );
        }
        let url = parse_base_url(" https://api.openai.com/v1/ ", "OPENAI_BASE_URL", "").unwrap();
        assert_eq!(
            join(&url, "chat/completions").shown,
            "https://api.openai.com/v1/chat/completions"
        );
        let url = parse_base_url("http://user:secret@h:8000/v1", "OPENAI_BASE_URL", "").unwrap();
        let target = join(&url, "completions");
        assert_eq!(
            target.shown, "http://h:8000/v1/completions",
            "credentials are not shown"
        );
        assert_eq!(target.url.password(), Some("secret"), "but they are used");
        let server = server_of(&url).unwrap();
        assert_eq!((server.host, server.port), ("h", 8000));
        let default_port = parse_base_url("https://api.openai.com/v1", "X", "").unwrap();
        assert_eq!(server_of(&default_port).unwrap().port, 443);
    }

    #[test]
    fn userinfo_is_hidden_whether_or_not_the_url_parses() {
        for (raw, shown) in [
            ("http://user:pass@h:8000/v1", "http://***@h:8000/v1"),
            ("https://tok@h/v1?x=1", "https://***@h/v1?x=1"),
            ("user:pass@gpu-box:11434", "***@gpu-box:11434"),
            ("ftp://a:b@c@host/x", "ftp://***@host/x"),
            ("http://h/v1/@path", "http://h/v1/@path"),
            ("localhost:8000", "localhost:8000"),
        ] {
            assert_eq!(without_userinfo(raw), shown, "{raw}");
        }
        let error = parse_base_url("ftp://user:secret@h/v1", "OPENAI_BASE_URL", "").unwrap_err();
        assert!(!error.to_string().contains("secret"), "{error}");
        assert!(!format!("{error:?}").contains("secret"), "{error:?}");
    }

    #[test]
    fn quota_exhaustion_is_read_from_the_code_or_the_type() {
        let quota = serde_json::json!({"error": {"message": "m", "type": "insufficient_quota"}});
        assert!(is_quota_exhausted(&quota));
        let code = serde_json::json!({"error": {"code": "insufficient_quota"}});
        assert!(is_quota_exhausted(&code));
        let rate = serde_json::json!({"error": {"code": "rate_limit_exceeded"}});
        assert!(!is_quota_exhausted(&rate));
    }

    #[test]
    fn json_problems_never_quote_the_document() {
        let error = serde_json::from_str::<u32>(r#""canary text""#).unwrap_err();
        assert!(
            error.to_string().contains("canary"),
            "serde quotes it: {error}"
        );
        let problem = json_problem(&error);
        assert!(!problem.contains("canary"), "{problem}");
        let eof = serde_json::from_str::<Value>(r#"{"a": "#).unwrap_err();
        assert!(json_problem(&eof).contains("truncated"));
    }
}
