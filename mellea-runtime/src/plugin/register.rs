//! Registering: every handler of a plugin, a handler function or a set is added at once or
//! not at all. Plugins are asked for their handlers before the lock is taken (that is user
//! code); names are checked, adapters built, and the touched hooks' tables published.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::Registrable;
use super::adapter::{Adapter, Scope};
use super::plan::{PlannedHandler, expand_leaf, leaves};
use super::registration::{OwnerStats, Registration};
use super::state::OwnerEntry;
use super::stats::Counters;
use crate::error::RegistrationError;
use crate::hooks::HOOK_COUNT;

impl super::PluginRegistry {
    pub(super) fn register_in(
        &self,
        item: Registrable,
        scope: Scope,
    ) -> Result<Registration, RegistrationError> {
        // Ask plugins for their handlers before taking the lock: `Plugin::hooks` is user code,
        // which may be slow, may panic, or may itself look at this registry.
        let mut planned: Vec<PlannedHandler> = Vec::new();
        let mut names: HashSet<&str> = HashSet::new();
        let leaves = leaves(item);
        for (leaf, priority_override) in &leaves {
            for mut handler in expand_leaf(leaf)? {
                handler.priority_override = *priority_override;
                if !handler.on_error.allowed_in(handler.mode) {
                    return Err(RegistrationError::FailCannotBlock {
                        name: handler.name,
                        mode: handler.mode,
                    });
                }
                planned.push(handler);
            }
        }
        for handler in &planned {
            if !names.insert(&handler.name) {
                return Err(RegistrationError::DuplicateName {
                    name: handler.name.clone(),
                });
            }
        }

        let shared = Arc::clone(self.shared());
        let mut state = self.lock();
        if let Some(taken) = planned.iter().find(|p| state.by_name.contains_key(&p.name)) {
            return Err(RegistrationError::DuplicateName {
                name: taken.name.clone(),
            });
        }
        // Every check passed: commit the whole registration at once.
        let mut touched = [false; HOOK_COUNT];
        let mut registration = Registration {
            ids: Vec::with_capacity(planned.len()),
            names: Vec::with_capacity(planned.len()),
            owners: Vec::new(),
        };
        let mut owners_seen: HashSet<*const Counters> = HashSet::new();
        for planned in planned {
            state.next_id += 1;
            let id = state.next_id;
            let entry = state
                .owners
                .entry(planned.owner.clone())
                .or_insert_with(|| OwnerEntry {
                    counters: Arc::default(),
                    handlers: 0,
                });
            entry.handlers += 1;
            let counters = Arc::clone(&entry.counters);
            if owners_seen.insert(Arc::as_ptr(&counters)) {
                registration.owners.push(OwnerStats {
                    owner: planned.owner.clone(),
                    counters: Arc::clone(&counters),
                });
            }
            let adapter = Arc::new(Adapter {
                id,
                priority: planned
                    .priority_override
                    .or(planned.own_priority)
                    .unwrap_or(planned.default_priority),
                name: planned.name,
                owner: planned.owner,
                mode: planned.mode,
                seq: id,
                scope: scope.clone(),
                on_error: planned.on_error,
                handler: planned.handler,
                counters,
                shared: Arc::clone(&shared),
                disabled: AtomicBool::new(false),
                warned_blocking: AtomicBool::new(false),
                warnings: Default::default(),
            });
            let index = adapter.handler.hook().index();
            touched[index] = true;
            registration.ids.push(id);
            registration.names.push(adapter.name.clone());
            state
                .by_name
                .insert(adapter.name.clone(), Arc::clone(&adapter));
            state.tables_mut()[index].insert(adapter);
        }
        self.publish(&state, &touched);
        Ok(registration)
    }
}
