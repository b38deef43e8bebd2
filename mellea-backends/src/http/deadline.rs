//! The total and idle deadlines of one call, and bounded reads under them.

use std::future::Future;
use std::time::Duration;

use reqwest::Response;
use tokio::time::Instant;

use crate::settings::deadline;

/// Which deadline passed.
#[derive(Clone, Copy, Debug)]
pub(super) enum Expired {
    Total(Duration),
    Idle(Duration),
}

/// The total deadline of one call, fixed when it starts.
#[derive(Clone, Copy, Debug)]
pub(super) struct Deadline {
    pub(super) at: Option<(Instant, Duration)>,
}

impl Deadline {
    pub(super) fn start(total: Option<Duration>) -> Self {
        Self {
            at: total.and_then(|total| Some((Instant::now().checked_add(total)?, total))),
        }
    }

    /// The earliest of this deadline and `idle` after `since`.
    pub(super) fn with_idle(
        self,
        idle: Option<Duration>,
        since: Instant,
    ) -> Option<(Instant, Expired)> {
        let idle = idle.and_then(|idle| Some((since.checked_add(idle)?, Expired::Idle(idle))));
        let total = self.at.map(|(at, total)| (at, Expired::Total(total)));
        match (total, idle) {
            (Some(total), Some(idle)) => Some(if idle.0 < total.0 { idle } else { total }),
            (total, idle) => total.or(idle),
        }
    }

    /// Whether waiting `wait` from now still leaves time before the deadline.
    pub(super) fn allows(self, wait: Duration) -> bool {
        self.at
            .is_none_or(|(at, _)| Instant::now().checked_add(wait).is_some_and(|t| t < at))
    }
}

/// Runs `future` until `limit`, if any.
pub(super) async fn within<F: Future>(
    limit: Option<(Instant, Expired)>,
    future: F,
) -> Result<F::Output, Expired> {
    match limit {
        Some((at, which)) => tokio::time::timeout_at(at, future).await.map_err(|_| which),
        None => Ok(future.await),
    }
}

/// `timeout` as an idle deadline length (`None`: no deadline).
pub(super) fn deadline_of(timeout: Duration) -> Option<Duration> {
    deadline(timeout)
}

/// Reads at most `limit` bytes of `response` before `until`; `true` if the body was read to
/// its end. A failure or a deadline just ends the read: what arrived is kept.
pub(super) async fn read_prefix(
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
