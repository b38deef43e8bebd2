//! Model names shared between output views: a backend's answers name the same model over
//! and over, so each thread keeps its few most recent names and hands out the same `Arc<str>`
//! instead of copying the name into every view (and every span attribute read from it).

use std::cell::RefCell;
use std::sync::Arc;

/// `name` as a shared string: one of this thread's few most recently seen model names when it
/// is one of them (a backend's answers name the same model over and over), else a new one that
/// replaces the oldest. Bounded: at most [`RECENT_MODEL_NAMES`] names per thread.
pub(crate) fn shared_model_name(name: &str) -> Arc<str> {
    thread_local! {
        static RECENT: RefCell<RecentNames> = const { RefCell::new(RecentNames::new()) };
    }
    RECENT.with(|recent| recent.borrow_mut().share(name))
}

/// How many model names [`shared_model_name`] remembers per thread.
pub(crate) const RECENT_MODEL_NAMES: usize = 4;

/// A small ring of recently shared names.
struct RecentNames {
    names: [Option<Arc<str>>; RECENT_MODEL_NAMES],
    /// The slot the next new name replaces.
    next: usize,
}

impl RecentNames {
    const fn new() -> Self {
        Self {
            names: [const { None }; RECENT_MODEL_NAMES],
            next: 0,
        }
    }

    fn share(&mut self, name: &str) -> Arc<str> {
        if let Some(known) = self.names.iter().flatten().find(|known| ***known == *name) {
            return known.clone();
        }
        let fresh: Arc<str> = Arc::from(name);
        self.names[self.next] = Some(fresh.clone());
        self.next = (self.next + 1) % RECENT_MODEL_NAMES;
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recent_name_is_shared_and_at_most_four_are_kept() {
        let mut recent = RecentNames::new();
        let first = recent.share("gpt-4o-2024-08-06");
        assert!(Arc::ptr_eq(&first, &recent.share("gpt-4o-2024-08-06")));
        for other in ["a", "b", "c", "d"] {
            recent.share(other);
        }
        assert_eq!(recent.names.iter().flatten().count(), RECENT_MODEL_NAMES);
        // Pushed out by the four newer names: a fresh copy, equal but not shared.
        let again = recent.share("gpt-4o-2024-08-06");
        assert_eq!(again, first);
        assert!(!Arc::ptr_eq(&again, &first));
    }
}
