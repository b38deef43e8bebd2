//! Boolean environment flags: what counts as "on" is decided here and nowhere else, and a flag
//! read on a per-call path is read from the process environment once, not on every call.
//!
//! Reading the environment takes a process-wide lock in the standard library and copies the
//! value; a streamed generation used to do that on every call. [`EnvFlag`] caches the answer
//! until [`reread_env_flags`] says the environment changed (only tests that flip variables
//! need that).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::generation::CHUNK_EVENTS_ENV;

/// Whether an environment value switches a flag on: `1`, `true` or `yes` in any case, with
/// surrounding whitespace ignored. Anything else is off, and so is an unset variable.
///
/// The Python original does not trim (`" true"` is off there); here every flag trims, so that
/// a value pasted with a stray space or newline means what it says.
///
/// ```
/// use mellea_runtime::telemetry::truthy;
/// assert!(truthy(Some("TRUE")) && truthy(Some("1")) && truthy(Some(" Yes\n")));
/// assert!(!truthy(Some("on")) && !truthy(Some("0")) && !truthy(None));
/// ```
pub fn truthy(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        let v = v.trim();
        v == "1" || v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("yes")
    })
}

/// Whether an environment value clearly switches a flag off: empty, `0`, `false` or `no` (in
/// any case, surrounding whitespace ignored).
pub(crate) fn falsy(value: &str) -> bool {
    let v = value.trim();
    v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false") || v.eq_ignore_ascii_case("no")
}

/// Reads the flag `name` through `lookup`; a value that is neither on nor off is treated as
/// off and recorded in `problems`, with the values that are understood.
pub(crate) fn flag(
    lookup: &dyn Fn(&str) -> Option<String>,
    name: &str,
    problems: &mut Vec<String>,
) -> bool {
    let value = lookup(name);
    if let Some(v) = value.as_deref().filter(|v| !truthy(Some(v)) && !falsy(v)) {
        problems.push(format!(
            "{name}=`{v}` is not understood (1/true/yes switch it on, 0/false/no or empty \
             off); treated as off"
        ));
    }
    truthy(value.as_deref())
}

/// Bumped by [`reread_env_flags`]; a cached flag read under an older value is read again.
static EPOCH: AtomicU32 = AtomicU32::new(0);

/// `MELLEA_GENERATION_CHUNK_EVENTS`, read by every streamed generation that has a
/// `generation_event` listener.
pub(crate) static CHUNK_EVENTS: EnvFlag = EnvFlag::new(CHUNK_EVENTS_ENV);

/// A flag of the process environment, read on first use and then answered from memory.
pub(crate) struct EnvFlag {
    name: &'static str,
    /// `(epoch + 1) << 1 | on`, or 0 before the first read.
    state: AtomicU64,
}

impl EnvFlag {
    pub(crate) const fn new(name: &'static str) -> Self {
        Self {
            name,
            state: AtomicU64::new(0),
        }
    }

    /// Whether the flag is on (see [`truthy`]).
    pub(crate) fn get(&self) -> bool {
        self.get_with(|name| std::env::var(name).ok())
    }

    /// [`get`](Self::get), reading through `lookup` when the cache is stale.
    fn get_with(&self, lookup: impl FnOnce(&str) -> Option<String>) -> bool {
        let epoch = u64::from(EPOCH.load(Ordering::Relaxed)) + 1;
        let state = self.state.load(Ordering::Relaxed);
        if state >> 1 == epoch {
            return state & 1 == 1;
        }
        // Two threads may both read here; they store the same answer.
        let on = truthy(lookup(self.name).as_deref());
        self.state
            .store((epoch << 1) | u64::from(on), Ordering::Relaxed);
        on
    }
}

/// Makes every cached environment flag (e.g. `MELLEA_GENERATION_CHUNK_EVENTS`) read the
/// process environment again on its next use. For tests that change variables while the
/// process runs; applications set their environment before starting.
#[doc(hidden)]
pub fn reread_env_flags() {
    EPOCH.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn truthy_is_one_true_yes_in_any_case_with_whitespace_trimmed() {
        for on in ["1", "true", "TRUE", " True ", "yes\n", "\tYES"] {
            assert!(truthy(Some(on)), "{on:?}");
        }
        for off in ["", " ", "0", "false", "no", "on", "2", "y", "t rue", "11"] {
            assert!(!truthy(Some(off)), "{off:?}");
        }
        assert!(!truthy(None));
        for off in ["", " ", "0", " FALSE ", "No"] {
            assert!(falsy(off), "{off:?}");
        }
        assert!(!falsy("on") && !falsy("1"));
    }

    #[test]
    fn a_flag_that_is_neither_on_nor_off_is_off_and_named() {
        let mut problems = Vec::new();
        let lookup = |_: &str| Some("enabled".to_owned());
        assert!(!flag(&lookup, "MELLEA_X", &mut problems));
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("MELLEA_X=`enabled`"),
            "{problems:?}"
        );
        let lookup = |_: &str| Some(" no ".to_owned());
        assert!(!flag(&lookup, "MELLEA_X", &mut problems));
        assert_eq!(problems.len(), 1, "an explicit off is not a problem");
    }

    #[test]
    fn a_cached_flag_reads_the_environment_once_until_told_to_reread() {
        let flag = EnvFlag::new("MELLEA_TEST_CACHED_FLAG");
        let reads = Cell::new(0);
        let lookup = |value: &'static str| {
            let reads = &reads;
            move |name: &str| {
                assert_eq!(name, "MELLEA_TEST_CACHED_FLAG");
                reads.set(reads.get() + 1);
                Some(value.to_owned())
            }
        };
        assert!(flag.get_with(lookup("1")));
        // Cached: a changed environment is not seen, and not read.
        for _ in 0..3 {
            assert!(flag.get_with(lookup("0")));
        }
        assert_eq!(reads.get(), 1);
        reread_env_flags();
        assert!(!flag.get_with(lookup("0")));
        assert!(!flag.get_with(lookup("1")));
        assert_eq!(reads.get(), 2);
    }
}
