//! Errors of the runtime.

use crate::hooks::HookType;
use crate::plugin::Violation;

/// A plugin blocked an operation.
///
/// Returned by dispatch when a SEQUENTIAL or CONCURRENT handler blocks; backends return it as
/// their method's error (their error type converts from it).
///
/// A handler says *why* it blocks with a [`Violation`]; this is the error the caller gets,
/// which adds *where*: the hook and the handler. The reference keeps the same two types
/// (`PluginViolation` returned by a plugin, `PluginViolationError` raised to the caller); here
/// the error carries every field of the handler's violation, so nothing the handler said is
/// lost on the way.
///
/// ```
/// use mellea_runtime::PluginViolation;
/// use mellea_runtime::hooks::HookType;
/// let v = PluginViolation::new(
///     HookType::GenerationPreCall,
///     "prompt contains a secret",
///     "PII",
///     "guard.generation_pre_call",
/// );
/// assert_eq!(v.to_string(), "Plugin blocked generation_pre_call: [PII] prompt contains a secret");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Plugin blocked {hook}: {}{reason}", code_prefix(.code))]
#[non_exhaustive]
pub struct PluginViolation {
    /// The hook that was blocked.
    pub hook: HookType,
    /// Why.
    pub reason: String,
    /// Machine-readable code (may be empty).
    pub code: String,
    /// Longer description (the handler's [`Violation::description`]; the reason by default).
    pub description: String,
    /// Structured details from the handler's [`Violation::details`]. Boxed: the error stays
    /// under 128 bytes, so error types that carry it stay small (`clippy::result_large_err`).
    pub details: Box<serde_json::Map<String, serde_json::Value>>,
    /// Registry name of the handler that blocked (`"{plugin}.{hook}"` or the handler's name).
    pub plugin_name: String,
    /// Set when the block is a handler's failure under `on_error = fail` (then `code` is
    /// [`PLUGIN_FAILED`](Self::PLUGIN_FAILED)); `None` when a handler blocked on purpose.
    pub failure: Option<HandlerFailure>,
}

impl PluginViolation {
    /// The code of a block caused by a handler's failure under `on_error = fail`.
    pub const PLUGIN_FAILED: &'static str = "plugin_failed";

    /// A violation of `hook` raised by `plugin_name`.
    pub fn new(
        hook: HookType,
        reason: impl Into<String>,
        code: impl Into<String>,
        plugin_name: impl Into<String>,
    ) -> Self {
        let reason = reason.into();
        Self {
            hook,
            description: reason.clone(),
            reason,
            code: code.into(),
            details: Box::default(),
            plugin_name: plugin_name.into(),
            failure: None,
        }
    }

    /// The block of `hook` by the handler `plugin_name`, with everything its [`Violation`]
    /// says.
    ///
    /// ```
    /// use mellea_runtime::PluginViolation;
    /// use mellea_runtime::hooks::HookType;
    /// use mellea_runtime::plugin::Violation;
    /// let mut details = serde_json::Map::new();
    /// details.insert("field".into(), "prompt".into());
    /// let violation = Violation::new("prompt contains a secret")
    ///     .with_code("PII")
    ///     .with_description("an API key was found in the prompt")
    ///     .with_details(details.clone());
    /// let v = PluginViolation::blocked(HookType::GenerationPreCall, "guard.generation_pre_call", violation);
    /// assert_eq!(v.description, "an API key was found in the prompt");
    /// assert_eq!(*v.details, details);
    /// assert_eq!(v.to_string(), "Plugin blocked generation_pre_call: [PII] prompt contains a secret");
    /// ```
    pub fn blocked(hook: HookType, plugin_name: impl Into<String>, violation: Violation) -> Self {
        Self {
            hook,
            reason: violation.reason,
            code: violation.code,
            description: violation.description,
            details: Box::new(violation.details),
            plugin_name: plugin_name.into(),
            failure: None,
        }
    }

    /// The block of a handler that failed under `on_error = fail`.
    ///
    /// The reason names the handler and the kind of failure only: an error's or a panic's
    /// message may quote the prompt, so it goes to the log, not into the violation.
    ///
    /// ```
    /// use mellea_runtime::{HandlerFailure, PluginViolation};
    /// use mellea_runtime::hooks::HookType;
    /// let v = PluginViolation::handler_failed(
    ///     HookType::GenerationPreCall,
    ///     "guard.generation_pre_call",
    ///     HandlerFailure::Panic,
    /// );
    /// assert_eq!(v.code, PluginViolation::PLUGIN_FAILED);
    /// assert_eq!(
    ///     v.to_string(),
    ///     "Plugin blocked generation_pre_call: [plugin_failed] handler `guard.generation_pre_call` \
    ///      panicked and has on_error = fail"
    /// );
    /// ```
    pub fn handler_failed(
        hook: HookType,
        plugin_name: impl Into<String>,
        failure: HandlerFailure,
    ) -> Self {
        let plugin_name = plugin_name.into();
        let reason = format!("handler `{plugin_name}` {failure} and has on_error = fail");
        Self {
            hook,
            description: reason.clone(),
            reason,
            code: Self::PLUGIN_FAILED.to_owned(),
            details: Box::default(),
            plugin_name,
            failure: Some(failure),
        }
    }
}

/// How a handler failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandlerFailure {
    /// It returned an error.
    Error,
    /// It panicked.
    Panic,
    /// It ran past the registry's handler timeout and was abandoned.
    Timeout,
}

impl std::fmt::Display for HandlerFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HandlerFailure::Error => "returned an error",
            HandlerFailure::Panic => "panicked",
            HandlerFailure::Timeout => "timed out",
        })
    }
}

fn code_prefix(code: &str) -> String {
    if code.is_empty() {
        String::new()
    } else {
        format!("[{code}] ")
    }
}

/// Registration was refused; nothing from that call was registered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// A handler with this registry name is already registered (or the call registers it
    /// twice).
    #[error(
        "a handler named `{name}` is already registered; nothing was registered. Unregister the \
         existing one first, or give the plugin a different name (a plugin may have only one \
         handler per hook)"
    )]
    DuplicateName {
        /// The registry name that clashed (`"{plugin}.{hook}"` or the handler's name).
        name: String,
    },
    /// A handler has `on_error = fail` (its own or its plugin's) in a mode that cannot block.
    #[error(
        "handler `{name}` has on_error = fail in {mode} mode, which cannot block, so its failure \
         could not stop anything; nothing was registered. `fail` is allowed in sequential and \
         concurrent modes: change the handler's mode, or give it on_error = ignore or disable"
    )]
    FailCannotBlock {
        /// The handler's registry name.
        name: String,
        /// Its mode (transform, audit or fire_and_forget).
        mode: crate::plugin::PluginMode,
    },
    /// A plugin or handler has an empty name.
    #[error("a plugin or handler has an empty name; nothing was registered. Give it a unique name")]
    EmptyName,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_stays_small_enough_to_return() {
        assert!(std::mem::size_of::<PluginViolation>() < 128);
    }

    #[test]
    fn display_omits_the_bracket_without_a_code() {
        let v = PluginViolation::new(HookType::SessionPreInit, "nope", "", "p.session_pre_init");
        assert_eq!(v.to_string(), "Plugin blocked session_pre_init: nope");
    }
}
