//! HTTP plumbing both backends share: URLs, the client, trace-context injection, mapping of
//! failures to [`BackendError`], and the streamed-body state machine.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use mellea::generation::{ChunkStream, ServerAddress};
use opentelemetry::Context;
use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{BackendError, ConfigError};
use crate::lines::Framing;

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
        url: raw.to_owned(),
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

/// The HTTP client of one backend, with its credentials and timeout.
pub(crate) struct HttpCaller {
    client: reqwest::Client,
    authorization: Option<HeaderValue>,
    /// Kept only to redact it from server messages that echo it.
    secret: Option<String>,
    timeout: Duration,
    api: &'static Api,
}

impl HttpCaller {
    pub(crate) fn new(
        api: &'static Api,
        api_key: Option<&str>,
        timeout: Duration,
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
        let client = reqwest::Client::builder()
            .user_agent(concat!("mellea-rs/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout)
            // Bounds the wait for the response head and every gap between body reads, so a
            // long stream that keeps sending is never cut, but a stalled one is.
            .read_timeout(timeout)
            .build()
            .map_err(|e| ConfigError::Client(e.to_string()))?;
        Ok(Self {
            client,
            authorization,
            secret: api_key.filter(|key| !key.is_empty()).map(str::to_owned),
            timeout,
            api,
        })
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) fn has_api_key(&self) -> bool {
        self.authorization.is_some()
    }

    /// POSTs `body` as JSON and returns the response once its status is a success.
    ///
    /// A non-streamed call is bounded as a whole by the timeout; a streamed one only per read.
    pub(crate) async fn post(
        &self,
        target: &Target,
        body: &Value,
        accept: &'static str,
        streamed: bool,
    ) -> Result<Response, BackendError> {
        let body = serde_json::to_vec(body).map_err(|e| BackendError::InvalidRequest {
            endpoint: target.shown.clone(),
            status: 0,
            message: format!("the request body cannot be serialised: {e}"),
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static(accept));
        if let Some(authorization) = &self.authorization {
            headers.insert(AUTHORIZATION, authorization.clone());
        }
        inject_trace_context(&Context::current(), &mut headers);
        let mut request = self
            .client
            .post(target.url.clone())
            .headers(headers)
            .body(body);
        if !streamed {
            request = request.timeout(self.timeout);
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.failure(e, &target.shown, "while sending the request"))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // The error body only explains the status; if it cannot be read, the status still says
        // enough.
        let message = match response.bytes().await {
            Ok(bytes) => server_message(&bytes),
            Err(_) => String::from("(the error body could not be read)"),
        };
        Err(self.status_error(status, self.redact(message), retry_after, &target.shown))
    }

    /// Reads a whole JSON body.
    pub(crate) async fn read_json<T: DeserializeOwned>(
        &self,
        response: Response,
        target: &Target,
    ) -> Result<T, BackendError> {
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.failure(e, &target.shown, "while reading the response"))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            let hint = if e.is_eof() {
                " (the body ends mid-document: it was truncated)"
            } else {
                ""
            };
            self.malformed(
                &target.shown,
                format!(
                    "the {}-byte body is not the expected JSON: {e}{hint}",
                    bytes.len()
                ),
            )
        })
    }

    /// Turns a streamed response into chunks, framed by `framing` and parsed by `parser`.
    pub(crate) fn chunks<P: ChunkParser>(
        &self,
        response: Response,
        target: &Target,
        framing: impl Framing,
        parser: P,
    ) -> ChunkStream<'static, P::Chunk, BackendError> {
        let state = StreamState {
            body: response.bytes_stream(),
            framing,
            parser,
            ready: VecDeque::new(),
            chunks: 0,
            finished: false,
            errors: ErrorMapper {
                endpoint: target.shown.clone(),
                api: self.api,
                timeout: self.timeout,
            },
        };
        Box::pin(futures_util::stream::unfold(state, StreamState::step))
    }

    pub(crate) fn malformed(&self, endpoint: &str, detail: String) -> BackendError {
        BackendError::MalformedResponse {
            endpoint: endpoint.to_owned(),
            detail,
            expected: self.api.expected,
        }
    }

    fn failure(&self, error: reqwest::Error, endpoint: &str, stage: &str) -> BackendError {
        ErrorMapper {
            endpoint: endpoint.to_owned(),
            api: self.api,
            timeout: self.timeout,
        }
        .failure(error, stage)
    }

    fn status_error(
        &self,
        status: StatusCode,
        message: String,
        retry_after: Option<String>,
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
            },
            408 => BackendError::Timeout {
                endpoint,
                detail: format!("the server gave up waiting for the request (HTTP 408): {message}"),
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

/// Maps reqwest failures of one call to [`BackendError`]s.
struct ErrorMapper {
    endpoint: String,
    api: &'static Api,
    timeout: Duration,
}

impl ErrorMapper {
    fn failure(&self, error: reqwest::Error, stage: &str) -> BackendError {
        let endpoint = self.endpoint.clone();
        if error.is_timeout() {
            BackendError::Timeout {
                endpoint,
                detail: format!("no answer within {:?} {stage}", self.timeout),
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

    fn malformed(&self, detail: String) -> BackendError {
        BackendError::MalformedResponse {
            endpoint: self.endpoint.clone(),
            detail,
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

/// Reads the frames of one provider's stream.
pub(crate) trait ChunkParser: Send + 'static {
    /// The chunks yielded.
    type Chunk: Send + 'static;
    /// Parses one frame; `chunks` is the number of chunks yielded before it.
    fn parse(&mut self, frame: &str, chunks: u64) -> Result<Parsed<Self::Chunk>, String>;
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
            match self.body.next().await {
                Some(Ok(bytes)) => self.framing.push(bytes.as_ref()),
                Some(Err(error)) => {
                    let stage = format!("after {} chunks of the stream", self.chunks);
                    self.fail(self.errors.failure(error, &stage));
                }
                None => {
                    self.finished = true;
                    if self.framing.has_partial() || !self.parser.complete_without_end() {
                        let error = self.errors.malformed(format!(
                            "the stream ended after {} chunks without its end marker ({}){}; it was cut short",
                            self.chunks,
                            self.parser.end_marker(),
                            if self.framing.has_partial() {
                                " and in the middle of a frame"
                            } else {
                                ""
                            },
                        ));
                        return Some((Err(error), self));
                    }
                }
            }
        }
    }

    /// Moves every complete frame into `ready`, stopping at the end or an error.
    fn decode_frames(&mut self) {
        while !self.finished {
            let Some(frame) = self.framing.next_frame() else {
                return;
            };
            let parsed = frame.and_then(|frame| self.parser.parse(&frame, self.chunks));
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
                Err(detail) => {
                    let error = self.errors.malformed(format!(
                        "frame {} of the stream is not a valid chunk: {detail}",
                        self.chunks + 1
                    ));
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
    const LIMIT: usize = 500;
    if let Ok(value) = serde_json::from_slice::<Value>(body)
        && let Some(message) = error_message(&value)
    {
        return message;
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
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
}
