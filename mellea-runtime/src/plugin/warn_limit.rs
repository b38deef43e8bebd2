//! How often one handler's failures and blocks reach the WARN log: the first at once, then at
//! most one a minute with the number left out meanwhile. A handler that fails on every call
//! would otherwise log once per generation; its counters in
//! [`PluginRegistry::stats`](super::PluginRegistry::stats) still count every occurrence.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The shortest time between two warnings of one handler.
pub(crate) const WARN_INTERVAL: Duration = Duration::from_secs(60);

/// One handler's warning budget.
#[derive(Debug, Default)]
pub(crate) struct WarnLimit {
    /// When the next warning may be logged, in milliseconds since [`epoch`]; 0 before the first.
    next_ms: AtomicU64,
    /// Warnings left out since the last one logged.
    left_out: AtomicU64,
}

impl WarnLimit {
    /// `Some(n)` if a warning may be logged now, `n` being how many were left out since the
    /// last one; `None` (and counted) otherwise.
    pub(crate) fn admit(&self) -> Option<u64> {
        let now = epoch().elapsed().as_millis() as u64;
        let next = self.next_ms.load(Ordering::Relaxed);
        let admitted = now >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now + WARN_INTERVAL.as_millis() as u64,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok();
        if admitted {
            Some(self.left_out.swap(0, Ordering::Relaxed))
        } else {
            self.left_out.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// What a warning adds when earlier ones were left out.
pub(crate) fn left_out_note(left_out: u64) -> String {
    match left_out {
        0 => String::new(),
        n => format!(
            " ({n} more like this since the last warning were not logged; at most one a minute \
             per handler, all counted in the registry's stats)"
        ),
    }
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_warning_passes_and_the_next_ones_are_counted_until_the_interval() {
        let limit = WarnLimit::default();
        assert_eq!(limit.admit(), Some(0));
        assert_eq!(limit.admit(), None);
        assert_eq!(limit.admit(), None);
        // As if the interval had passed.
        limit.next_ms.store(0, Ordering::Relaxed);
        assert_eq!(limit.admit(), Some(2));
        assert_eq!(limit.admit(), None);
    }

    #[test]
    fn the_note_counts_what_was_left_out() {
        assert_eq!(left_out_note(0), "");
        assert!(left_out_note(3).starts_with(" (3 more like this"));
    }
}
