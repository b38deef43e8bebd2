//! # mellea
//!
//! Hooks and OpenTelemetry GenAI tracing for LLM backends, with hook signatures checked at
//! compile time.
//!
//! ```
//! use mellea::hooks::{GenerationPreCall, GenerationPreCallPatch};
//! use mellea::plugin::{HookAction, HookFn, PluginMode};
//!
//! // A handler that pins the temperature of every generation to 0.
//! let deterministic = HookFn::new::<GenerationPreCall, _>("deterministic", |payload, _ctx| {
//!     let mut options = payload.model_options.clone();
//!     options.insert("temperature".into(), 0.0.into());
//!     Box::pin(async move {
//!         Ok(HookAction::Modify(GenerationPreCallPatch::new().with_model_options(options)))
//!     })
//! })
//! .with_mode(PluginMode::Transform);
//! let _registration = mellea::register(deterministic).unwrap();
//! assert!(mellea::has_listeners(mellea::hooks::HookType::GenerationPreCall));
//! ```

pub use mellea_runtime::plugin::{
    HookAction, HookContext, HookResult, Plugin, PluginMode, PluginRegistry, PluginSet, Violation,
    global, has_any_listener, has_listeners,
};
pub use mellea_runtime::{
    PluginViolation, RegistrationError, error, generation, hooks, plugin, session, telemetry,
};

pub use mellea_macros::{backend, generation_hook, hook, plugin};

#[doc(hidden)]
pub use mellea_runtime::__private;

/// Registers an item in the process-wide registry for every dispatch.
pub fn register(
    item: impl Into<plugin::Registrable>,
) -> Result<plugin::Registration, RegistrationError> {
    global().register(item)
}

/// Registers an item in the process-wide registry for dispatches of one session only.
pub fn register_for_session(
    session_id: impl Into<String>,
    item: impl Into<plugin::Registrable>,
) -> Result<plugin::Registration, RegistrationError> {
    global().register_for_session(session_id, item)
}

/// Registers an item in the process-wide registry until the returned guard is dropped.
pub fn scoped(
    item: impl Into<plugin::Registrable>,
) -> Result<plugin::PluginScope<'static>, RegistrationError> {
    global().scoped(item)
}

/// Removes an item from the process-wide registry; unknown items are ignored.
pub fn unregister(target: impl Into<plugin::UnregisterTarget>) {
    global().unregister(target)
}

/// Removes every item registered for `session_id` from the process-wide registry.
pub fn unregister_session(session_id: &str) {
    global().unregister_session(session_id)
}

/// The README's examples, compiled and run as doctests so they stay correct.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
