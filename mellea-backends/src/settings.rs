//! Deadlines, size caps and retries of the HTTP backends, with their defaults.

use std::time::Duration;

use crate::retry::RetryPolicy;

/// How an HTTP backend bounds its calls: three deadlines, two size caps and a retry policy.
/// Both backends' configs take it whole ([`OpenAiConfig::with_http`](crate::openai::OpenAiConfig::with_http))
/// or one setting at a time (`with_timeout`, `with_idle_timeout`, ...).
///
/// | setting | default | bounds |
/// |---|---|---|
/// | `connect_timeout` | 10 s | each connection attempt |
/// | `timeout` | 600 s for whole answers, none for streams | the whole call: every attempt, the waits between them and the whole body or stream |
/// | `idle_timeout` | 120 s (Ollama: 300 s) | a stream's wait for its response and then between two data events; SSE comments and keep-alives do not count |
/// | `max_body_bytes` | 16 MiB | a whole (non-streamed) response body |
/// | `max_frame_bytes` | 1 MiB | one SSE event or NDJSON line of a stream |
/// | `retry` | [`RetryPolicy::default`] | 2 retries with backoff |
///
/// Error bodies are read up to [`ERROR_BODY_LIMIT`] bytes, for at most the idle timeout: the
/// status alone is the error, the body only explains it.
///
/// Any [`Duration`] is accepted: zero, [`Duration::MAX`] and anything above
/// [`NO_DEADLINE_ABOVE`] mean "no deadline". Exceeding a size cap is a
/// `response_too_large` error, never growth.
///
/// ```
/// use std::time::Duration;
/// use mellea_backends::{HttpSettings, RetryPolicy};
/// let settings = HttpSettings::default()
///     .with_timeout(Duration::MAX) // no total deadline, not even for whole answers
///     .with_idle_timeout(Duration::from_secs(30))
///     .with_retry(RetryPolicy::none());
/// assert_eq!(settings.timeout, Some(Duration::MAX));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpSettings {
    /// The longest wait for one connection to be made.
    pub connect_timeout: Duration,
    /// The longest a whole call may take, streams included; `None` (the default) means
    /// [`DEFAULT_CALL_TIMEOUT`](Self::DEFAULT_CALL_TIMEOUT) for whole answers and no deadline
    /// for streams, which end when the model is done.
    pub timeout: Option<Duration>,
    /// The longest a stream may go without a data event (and the longest wait for a stream's
    /// response).
    pub idle_timeout: Duration,
    /// The largest whole response body read.
    pub max_body_bytes: usize,
    /// The largest SSE event or NDJSON line of a stream.
    pub max_frame_bytes: usize,
    /// When failed requests are retried.
    pub retry: RetryPolicy,
}

/// The most of an error body that is read, in bytes.
pub const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Deadlines longer than this (a century) mean "none", as do zero and [`Duration::MAX`].
pub const NO_DEADLINE_ABOVE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            timeout: None,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            max_frame_bytes: Self::DEFAULT_MAX_FRAME_BYTES,
            retry: RetryPolicy::default(),
        }
    }
}

impl HttpSettings {
    /// The default connect timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// The total timeout of a whole (non-streamed) answer unless one is set; the OpenAI SDKs'
    /// default.
    pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(600);
    /// The default idle timeout of streams.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
    /// 16 MiB: a 128k-token completion is about 0.5 MiB of JSON, a batch of completions a few
    /// MiB; sixteen leaves room for log-probabilities while bounding what a broken or hostile
    /// server can make the process hold.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
    /// 1 MiB: a stream's event carries one token's delta (a few hundred bytes, a few KiB with
    /// log-probabilities or tool-call arguments); a megabyte is far above any real one and
    /// bounds the buffer a never-ending line can grow.
    pub const DEFAULT_MAX_FRAME_BYTES: usize = 1024 * 1024;

    /// The connect timeout.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The total timeout of every call, streams included.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The idle timeout of streams.
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The largest whole response body.
    #[must_use]
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The largest SSE event or NDJSON line.
    #[must_use]
    pub fn with_max_frame_bytes(mut self, bytes: usize) -> Self {
        self.max_frame_bytes = bytes;
        self
    }

    /// The retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The total deadline of a call, `None` for none.
    pub(crate) fn total(&self, streamed: bool) -> Option<Duration> {
        match self.timeout {
            Some(timeout) => deadline(timeout),
            None if streamed => None,
            None => Some(Self::DEFAULT_CALL_TIMEOUT),
        }
    }
}

/// `timeout` as a deadline length, or `None` for values that mean "no deadline".
pub(crate) fn deadline(timeout: Duration) -> Option<Duration> {
    (!timeout.is_zero() && timeout <= NO_DEADLINE_ABOVE).then_some(timeout)
}

/// The deadline, retry and cap setters shared by every backend configuration that keeps its
/// [`HttpSettings`] in a field named `http`; the argument is the doc line of
/// `with_idle_timeout`, whose default differs between backends.
macro_rules! http_setters {
    ($idle_doc:literal) => {
        /// The total timeout of every call, streams included: every attempt, the waits between
        /// them and the whole answer. Unset, whole answers get
        /// [`HttpSettings::DEFAULT_CALL_TIMEOUT`](crate::settings::HttpSettings::DEFAULT_CALL_TIMEOUT)
        /// and streams none. `Duration::MAX` means none.
        #[must_use]
        pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.http.timeout = Some(timeout);
            self
        }

        /// The longest wait for a connection
        /// ([`HttpSettings::DEFAULT_CONNECT_TIMEOUT`](crate::settings::HttpSettings::DEFAULT_CONNECT_TIMEOUT)
        /// unless set).
        #[must_use]
        pub fn with_connect_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.http.connect_timeout = timeout;
            self
        }

        #[doc = $idle_doc]
        #[must_use]
        pub fn with_idle_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.http.idle_timeout = timeout;
            self
        }

        /// Retries after a failed first attempt
        /// ([`RetryPolicy::DEFAULT_MAX_RETRIES`](crate::retry::RetryPolicy::DEFAULT_MAX_RETRIES)
        /// unless set); `0` turns retries off.
        #[must_use]
        pub fn with_max_retries(mut self, max_retries: u32) -> Self {
            self.http.retry = self.http.retry.with_max_retries(max_retries);
            self
        }

        /// When failed requests are retried, and how long to wait between attempts.
        #[must_use]
        pub fn with_retry_policy(mut self, retry: crate::retry::RetryPolicy) -> Self {
            self.http.retry = retry;
            self
        }

        /// All deadlines, size caps and the retry policy at once.
        #[must_use]
        pub fn with_http(mut self, http: crate::settings::HttpSettings) -> Self {
            self.http = http;
            self
        }
    };
}
pub(crate) use http_setters;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_huge_timeouts_mean_none() {
        assert_eq!(deadline(Duration::ZERO), None);
        assert_eq!(deadline(Duration::MAX), None);
        assert_eq!(deadline(NO_DEADLINE_ABOVE + Duration::from_secs(1)), None);
        assert_eq!(
            deadline(Duration::from_secs(5)),
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn the_default_total_deadline_covers_whole_answers_only() {
        let settings = HttpSettings::default();
        assert_eq!(
            settings.total(false),
            Some(HttpSettings::DEFAULT_CALL_TIMEOUT)
        );
        assert_eq!(settings.total(true), None);
        let set = settings.with_timeout(Duration::from_secs(3));
        assert_eq!(set.total(true), Some(Duration::from_secs(3)));
        let none = HttpSettings::default().with_timeout(Duration::MAX);
        assert_eq!(none.total(false), None);
    }
}
