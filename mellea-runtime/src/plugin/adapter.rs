//! One registered handler with its mode, priority, scope, failure policy and counters.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::handler::ErasedHandler;
use super::stats::Counters;
use super::table::OrderKey;
use super::{OnError, PluginMode};

/// Which dispatches a registered handler fires for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every dispatch.
    Global,
    /// Only dispatches that carry this session id.
    Session(Arc<str>),
}

/// What a registry shares with its handlers, which may outlive a dispatch (FIRE_AND_FORGET
/// tasks): the registry-wide counters and the handlers `on_error = disable` has switched off
/// but not yet removed from the tables.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) counters: Counters,
    /// `(registry name, id)` of handlers to remove.
    pub(crate) pending_disable: Mutex<Vec<(String, u64)>>,
    pub(crate) has_pending: AtomicBool,
    /// Whether handlers' own error and panic messages are logged (at DEBUG).
    pub(crate) log_handler_messages: AtomicBool,
}

/// One registered handler.
pub(crate) struct Adapter {
    pub(crate) id: u64,
    pub(crate) name: String,
    /// Plugin name for plugin handlers, the handler name for standalone handlers.
    pub(crate) owner: Owner,
    pub(crate) mode: PluginMode,
    pub(crate) priority: i32,
    pub(crate) seq: u64,
    pub(crate) scope: Scope,
    pub(crate) on_error: OnError,
    pub(crate) handler: ErasedHandler,
    /// The owner's counters (shared by the handlers of one plugin).
    pub(crate) counters: Arc<Counters>,
    pub(crate) shared: Arc<Shared>,
    /// Set by `on_error = disable`; a disabled handler is skipped by dispatches that loaded
    /// a table before it was removed.
    pub(crate) disabled: AtomicBool,
    /// Whether the "ran past its timeout without yielding" warning was given.
    pub(crate) warned_blocking: AtomicBool,
    /// How often this handler's failures and blocks are warned about.
    pub(crate) warnings: super::warn_limit::WarnLimit,
}

impl Adapter {
    pub(crate) fn order_key(&self) -> OrderKey {
        (self.mode, self.priority, self.seq)
    }

    /// Counts an event in the owner's and the registry's counters.
    pub(crate) fn count(&self, counter: fn(&Counters) -> &AtomicU64) {
        counter(&self.counters).fetch_add(1, Ordering::Relaxed);
        counter(&self.shared.counters).fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the registry logs handlers' own error and panic messages.
    pub(crate) fn logs_handler_messages(&self) -> bool {
        self.shared.log_handler_messages.load(Ordering::Relaxed)
    }

    pub(crate) fn is_disabled(&self) -> bool {
        self.disabled.load(Ordering::Relaxed)
    }

    /// Switches the handler off and queues its removal; `true` only for the first call.
    pub(crate) fn disable(&self) -> bool {
        if self.disabled.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.count(|c| &c.disabled);
        self.shared
            .pending_disable
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((self.name.clone(), self.id));
        self.shared.has_pending.store(true, Ordering::Release);
        true
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Owner {
    Plugin(String),
    Function(String),
}

impl Owner {
    pub(crate) fn name(&self) -> &str {
        match self {
            Owner::Plugin(name) | Owner::Function(name) => name,
        }
    }
}

impl fmt::Debug for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Adapter")
            .field("name", &self.name)
            .field("hook", &self.handler.hook())
            .field("mode", &self.mode)
            .field("priority", &self.priority)
            .field("on_error", &self.on_error)
            .finish()
    }
}
