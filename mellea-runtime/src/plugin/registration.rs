//! What a registration hands back (a handle, its counters, a scope guard) and what an
//! unregistration names.

use std::fmt;
use std::sync::Arc;

use super::adapter::Owner;
use super::stats::{Counters, PluginStats};
use super::{HookFn, Plugin, PluginRegistry, PluginSet, Registrable};

/// One owner's counters, as a [`Registration`] keeps them.
#[derive(Clone)]
pub(super) struct OwnerStats {
    pub(super) owner: Owner,
    pub(super) counters: Arc<Counters>,
}

impl PartialEq for OwnerStats {
    fn eq(&self, other: &Self) -> bool {
        self.owner == other.owner && Arc::ptr_eq(&self.counters, &other.counters)
    }
}

impl Eq for OwnerStats {}

impl fmt::Debug for OwnerStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.owner.name())
    }
}

/// A handle to what one `register` call registered; pass it to
/// [`PluginRegistry::unregister`] to remove exactly that.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "keep the registration to unregister it later, or use `scoped` for a guard"]
pub struct Registration {
    pub(super) ids: Vec<u64>,
    pub(super) names: Vec<String>,
    pub(super) owners: Vec<OwnerStats>,
}

impl Registration {
    /// Registry names of the registered handlers (`"{plugin}.{hook}"` or the handler's name).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Failure counters of the plugins and standalone handlers this call registered, summed.
    ///
    /// They stay readable after the handlers are unregistered or disabled.
    pub fn stats(&self) -> PluginStats {
        let mut total = PluginStats::default();
        for owner in &self.owners {
            total += owner.counters.snapshot();
        }
        total
    }
}

/// What to unregister: a [`Registration`], a plugin (by its name), a handler (by its name) or
/// a set (each of its leaves). Unknown targets are ignored.
#[derive(Clone, Debug, Default)]
pub struct UnregisterTarget {
    /// `(id, registry name)` of handlers a [`Registration`] registered.
    pub(super) handles: Vec<(u64, String)>,
    pub(super) plugins: Vec<String>,
    pub(super) functions: Vec<String>,
}

impl UnregisterTarget {
    /// Every handler of the plugin named `name`.
    pub fn plugin(name: impl Into<String>) -> Self {
        Self {
            plugins: vec![name.into()],
            ..Self::default()
        }
    }

    /// The standalone handler named `name`.
    pub fn function(name: impl Into<String>) -> Self {
        Self {
            functions: vec![name.into()],
            ..Self::default()
        }
    }

    fn add(&mut self, item: &Registrable) {
        match item {
            Registrable::Plugin(p) => self.plugins.push(p.name().to_owned()),
            Registrable::Hook(h) => self.functions.push(h.name().to_owned()),
            Registrable::Set(set) => {
                for (leaf, _) in set.flatten() {
                    self.add(&leaf);
                }
            }
        }
    }
}

/// Several targets at once: `[(&a).into(), (&b).into()].into_iter().collect()`.
impl<T: Into<UnregisterTarget>> FromIterator<T> for UnregisterTarget {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut all = Self::default();
        for target in iter {
            let target = target.into();
            all.handles.extend(target.handles);
            all.plugins.extend(target.plugins);
            all.functions.extend(target.functions);
        }
        all
    }
}

impl From<&Registration> for UnregisterTarget {
    fn from(registration: &Registration) -> Self {
        Self {
            handles: registration
                .ids
                .iter()
                .copied()
                .zip(registration.names.iter().cloned())
                .collect(),
            ..Self::default()
        }
    }
}

impl From<&Registrable> for UnregisterTarget {
    fn from(item: &Registrable) -> Self {
        let mut target = Self::default();
        target.add(item);
        target
    }
}

impl<P: Plugin> From<&P> for UnregisterTarget {
    fn from(plugin: &P) -> Self {
        Self::plugin(plugin.name())
    }
}

impl<P: Plugin> From<&Arc<P>> for UnregisterTarget {
    fn from(plugin: &Arc<P>) -> Self {
        Self::plugin(plugin.name())
    }
}

impl From<&HookFn> for UnregisterTarget {
    fn from(hook: &HookFn) -> Self {
        Self::function(hook.name())
    }
}

impl From<&PluginSet> for UnregisterTarget {
    fn from(set: &PluginSet) -> Self {
        let mut target = Self::default();
        for (leaf, _) in set.flatten() {
            target.add(&leaf);
        }
        target
    }
}

/// Keeps items registered while it lives; dropping it (also while unwinding from a panic)
/// unregisters them.
#[must_use = "the items are unregistered as soon as the scope is dropped"]
pub struct PluginScope<'r> {
    pub(super) registry: &'r PluginRegistry,
    pub(super) registration: Registration,
}

impl PluginScope<'_> {
    /// What the scope registered.
    pub fn registration(&self) -> &Registration {
        &self.registration
    }
}

impl Drop for PluginScope<'_> {
    fn drop(&mut self) {
        self.registry.unregister(&self.registration);
    }
}

impl fmt::Debug for PluginScope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginScope")
            .field("names", &self.registration.names)
            .finish()
    }
}
