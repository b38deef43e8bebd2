//! The handlers of one hook, indexed for registration in O(log n) and for dispatch that looks
//! only at the handlers that can fire.
//!
//! A table is a persistent value: cloning it costs O(1) (the trees share their nodes), and
//! inserting or removing a handler copies only the O(log n) nodes on the path to it. The
//! registry keeps the current table under its lock, edits a clone and publishes that clone
//! atomically, so a dispatch that loaded the previous table keeps a consistent snapshot.

use std::sync::{Arc, OnceLock};

use rpds::{HashTrieMapSync, RedBlackTreeMapSync};

use super::PluginMode;
use super::adapter::{Adapter, Scope};

/// Execution order: mode phase, then priority, then registration order.
pub(crate) type OrderKey = (PluginMode, i32, u64);

/// Handlers of one scope in execution order.
type Lane = RedBlackTreeMapSync<OrderKey, Arc<Adapter>>;

/// The global handlers flattened into a slice, built by the first dispatch that needs it.
type Flat = Arc<OnceLock<Box<[Arc<Adapter>]>>>;

/// The handlers of one hook: the global ones, and each session's own.
#[derive(Clone)]
pub(crate) struct HookTable {
    global: Lane,
    /// `global` as a slice, so that dispatches iterate an array instead of walking a tree.
    /// Shared by every clone until the global handlers change: registering a session's handler
    /// keeps it, and changing a global handler costs its rebuild once, on the next dispatch.
    global_flat: Flat,
    sessions: HashTrieMapSync<Arc<str>, Lane>,
    len: usize,
}

impl Default for HookTable {
    fn default() -> Self {
        Self {
            global: RedBlackTreeMapSync::new_sync(),
            global_flat: Flat::default(),
            sessions: HashTrieMapSync::new_sync(),
            len: 0,
        }
    }
}

/// The handlers one dispatch runs, in execution order.
pub(crate) enum Active<'t> {
    /// No handler of the dispatch's session: the global slice itself.
    Global(&'t [Arc<Adapter>]),
    /// The global handlers merged with the session's.
    Merged(Vec<&'t Arc<Adapter>>),
}

impl<'t> Active<'t> {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'t Arc<Adapter>> + '_ {
        let (global, merged) = match self {
            Active::Global(slice) => (slice.iter(), [].iter()),
            Active::Merged(merged) => ([].iter(), merged.iter()),
        };
        global.chain(merged.copied())
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
            Scope::Global => {
                self.global.insert_mut(key, adapter);
                self.global_flat = Flat::default();
            }
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
            Scope::Global => {
                self.global_flat = Flat::default();
                self.global.remove_mut(&key)
            }
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

    /// The global handlers in execution order (O(g) once after they changed, then free).
    fn global(&self) -> &[Arc<Adapter>] {
        self.global_flat
            .get_or_init(|| self.global.values().cloned().collect())
    }

    /// The handlers a dispatch of `session` runs, in execution order: the global ones merged
    /// with that session's own. Other sessions' handlers are not looked at: the cost is one
    /// hash lookup plus the handlers returned.
    pub(crate) fn active(&self, session: Option<&str>) -> Active<'_> {
        let global = self.global();
        let own = match session {
            Some(id) if !self.sessions.is_empty() => self.sessions.get(id),
            _ => None,
        };
        let Some(own) = own else {
            return Active::Global(global);
        };
        let mut out = Vec::with_capacity(global.len() + own.size());
        let mut global = global.iter().peekable();
        let mut local = own.values().peekable();
        loop {
            let next = match (global.peek(), local.peek()) {
                (Some(g), Some(l)) => {
                    if g.order_key() <= l.order_key() {
                        global.next()
                    } else {
                        local.next()
                    }
                }
                (Some(_), None) => global.next(),
                (None, Some(_)) => local.next(),
                (None, None) => break,
            };
            out.extend(next);
        }
        Active::Merged(out)
    }
}
