//! What macro expansions call. Not public API: no stability guarantees.

pub use crate::hooks;
pub use crate::plugin;

// #[backend] / #[generation_hook]
pub use crate::__describe_error as describe_error;
pub use crate::error::PluginViolation;
pub use crate::generation::{Generation, GenerationKind};

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
