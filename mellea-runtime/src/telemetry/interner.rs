//! Span names kept for the life of the process, so that a span takes its name without a copy.
//!
//! The SDK names a span with a `Cow<'static, str>`: a `"chat {model}"` built per generation is
//! one allocation per span, a `&'static str` is none. A process has a handful of distinct
//! names (one per operation and model), so each is leaked once and shared from then on — up to
//! a cap in names and bytes, past which a name is simply allocated per span again.

use std::borrow::Cow;
use std::sync::{Mutex, PoisonError};

/// The most distinct names kept. Several hundred models in one process is already unusual.
const MAX_NAMES: usize = 512;
/// The most bytes kept for them, whatever their number: the memory the interner may ever
/// hold.
const MAX_BYTES: usize = 32 * 1024;

/// The process's span names.
pub(crate) static SPAN_NAMES: Interner = Interner::new(MAX_NAMES, MAX_BYTES);

/// A set of strings leaked once each, within a cap.
pub(crate) struct Interner {
    max_names: usize,
    max_bytes: usize,
    state: Mutex<Interned>,
}

struct Interned {
    names: Vec<&'static str>,
    bytes: usize,
}

impl Interner {
    pub(crate) const fn new(max_names: usize, max_bytes: usize) -> Self {
        Self {
            max_names,
            max_bytes,
            state: Mutex::new(Interned {
                names: Vec::new(),
                bytes: 0,
            }),
        }
    }

    /// `name` as a `'static` string when it is (or can still be) kept, else an owned copy.
    ///
    /// Callers remember the answer (per backend and thread), so the lock is taken when a
    /// thread first sees a backend, not per span.
    pub(crate) fn intern(&self, name: &str) -> Cow<'static, str> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&kept) = state.names.iter().find(|kept| **kept == name) {
            return Cow::Borrowed(kept);
        }
        if state.names.len() >= self.max_names || state.bytes + name.len() > self.max_bytes {
            return Cow::Owned(name.to_owned());
        }
        let kept: &'static str = Box::leak(Box::<str>::from(name));
        state.names.push(kept);
        state.bytes += kept.len();
        Cow::Borrowed(kept)
    }

    /// How many names are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .names
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_kept_once_and_shared() {
        let interner = Interner::new(4, 1024);
        let first = interner.intern("chat model-a");
        let again = interner.intern("chat model-a");
        let (Cow::Borrowed(first), Cow::Borrowed(again)) = (first, again) else {
            panic!("under the cap, names are kept");
        };
        assert!(std::ptr::eq(first, again), "the same storage, not a copy");
        assert_eq!(interner.len(), 1);
    }

    #[test]
    fn past_the_cap_names_are_copied_and_nothing_more_is_kept() {
        let interner = Interner::new(3, 1024);
        for i in 0..10 {
            let name = format!("chat model-{i}");
            let interned = interner.intern(&name);
            assert_eq!(interned, name, "every name comes back right");
            assert_eq!(matches!(interned, Cow::Borrowed(_)), i < 3, "name {i}");
        }
        assert_eq!(interner.len(), 3, "the cap in names holds");
        // A kept name is still shared past the cap.
        assert!(matches!(interner.intern("chat model-1"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_cap_in_bytes_holds_for_long_names() {
        let interner = Interner::new(100, 64);
        let long = "m".repeat(40);
        assert!(matches!(interner.intern(&long), Cow::Borrowed(_)));
        let other = "n".repeat(40);
        assert!(matches!(interner.intern(&other), Cow::Owned(copy) if copy == other));
        assert_eq!(
            interner.len(),
            1,
            "40 + 40 bytes would pass the 64-byte cap"
        );
    }
}
