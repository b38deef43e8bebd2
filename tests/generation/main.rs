//! Generations under `#[backend]` / `#[generation_hook]`: chat, batch and stream shapes, the
//! lifecycle and exactly-once hooks. Tests run in parallel, each in its own session.

#[path = "../support/mod.rs"]
mod support;

mod chat;
mod lifecycle;
mod reuse;
mod shapes;
