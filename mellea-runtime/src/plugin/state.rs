//! What registration changes under the registry's lock: the handlers by name, the owners'
//! counters and the current table of each hook.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::adapter::{Adapter, Owner};
use super::stats::Counters;
use super::table::HookTable;
use crate::hooks::HOOK_COUNT;

/// The counters of one owner while it has handlers registered.
#[derive(Debug)]
pub(super) struct OwnerEntry {
    pub(super) counters: Arc<Counters>,
    pub(super) handlers: usize,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) next_id: u64,
    pub(super) by_name: BTreeMap<String, Arc<Adapter>>,
    pub(super) owners: BTreeMap<Owner, OwnerEntry>,
    /// The current table of each hook (empty until the first registration); what dispatch
    /// sees is a published clone.
    pub(super) tables: Vec<HookTable>,
}

impl State {
    pub(super) fn tables_mut(&mut self) -> &mut [HookTable] {
        if self.tables.is_empty() {
            self.tables = vec![HookTable::default(); HOOK_COUNT];
        }
        &mut self.tables
    }

    /// Removes one handler from every index: O(log n).
    pub(super) fn remove(&mut self, adapter: &Adapter, touched: &mut [bool; HOOK_COUNT]) {
        let index = adapter.handler.hook().index();
        if self.by_name.remove(&adapter.name).is_none() {
            return;
        }
        self.tables_mut()[index].remove(adapter);
        touched[index] = true;
        if let Some(entry) = self.owners.get_mut(&adapter.owner) {
            entry.handlers -= 1;
            if entry.handlers == 0 {
                self.owners.remove(&adapter.owner);
            }
        }
    }

    /// Removes the handler registered as `name` if it is the one with `id`.
    pub(super) fn remove_handle(&mut self, name: &str, id: u64, touched: &mut [bool; HOOK_COUNT]) {
        if let Some(adapter) = self.by_name.get(name).filter(|a| a.id == id).cloned() {
            self.remove(&adapter, touched);
        }
    }

    /// Removes the handler registered as `name` if `owner` owns it.
    pub(super) fn remove_owned(
        &mut self,
        name: &str,
        owner: &Owner,
        touched: &mut [bool; HOOK_COUNT],
    ) {
        if let Some(adapter) = self
            .by_name
            .get(name)
            .filter(|a| &a.owner == owner)
            .cloned()
        {
            self.remove(&adapter, touched);
        }
    }
}
