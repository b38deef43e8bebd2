//! What macro expansions call. Not public API: no stability guarantees.

pub use crate::hooks;
pub use crate::plugin;

// #[backend] / #[generation_hook]
pub use crate::__describe_error as describe_error;
pub use crate::error::PluginViolation;
pub use crate::generation::{BackendIdentity, BackendSnapshot, Generation, GenerationKind};

/// The future of an instrumented method: its bare body when nobody listened at call time,
/// the boxed generation otherwise.
pub enum GenerationFuture<B, I> {
    /// Nobody listened: the user's body, as it would run without the attribute.
    Bare(B),
    /// The body driven by a generation (hooks, spans), on the heap.
    Instrumented(core::pin::Pin<Box<I>>),
}

impl<B, I> core::future::Future for GenerationFuture<B, I>
where
    B: core::future::Future,
    I: core::future::Future<Output = B::Output>,
{
    type Output = B::Output;

    #[inline(always)]
    fn poll(
        self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<Self::Output> {
        // SAFETY: the variants are pinned structurally: nothing moves a variant's content out
        // of a pinned `GenerationFuture`, it has no `Drop` impl, and it is `Unpin` only when
        // `B` is (the boxed variant is `Unpin` by itself).
        unsafe {
            match self.get_unchecked_mut() {
                GenerationFuture::Bare(body) => core::pin::Pin::new_unchecked(body).poll(cx),
                GenerationFuture::Instrumented(generation) => generation.as_mut().poll(cx),
            }
        }
    }
}

/// The backend's identity if anyone listens to the hooks of `kind` (one atomic load
/// otherwise): taken at call time, because the body takes the backend.
#[inline(always)]
pub fn snapshot_if_listening<B: BackendIdentity + ?Sized>(
    kind: GenerationKind,
    backend: &B,
) -> Option<BackendSnapshot> {
    if Generation::listening(kind) {
        Some(BackendSnapshot::of(backend))
    } else {
        None
    }
}

/// Moves a future to the heap. The listened-to path of a generation runs boxed, so the
/// future of an instrumented method — what every caller moves around, listened to or not —
/// stays the size of the bare method's.
#[inline(always)]
pub fn boxed<F: core::future::Future>(future: F) -> core::pin::Pin<Box<F>> {
    Box::pin(future)
}

/// Converts a plugin's block into the method's error type.
#[inline(always)]
pub fn violation_into<E: FromViolation>(violation: PluginViolation) -> E {
    E::from_violation(violation)
}

/// Error types a generation method can return a plugin's block through.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry a plugin's block",
    label = "the error type of a `#[generation_hook]` method must implement `From<mellea::PluginViolation>`",
    note = "add `impl From<mellea::PluginViolation> for {Self}` (with thiserror: a variant `Blocked(#[from] mellea::PluginViolation)`)"
)]
pub trait FromViolation {
    /// The conversion.
    fn from_violation(violation: PluginViolation) -> Self;
}

impl<E: From<PluginViolation>> FromViolation for E {
    fn from_violation(violation: PluginViolation) -> Self {
        E::from(violation)
    }
}
