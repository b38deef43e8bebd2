//! The handlers of one hook, indexed for registration in O(log n) and for dispatch that looks
//! only at the handlers that can fire.
//!
//! A table is a persistent value: cloning it costs O(1) (the trees share their nodes), and
//! inserting or removing a handler copies only the O(log n) nodes on the path to it. The
//! registry keeps the current table under its lock, edits a clone and publishes that clone
//! atomically, so a dispatch that loaded the previous table keeps a consistent snapshot.

use std::sync::Arc;

use rpds::{HashTrieMapSync, RedBlackTreeMapSync};

use super::PluginMode;
use super::registry::{Adapter, Scope};

/// Execution order: mode phase, then priority, then registration order.
pub(crate) type OrderKey = (PluginMode, i32, u64);

/// Handlers of one scope in execution order.
type Lane = RedBlackTreeMapSync<OrderKey, Arc<Adapter>>;

/// The handlers of one hook: the global ones, and each session's own.
#[derive(Clone)]
pub(crate) struct HookTable {
    global: Lane,
    sessions: HashTrieMapSync<Arc<str>, Lane>,
    len: usize,
}

impl Default for HookTable {
    fn default() -> Self {
        Self {
            global: RedBlackTreeMapSync::new_sync(),
            sessions: HashTrieMapSync::new_sync(),
            len: 0,
        }
    }
}

impl std::fmt::Debug for HookTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookTable")
            .field("global", &self.global.size())
            .field("sessions", &self.sessions.size())
            .field("len", &self.len)
            .finish()
    }
}

impl HookTable {
    /// Number of handlers, all scopes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Adds a handler: O(log g) for a global one (g: global handlers of this hook), O(log s +
    /// log k) for a session's (s: sessions with handlers on this hook, k: that session's).
    pub(crate) fn insert(&mut self, adapter: Arc<Adapter>) {
        let key = adapter.order_key();
        match &adapter.scope {
            Scope::Global => self.global.insert_mut(key, adapter),
            Scope::Session(id) => {
                let id: Arc<str> = Arc::clone(id);
                let mut lane = self
                    .sessions
                    .get(&*id)
                    .cloned()
                    .unwrap_or_else(RedBlackTreeMapSync::new_sync);
                lane.insert_mut(key, adapter);
                self.sessions.insert_mut(id, lane);
            }
        }
        self.len += 1;
    }

    /// Removes a handler (same cost as [`insert`](Self::insert)); `false` if it was not here.
    pub(crate) fn remove(&mut self, adapter: &Adapter) -> bool {
        let key = adapter.order_key();
        let removed = match &adapter.scope {
            Scope::Global => self.global.remove_mut(&key),
            Scope::Session(id) => {
                let Some(mut lane) = self.sessions.get(&**id).cloned() else {
                    return false;
                };
                let removed = lane.remove_mut(&key);
                if lane.is_empty() {
                    self.sessions.remove_mut(&**id);
                } else {
                    self.sessions.insert_mut(Arc::clone(id), lane);
                }
                removed
            }
        };
        self.len -= usize::from(removed);
        removed
    }

    /// The handlers of one session, in execution order.
    pub(crate) fn session_handlers(&self, session: &str) -> Vec<Arc<Adapter>> {
        self.sessions
            .get(session)
            .map(|lane| lane.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The handlers a dispatch of `session` runs, in execution order: the global ones merged
    /// with that session's own. Other sessions' handlers are not looked at: the cost is one
    /// hash lookup plus the handlers returned.
    pub(crate) fn active(&self, session: Option<&str>) -> Vec<&Arc<Adapter>> {
        let own = match session {
            Some(id) if !self.sessions.is_empty() => self.sessions.get(id),
            _ => None,
        };
        let Some(own) = own else {
            return self.global.values().collect();
        };
        let mut out = Vec::with_capacity(self.global.size() + own.size());
        let mut global = self.global.iter().peekable();
        let mut local = own.iter().peekable();
        loop {
            let next = match (global.peek(), local.peek()) {
                (Some((g, _)), Some((l, _))) => {
                    if g <= l {
                        global.next()
                    } else {
                        local.next()
                    }
                }
                (Some(_), None) => global.next(),
                (None, Some(_)) => local.next(),
                (None, None) => break,
            };
            if let Some((_, adapter)) = next {
                out.push(adapter);
            }
        }
        out
    }
}
