//! When a failed request is tried again, and how long to wait first: the policy of the
//! official OpenAI SDKs (two retries, exponential backoff with jitter, the server's
//! `retry-after-ms` / `Retry-After` honoured), as pure functions.

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, SystemTime};

/// How the backends retry a failed request.
///
/// A request is retried when it failed before any response byte arrived (connection refused
/// or reset), or with HTTP 408, 409, 429 (unless the server says the quota is exhausted,
/// `insufficient_quota`) or 5xx — unless the server answers `x-should-retry: false` (and
/// always when it answers `x-should-retry: true`). A stream is never retried once it has
/// begun. Before retry *n* the backend waits what the server asked for (`retry-after-ms`,
/// or `Retry-After` in seconds or as an HTTP-date), provided that is at most
/// [`max_server_wait`](Self::max_server_wait) — a server that asks for longer is not retried,
/// and its error carries the wait — or else the exponential backoff
/// `initial · 2ⁿ⁻¹`, capped at `max`, less up to 25 % random jitter.
/// No retry starts after the call's total timeout would have passed.
///
/// ```
/// use std::time::Duration;
/// use mellea_backends::RetryPolicy;
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.max_retries(), 2);
/// let first = policy.backoff(1);
/// assert!(first <= Duration::from_millis(500) && first >= Duration::from_millis(375));
/// assert!(policy.backoff(10) <= Duration::from_secs(8));
/// assert_eq!(RetryPolicy::none().max_retries(), 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_server_wait: Duration,
}

impl Default for RetryPolicy {
    /// [`DEFAULT_MAX_RETRIES`](Self::DEFAULT_MAX_RETRIES) retries, backoff from
    /// [`DEFAULT_INITIAL_BACKOFF`](Self::DEFAULT_INITIAL_BACKOFF) up to
    /// [`DEFAULT_MAX_BACKOFF`](Self::DEFAULT_MAX_BACKOFF), server waits up to
    /// [`DEFAULT_MAX_SERVER_WAIT`](Self::DEFAULT_MAX_SERVER_WAIT).
    fn default() -> Self {
        Self {
            max_retries: Self::DEFAULT_MAX_RETRIES,
            initial_backoff: Self::DEFAULT_INITIAL_BACKOFF,
            max_backoff: Self::DEFAULT_MAX_BACKOFF,
            max_server_wait: Self::DEFAULT_MAX_SERVER_WAIT,
        }
    }
}

impl RetryPolicy {
    /// Retries after the first attempt, as the official OpenAI SDKs default to.
    pub const DEFAULT_MAX_RETRIES: u32 = 2;
    /// The backoff before the first retry (before jitter).
    pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(500);
    /// The longest backoff.
    pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(8);
    /// The longest server-requested wait that is honoured; a server asking for longer is not
    /// retried.
    pub const DEFAULT_MAX_SERVER_WAIT: Duration = Duration::from_secs(60);

    /// No retries: one request per call.
    pub fn none() -> Self {
        Self::default().with_max_retries(0)
    }

    /// Retries after the first attempt (`0` turns retries off).
    #[must_use]
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// The backoff before the first retry and the longest one.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// The longest server-requested wait (`retry-after-ms`, `Retry-After`) that is honoured.
    #[must_use]
    pub fn with_max_server_wait(mut self, max: Duration) -> Self {
        self.max_server_wait = max;
        self
    }

    /// Retries after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The backoff before the first retry (before jitter).
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The longest backoff.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The longest server-requested wait that is honoured.
    pub fn max_server_wait(&self) -> Duration {
        self.max_server_wait
    }

    /// The wait before retry `retry` (1 for the first) when the server asked for none:
    /// `initial · 2^(retry−1)`, capped at the maximum, less up to 25 % random jitter.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let capped = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let jitter = 1.0 - 0.25 * unit_random();
        Duration::try_from_secs_f64(capped.as_secs_f64() * jitter).unwrap_or(capped)
    }

    /// The wait before retry `retry` (1 for the first), or `None` when it is not to be made:
    /// retries are used up, or the server asked for a longer wait than is honoured.
    pub(crate) fn wait(&self, retry: u32, server_wait: Option<Duration>) -> Option<Duration> {
        if retry > self.max_retries {
            return None;
        }
        match server_wait {
            Some(wait) if wait <= self.max_server_wait => Some(wait),
            Some(_) => None,
            None => Some(self.backoff(retry)),
        }
    }
}

/// A number in `[0, 1)`: std's randomly keyed hasher, freshly keyed per call, is random enough
/// to spread retries of many clients apart.
fn unit_random() -> f64 {
    let bits = RandomState::new().hash_one(0u8);
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The wait a server asks for: `retry-after-ms` (milliseconds, OpenAI's own header) first,
/// then `Retry-After` in seconds or as an HTTP-date (a date in the past is no wait). Values
/// that are not one of these, negative, or not finite count as absent.
pub(crate) fn server_wait(
    retry_after_ms: Option<&str>,
    retry_after: Option<&str>,
    now: SystemTime,
) -> Option<Duration> {
    let seconds = |text: &str, scale: f64| {
        let value: f64 = text.trim().parse().ok()?;
        Duration::try_from_secs_f64(value / scale).ok()
    };
    if let Some(wait) = retry_after_ms.and_then(|ms| seconds(ms, 1000.0)) {
        return Some(wait);
    }
    let retry_after = retry_after?.trim();
    seconds(retry_after, 1.0).or_else(|| {
        let date = httpdate::parse_http_date(retry_after).ok()?;
        Some(date.duration_since(now).unwrap_or(Duration::ZERO))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(date: &str) -> SystemTime {
        httpdate::parse_http_date(date).unwrap()
    }

    #[test]
    fn server_waits_are_read_in_milliseconds_seconds_and_http_dates() {
        let now = at("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(
            server_wait(Some("250"), Some("9"), now),
            Some(Duration::from_millis(250)),
            "retry-after-ms wins"
        );
        assert_eq!(
            server_wait(None, Some("1"), now),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            server_wait(None, Some(" 1.5 "), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            server_wait(None, Some("Wed, 21 Oct 2015 07:28:30 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            server_wait(None, Some("Wed, 21 Oct 2015 07:27:00 GMT"), now),
            Some(Duration::ZERO),
            "a date in the past is no wait"
        );
        assert_eq!(
            server_wait(Some("soon"), Some("2"), now),
            Some(Duration::from_secs(2)),
            "a bad retry-after-ms falls through"
        );
        for bad in ["-1", "NaN", "inf", "tomorrow", ""] {
            assert_eq!(server_wait(None, Some(bad), now), None, "{bad:?}");
        }
        assert_eq!(server_wait(None, None, now), None);
    }

    #[test]
    fn backoff_doubles_from_the_initial_wait_up_to_the_cap_with_at_most_a_quarter_off() {
        let policy = RetryPolicy::default();
        for (retry, full) in [(1, 500), (2, 1000), (3, 2000), (5, 8000), (40, 8000)] {
            let full = Duration::from_millis(full);
            for _ in 0..50 {
                let wait = policy.backoff(retry);
                assert!(wait <= full && wait >= full * 3 / 4, "{retry}: {wait:?}");
            }
        }
        let waits: std::collections::HashSet<Duration> =
            (0..20).map(|_| policy.backoff(1)).collect();
        assert!(waits.len() > 1, "jittered: {waits:?}");
    }

    #[test]
    fn huge_backoff_settings_never_panic() {
        let policy = RetryPolicy::default().with_backoff(Duration::MAX, Duration::MAX);
        assert!(policy.backoff(u32::MAX) > Duration::from_secs(1));
    }

    #[test]
    fn a_retry_waits_for_the_server_unless_it_asks_too_much_or_retries_are_used_up() {
        let policy = RetryPolicy::default();
        let one = Duration::from_secs(1);
        assert_eq!(policy.wait(1, Some(one)), Some(one));
        assert_eq!(policy.wait(2, Some(Duration::ZERO)), Some(Duration::ZERO));
        assert_eq!(policy.wait(1, Some(Duration::from_secs(61))), None);
        assert_eq!(policy.wait(3, Some(one)), None, "two retries by default");
        assert!(policy.wait(1, None).unwrap() <= Duration::from_millis(500));
        assert_eq!(RetryPolicy::none().wait(1, None), None);
    }
}
