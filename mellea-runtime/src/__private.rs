//! What macro expansions call. Not public API: no stability guarantees.

pub use crate::hooks;
pub use crate::plugin;
