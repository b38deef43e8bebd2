//! Tests of process-wide state: the global registry and installation, environment variables,
//! live-generation counters, allocation budgets and live heap bytes, and the examples (which
//! install process-wide). Every test holds `support::exclusive()` for its whole run, so they
//! take turns as if each had the process to itself; this binary installs the counting
//! allocator.

// The examples are compiled in as their own module trees, as in their own binaries, so the
// module they share (`examples/support/traced.rs`) is loaded once per example.
#![allow(clippy::duplicate_mod)]

#[path = "../support/mod.rs"]
mod support;

mod agent_example;
mod backend_examples;
mod examples;
mod examples_traced;
mod fast_path_alloc;
mod generation_alloc;
mod generation_chunk_events;
mod generation_concurrency;
mod generation_fast_path;
mod global_registry;
mod soak;
mod telemetry_chunk_events;
mod telemetry_config;
mod telemetry_global;
mod telemetry_init_from_env;
mod telemetry_leaks;
mod telemetry_metrics_chunks;
mod telemetry_otlp;
mod tracing_plugin_alloc;

#[global_allocator]
static ALLOCATOR: support::counting_alloc::CountingAllocator =
    support::counting_alloc::CountingAllocator;
