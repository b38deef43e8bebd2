//! Which spans are generations' spans, for
//! [`with_generation_span`](crate::generation::with_generation_span): a backend may write
//! into its generation's span, never into one it did not open.
//!
//! The span ids of the open generation spans sit in a fixed table of atomics. Marking the
//! generation's OpenTelemetry context with a value instead (`Context::with_value`) costs three
//! allocations per generation (the context's map, its `Arc` and the value's); registering an
//! id here costs one compare-and-swap and allocates nothing. The table is bounded: when the
//! slots an id may take are all held (more generations in flight than the table has room
//! for), the caller falls back to the context mark.

use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::Context;
use opentelemetry::trace::SpanId;

use crate::generation::GenerationSpanId;

/// Slots of the process's table: far more generations than a process has in flight.
const SLOTS: usize = 4096;
/// Slots an id may take, from the one its hash picks on.
const PROBES: usize = 8;

/// The process's open generation spans.
pub(crate) static GENERATION_SPANS: SpanIdSet<SLOTS> = SpanIdSet::new();

/// A bounded set of span ids that neither locks nor allocates. Each id may only sit in the
/// [`PROBES`] slots after the one its hash picks, so a lookup reads at most that many.
pub(crate) struct SpanIdSet<const N: usize> {
    /// An id's bits, 0 for a free slot (0 is the invalid span id, never registered).
    slots: [AtomicU64; N],
}

impl<const N: usize> SpanIdSet<N> {
    pub(crate) const fn new() -> Self {
        Self {
            slots: [const { AtomicU64::new(0) }; N],
        }
    }

    fn window(&self, id: u64) -> impl Iterator<Item = &AtomicU64> {
        // Fibonacci hashing: ids from a sequential generator spread as well as random ones.
        let start = (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % N;
        (0..PROBES.min(N)).map(move |i| &self.slots[(start + i) % N])
    }

    /// Adds `id`; `false` when it has no room (the caller marks the span another way) or is
    /// the invalid id.
    pub(crate) fn insert(&self, id: SpanId) -> bool {
        let id = bits(id);
        id != 0
            && self.window(id).any(|slot| {
                slot.compare_exchange(0, id, Ordering::Release, Ordering::Relaxed)
                    .is_ok()
            })
    }

    /// Removes one registration of `id` (one [`insert`](Self::insert) that returned `true`).
    pub(crate) fn remove(&self, id: SpanId) {
        let id = bits(id);
        if id == 0 {
            return;
        }
        // A slot holding `id` can only change under us by another removal of the same id,
        // which the compare-and-swap tells apart.
        let _ = self.window(id).any(|slot| {
            slot.compare_exchange(id, 0, Ordering::Release, Ordering::Relaxed)
                .is_ok()
        });
    }

    /// Whether `id` is in the set.
    pub(crate) fn contains(&self, id: SpanId) -> bool {
        let id = bits(id);
        id != 0
            && self
                .window(id)
                .any(|slot| slot.load(Ordering::Acquire) == id)
    }

    /// How many ids are in the set.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| slot.load(Ordering::Relaxed) != 0)
            .count()
    }
}

/// `cx`, whose span `id` a tracing plugin opened for a generation, made known as that
/// generation's span: the id registered in `set` (returned, to be removed when the span ends),
/// or, when `set` has no room, the context marked with it.
pub(crate) fn mark<const N: usize>(
    set: &SpanIdSet<N>,
    cx: Context,
    id: SpanId,
) -> (Context, Option<SpanId>) {
    if set.insert(id) {
        (cx, Some(id))
    } else {
        (cx.with_value(GenerationSpanId(id)), None)
    }
}

fn bits(id: SpanId) -> u64 {
    u64::from_be_bytes(id.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generation::with_generation_span;
    use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    #[test]
    fn with_no_room_the_context_is_marked_and_the_span_still_found() {
        let full = SpanIdSet::<8>::new();
        for n in 1..=8 {
            assert!(full.insert(id(n)));
        }
        let provider = SdkTracerProvider::builder().build();
        let tracer = provider.tracer("marks");
        let span = tracer.start("chat m");
        let span_id = span.span_context().span_id();
        let (cx, registered) = mark(&full, Context::new().with_span(span), span_id);
        assert_eq!(registered, None, "no room");
        {
            let _attached = cx.clone().attach();
            assert_eq!(
                with_generation_span(|s| s.span_context().span_id()),
                Some(span_id)
            );
            // A span the body opens is not the generation's, though it inherits the mark.
            let child = tracer.start_with_context("child", &cx);
            let _child = cx.with_span(child).attach();
            assert_eq!(with_generation_span(|_| ()), None);
        }
        let _outside = Context::new().attach();
        assert_eq!(with_generation_span(|_| ()), None);
    }

    #[test]
    fn with_room_the_id_is_registered_and_the_context_left_as_it_is() {
        let set = SpanIdSet::<8>::new();
        let (cx, registered) = mark(&set, Context::new(), id(42));
        assert_eq!(registered, Some(id(42)));
        assert!(set.contains(id(42)));
        assert!(
            cx.get::<GenerationSpanId>().is_none(),
            "no mark, no allocation"
        );
    }

    fn id(n: u64) -> SpanId {
        SpanId::from_bytes(n.to_be_bytes())
    }

    #[test]
    fn ids_come_and_go() {
        let set = SpanIdSet::<64>::new();
        assert!(set.insert(id(7)));
        assert!(set.contains(id(7)));
        assert!(!set.contains(id(8)));
        set.remove(id(7));
        assert!(!set.contains(id(7)));
        assert_eq!(set.len(), 0);
        assert!(
            !set.insert(SpanId::INVALID),
            "the invalid id is never registered"
        );
        assert!(!set.contains(SpanId::INVALID));
    }

    #[test]
    fn an_id_registered_twice_stays_until_both_are_removed() {
        let set = SpanIdSet::<64>::new();
        assert!(set.insert(id(9)) && set.insert(id(9)));
        set.remove(id(9));
        assert!(set.contains(id(9)));
        set.remove(id(9));
        assert!(!set.contains(id(9)));
    }

    #[test]
    fn the_set_is_bounded_and_refuses_what_it_has_no_room_for() {
        let set = SpanIdSet::<16>::new();
        let accepted: Vec<u64> = (1..=200).filter(|&n| set.insert(id(n))).collect();
        assert!(accepted.len() <= 16, "{} ids in 16 slots", accepted.len());
        assert_eq!(set.len(), accepted.len());
        assert!(accepted.iter().all(|&n| set.contains(id(n))));
        let refused = (1..=200).find(|n| !accepted.contains(n)).unwrap();
        assert!(!set.contains(id(refused)), "a refused id is not found");
        for &n in &accepted {
            set.remove(id(n));
        }
        assert_eq!(set.len(), 0, "every slot is freed");
        assert!(set.insert(id(refused)), "room again");
    }
}
