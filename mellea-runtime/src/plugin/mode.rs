//! The five execution modes a handler runs in, and the default priority.

use std::fmt;
use std::str::FromStr;

/// The five execution modes, in the order their phases run.
///
/// Phase order dominates priority: every SEQUENTIAL handler runs before any TRANSFORM handler,
/// whatever their priorities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PluginMode {
    /// Serial, awaited; may patch; may block.
    #[default]
    Sequential,
    /// Serial, awaited; may patch; a block is suppressed with a warning.
    Transform,
    /// Serial, awaited; sees the patched payload; cannot patch or block.
    Audit,
    /// Run concurrently; cannot patch; the first block wins and cancels the rest.
    Concurrent,
    /// Spawned, not awaited; sees the final payload; cannot patch or block.
    FireAndForget,
}

impl PluginMode {
    /// Every mode, in phase order.
    pub const ALL: [PluginMode; 5] = [
        PluginMode::Sequential,
        PluginMode::Transform,
        PluginMode::Audit,
        PluginMode::Concurrent,
        PluginMode::FireAndForget,
    ];

    /// The mode's name, e.g. `"fire_and_forget"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PluginMode::Sequential => "sequential",
            PluginMode::Transform => "transform",
            PluginMode::Audit => "audit",
            PluginMode::Concurrent => "concurrent",
            PluginMode::FireAndForget => "fire_and_forget",
        }
    }

    /// Whether patches of handlers in this mode are applied.
    pub const fn may_patch(self) -> bool {
        matches!(self, PluginMode::Sequential | PluginMode::Transform)
    }

    /// Whether handlers in this mode can block.
    pub const fn may_block(self) -> bool {
        matches!(self, PluginMode::Sequential | PluginMode::Concurrent)
    }

    /// Whether writes to the context state are merged back for later handlers.
    pub const fn merges_state(self) -> bool {
        matches!(
            self,
            PluginMode::Sequential | PluginMode::Transform | PluginMode::Concurrent
        )
    }
}

impl fmt::Display for PluginMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no mode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown plugin mode `{0}`: expected one of sequential, transform, audit, concurrent, fire_and_forget"
)]
pub struct UnknownPluginMode(pub String);

impl FromStr for PluginMode {
    type Err = UnknownPluginMode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PluginMode::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownPluginMode(s.to_owned()))
    }
}

/// Priority of handlers that set none; lower runs first.
pub const DEFAULT_PRIORITY: i32 = 50;
