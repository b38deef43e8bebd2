//! Pieces shared by `#[plugin]` and `#[hook]`: error accumulation, the hook table, "did you
//! mean" suggestions and the `key = value` argument syntax.

pub(crate) mod args;
pub(crate) mod errors;
pub(crate) mod hook_table;
pub(crate) mod on_error;
pub(crate) mod suggest;
