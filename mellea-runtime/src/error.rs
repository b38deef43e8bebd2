//! Errors of the runtime.

use crate::hooks::HookType;

/// A plugin blocked an operation.
///
/// Returned by dispatch when a SEQUENTIAL or CONCURRENT handler blocks; backends return it as
/// their method's error (their error type converts from it).
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
    /// Registry name of the handler that blocked (`"{plugin}.{hook}"` or the handler's name).
    pub plugin_name: String,
}

impl PluginViolation {
    /// A violation of `hook` raised by `plugin_name`.
    pub fn new(
        hook: HookType,
        reason: impl Into<String>,
        code: impl Into<String>,
        plugin_name: impl Into<String>,
    ) -> Self {
        Self {
            hook,
            reason: reason.into(),
            code: code.into(),
            plugin_name: plugin_name.into(),
        }
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
    /// A plugin or handler has an empty name.
    #[error("a plugin or handler has an empty name; nothing was registered. Give it a unique name")]
    EmptyName,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_omits_the_bracket_without_a_code() {
        let v = PluginViolation::new(HookType::SessionPreInit, "nope", "", "p.session_pre_init");
        assert_eq!(v.to_string(), "Plugin blocked session_pre_init: nope");
    }
}
