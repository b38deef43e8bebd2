//! What the integration-test binaries share. Each binary (`tests/<area>/main.rs`) includes this
//! folder as `mod support`:
//! - `plugins`: handlers that record what they saw;
//! - `echo_backend`: a deterministic `#[backend]` and a recorder of every generation hook;
//! - `telemetry`: in-memory exporters, per-session installations, span lookups;
//! - `otlp_collector`: OTLP/HTTP and OTLP/gRPC collectors on loopback;
//! - `counting_alloc`: the `process` binary's counting global allocator.
#![allow(dead_code)]

pub mod counting_alloc;
pub mod echo_backend;
pub mod otlp_collector;
pub mod plugins;
pub mod telemetry;

use std::sync::{Mutex, MutexGuard};

/// Held for the whole of every test in the `process` binary, so that its tests — which check
/// process-wide state (the global registry, environment variables, live-generation counters,
/// the global allocator's counts) — run one at a time, as if each had the process to itself.
pub struct Exclusive(#[allow(dead_code)] MutexGuard<'static, ()>);

/// Waits for the other tests of the binary to finish; see [`Exclusive`].
pub fn exclusive() -> Exclusive {
    static PROCESS: Mutex<()> = Mutex::new(());
    // A failed test poisons the lock; the next test still gets the process to itself.
    Exclusive(
        PROCESS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    )
}
