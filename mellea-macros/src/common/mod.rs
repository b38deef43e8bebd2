//! Pieces shared by every attribute: error accumulation, the `key = value` argument syntax,
//! identifier-valued arguments, "did you mean" suggestions, `crate = path`, and the hook table.

pub(crate) mod args;
pub(crate) mod crate_path;
pub(crate) mod errors;
pub(crate) mod hook_table;
pub(crate) mod keyword;
pub(crate) mod on_error;
pub(crate) mod suggest;
