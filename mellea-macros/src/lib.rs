//! Procedural macros of mellea. Use them through the `mellea` crate.
