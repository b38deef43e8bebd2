//! Hooks, payloads, the plugin registry, execution modes, failure policies and the plugin
//! macros. Tests run in parallel: each uses its own `PluginRegistry` or its own session.

#[path = "../support/mod.rs"]
mod support;

mod examples;
mod failure_logs;
mod handler_future;
mod hook_table;
mod macro_modes;
mod modes;
mod on_error;
mod payloads;
mod registry;
mod registry_scale;
mod tools;
mod violation;
