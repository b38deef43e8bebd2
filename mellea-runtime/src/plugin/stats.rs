//! Failure counters: live atomics per registry and per plugin, and their snapshots.

use std::sync::atomic::{AtomicU64, Ordering};

#[allow(unused_imports)]
use super::{PluginRegistry, Registration};

/// Failure counters of a registry, or of one plugin.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) errors: AtomicU64,
    pub(crate) panics: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) suppressed_blocks: AtomicU64,
    pub(crate) discarded_patches: AtomicU64,
    pub(crate) failed_closed: AtomicU64,
    pub(crate) disabled: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> PluginStats {
        PluginStats {
            handler_errors: self.errors.load(Ordering::Relaxed),
            handler_panics: self.panics.load(Ordering::Relaxed),
            handler_timeouts: self.timeouts.load(Ordering::Relaxed),
            suppressed_blocks: self.suppressed_blocks.load(Ordering::Relaxed),
            discarded_patches: self.discarded_patches.load(Ordering::Relaxed),
            failed_closed: self.failed_closed.load(Ordering::Relaxed),
            disabled_handlers: self.disabled.load(Ordering::Relaxed),
        }
    }
}

/// A snapshot of failure counters: a registry's ([`PluginRegistry::stats`]) or one plugin's
/// ([`PluginRegistry::plugin_stats`], [`Registration::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PluginStats {
    /// Handlers that returned an error.
    pub handler_errors: u64,
    /// Handlers that panicked.
    pub handler_panics: u64,
    /// Handlers abandoned after the timeout.
    pub handler_timeouts: u64,
    /// Blocks ignored because the handler's mode cannot block.
    pub suppressed_blocks: u64,
    /// Patches ignored because the handler's mode cannot patch.
    pub discarded_patches: u64,
    /// Dispatches blocked because a handler with `on_error = fail` failed.
    pub failed_closed: u64,
    /// Handlers unregistered by `on_error = disable` after a failure.
    pub disabled_handlers: u64,
}

impl std::ops::AddAssign for PluginStats {
    fn add_assign(&mut self, other: Self) {
        self.handler_errors += other.handler_errors;
        self.handler_panics += other.handler_panics;
        self.handler_timeouts += other.handler_timeouts;
        self.suppressed_blocks += other.suppressed_blocks;
        self.discarded_patches += other.discarded_patches;
        self.failed_closed += other.failed_closed;
        self.disabled_handlers += other.disabled_handlers;
    }
}
