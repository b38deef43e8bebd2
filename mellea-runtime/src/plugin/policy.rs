//! What a handler's failure (an error, a panic or a timeout) does to the dispatch.

use std::fmt;
use std::str::FromStr;

use super::PluginMode;

/// What happens when a handler returns an error, panics or runs past its timeout.
///
/// Set per handler (`#[hook("...", on_error = fail)]`, [`HookFn::with_on_error`],
/// [`HandlerOptions::with_on_error`]) or per plugin (`#[plugin(name = "...", on_error = fail)]`,
/// [`Plugin::on_error`]); the handler's own setting wins.
///
/// ```
/// use mellea_runtime::plugin::{OnError, PluginMode};
/// assert_eq!(OnError::default(), OnError::Ignore);
/// assert_eq!("fail".parse::<OnError>(), Ok(OnError::Fail));
/// assert!(OnError::Fail.allowed_in(PluginMode::Sequential));
/// assert!(!OnError::Fail.allowed_in(PluginMode::Audit));
/// ```
///
/// [`HookFn::with_on_error`]: super::HookFn::with_on_error
/// [`HandlerOptions::with_on_error`]: super::HandlerOptions::with_on_error
/// [`Plugin::on_error`]: super::Plugin::on_error
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OnError {
    /// Log and count the failure, then go on as if the handler had returned
    /// [`HookAction::Continue`](super::HookAction::Continue) (the Python original's behaviour).
    #[default]
    Ignore,
    /// Fail closed: the dispatch is blocked with a [`PluginViolation`] whose code is
    /// [`PluginViolation::PLUGIN_FAILED`], as if the handler had blocked. Only in modes that
    /// can block (SEQUENTIAL, CONCURRENT); registering it in another mode is an error.
    ///
    /// [`PluginViolation`]: crate::PluginViolation
    /// [`PluginViolation::PLUGIN_FAILED`]: crate::PluginViolation::PLUGIN_FAILED
    Fail,
    /// Like `Ignore` for this failure, then unregister this handler (only this one: the
    /// plugin's other handlers stay), with one warning.
    Disable,
}

impl OnError {
    /// Every policy.
    pub const ALL: [OnError; 3] = [OnError::Ignore, OnError::Fail, OnError::Disable];

    /// The policy's name, e.g. `"fail"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            OnError::Ignore => "ignore",
            OnError::Fail => "fail",
            OnError::Disable => "disable",
        }
    }

    /// Whether a handler in `mode` may have this policy: `Fail` turns a failure into a block,
    /// so it needs a mode that can block.
    pub const fn allowed_in(self, mode: PluginMode) -> bool {
        !matches!(self, OnError::Fail) || mode.may_block()
    }
}

impl fmt::Display for OnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no failure policy.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown failure policy `{0}`: expected one of ignore, fail, disable")]
pub struct UnknownOnError(pub String);

impl FromStr for OnError {
    type Err = UnknownOnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OnError::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownOnError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_is_allowed_only_where_a_block_is() {
        for mode in PluginMode::ALL {
            assert_eq!(OnError::Fail.allowed_in(mode), mode.may_block(), "{mode}");
            assert!(OnError::Ignore.allowed_in(mode));
            assert!(OnError::Disable.allowed_in(mode));
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_list_the_policies() {
        for policy in OnError::ALL {
            assert_eq!(policy.to_string().parse::<OnError>(), Ok(policy));
        }
        let error = "crash".parse::<OnError>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown failure policy `crash`: expected one of ignore, fail, disable"
        );
    }
}
