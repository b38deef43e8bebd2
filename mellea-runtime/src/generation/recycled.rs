//! A generation's shared facts in a reused allocation: when a generation ends and nothing
//! else holds its [`GenerationInfo`], the `Arc` is emptied and kept (one per thread) for the
//! next generation to begin on that thread, so a steady stream of generations does not
//! allocate and free it once each.

use std::cell::Cell;
use std::ops::Deref;
use std::sync::Arc;

use super::GenerationInfo;

thread_local! {
    /// An emptied, unshared `GenerationInfo` allocation waiting for the next generation.
    static SPARE: Cell<Option<Arc<GenerationInfo>>> = const { Cell::new(None) };
}

/// The `Arc<GenerationInfo>` of a live generation; handed back for reuse when dropped.
pub(super) struct RecycledInfo(Arc<GenerationInfo>);

impl RecycledInfo {
    /// Shares `info`, in this thread's spare allocation when there is one.
    pub(super) fn new(info: GenerationInfo) -> Self {
        let spare = SPARE.try_with(Cell::take).ok().flatten();
        Self(match spare {
            Some(mut spare) => match Arc::get_mut(&mut spare) {
                Some(slot) => {
                    *slot = info;
                    spare
                }
                // Never kept shared (see `drop`); allocating is still correct.
                None => Arc::new(info),
            },
            None => Arc::new(info),
        })
    }

    pub(super) fn arc(&self) -> &Arc<GenerationInfo> {
        &self.0
    }
}

impl Deref for RecycledInfo {
    type Target = GenerationInfo;

    fn deref(&self) -> &GenerationInfo {
        self.arc()
    }
}

impl Drop for RecycledInfo {
    fn drop(&mut self) {
        // Still shared (a FIRE_AND_FORGET handler's context, a handler that kept its context):
        // the last holder frees it as usual.
        let Some(facts) = Arc::get_mut(&mut self.0) else {
            return;
        };
        // The plugins' per-call state, the caller's context and the spans end now, with the
        // generation, not when the allocation is reused.
        facts.clear();
        // The spare's reference outlives this one, which is dropped next: it is unshared again.
        let spare = Arc::clone(&self.0);
        let _ = SPARE.try_with(|slot| slot.set(Some(spare)));
    }
}
