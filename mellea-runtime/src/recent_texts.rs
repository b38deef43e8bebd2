//! Short texts a thread sees over and over — response models and finish reasons
//! (`gpt-4o-2024-08-06`, `stop`) — kept once as an `Arc<str>`: output views and span
//! attributes take a reference count instead of a copy.

use std::cell::RefCell;
use std::sync::Arc;

/// Texts a thread remembers: a couple of response models and the common finish reasons.
const RECENT: usize = 8;
/// Longer texts are not remembered (a model that answers with an id per response would only
/// churn the slots).
const MAX_LEN: usize = 128;

thread_local! {
    static RECENT_TEXTS: RefCell<Recent> = const {
        RefCell::new(Recent {
            slots: [const { None }; RECENT],
            next: 0,
        })
    };
}

struct Recent {
    slots: [Option<Arc<str>>; RECENT],
    next: usize,
}

/// `text` shared with the earlier views and spans of this thread that had the same text, else
/// copied once and remembered in place of the oldest (texts over [`MAX_LEN`] bytes are only
/// copied).
pub(crate) fn shared(text: &str) -> Arc<str> {
    if text.len() > MAX_LEN {
        return Arc::from(text);
    }
    RECENT_TEXTS
        .try_with(|recent| {
            let mut recent = recent.borrow_mut();
            if let Some(kept) = recent.slots.iter().flatten().find(|kept| ***kept == *text) {
                return Arc::clone(kept);
            }
            let kept: Arc<str> = Arc::from(text);
            let next = recent.next;
            recent.slots[next] = Some(Arc::clone(&kept));
            recent.next = (next + 1) % RECENT;
            kept
        })
        .unwrap_or_else(|_| Arc::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remembered() -> usize {
        RECENT_TEXTS.with_borrow(|recent| recent.slots.iter().flatten().count())
    }

    #[test]
    fn a_text_seen_before_is_shared_and_the_slots_are_capped() {
        std::thread::spawn(|| {
            assert_eq!(&*shared("stop"), "stop");
            assert_eq!(&*shared("stop"), "stop");
            assert_eq!(remembered(), 1);
            let kept = RECENT_TEXTS.with_borrow(|r| Arc::clone(r.slots[0].as_ref().unwrap()));
            assert_eq!(Arc::strong_count(&kept), 2, "the values made were dropped");
            for i in 0..3 * RECENT {
                let text = format!("model-{i}");
                assert_eq!(&*shared(&text), text, "past the cap too");
                assert!(remembered() <= RECENT);
            }
            assert_eq!(remembered(), RECENT);
            let long = "x".repeat(MAX_LEN + 1);
            assert_eq!(&*shared(&long), long);
            assert!(
                RECENT_TEXTS.with_borrow(|r| r.slots.iter().flatten().all(|k| k.len() <= MAX_LEN)),
                "long texts are not remembered"
            );
        })
        .join()
        .unwrap();
    }
}
