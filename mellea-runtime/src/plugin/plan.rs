//! What one registration asks for: the handlers each leaf of an item contributes, before they
//! get ids.

use super::adapter::Owner;
use super::handler::ErasedHandler;
use super::{DEFAULT_PRIORITY, OnError, PluginHooks, PluginMode, Registrable};
use crate::error::RegistrationError;

/// Leaves of an item with the priority override that applies to each.
pub(super) fn leaves(item: Registrable) -> Vec<(Registrable, Option<i32>)> {
    match item {
        Registrable::Set(set) => set.flatten(),
        leaf => vec![(leaf, None)],
    }
}

/// One handler a leaf contributes, before it gets an id.
pub(super) struct PlannedHandler {
    pub(super) name: String,
    pub(super) owner: Owner,
    /// Priority the enclosing sets impose (the outermost set's wins).
    pub(super) priority_override: Option<i32>,
    /// Priority the handler itself declares.
    pub(super) own_priority: Option<i32>,
    /// Priority of the plugin (or the library default for standalone handlers).
    pub(super) default_priority: i32,
    pub(super) mode: PluginMode,
    /// The effective failure policy (the handler's own, else its plugin's).
    pub(super) on_error: OnError,
    pub(super) handler: ErasedHandler,
}

/// The handlers one leaf contributes.
pub(super) fn expand_leaf(leaf: &Registrable) -> Result<Vec<PlannedHandler>, RegistrationError> {
    match leaf {
        Registrable::Plugin(plugin) => {
            let plugin_name = plugin.name().to_owned();
            if plugin_name.is_empty() {
                return Err(RegistrationError::EmptyName);
            }
            let mut hooks = PluginHooks::default();
            plugin.clone().hooks(&mut hooks);
            if hooks.specs().is_empty() {
                tracing::warn!(plugin = %plugin_name, "plugin has no hook handlers; nothing registered");
            }
            let default_priority = plugin.priority();
            let default_on_error = plugin.on_error();
            Ok(hooks
                .specs()
                .iter()
                .map(|spec| PlannedHandler {
                    name: format!("{plugin_name}.{}", spec.hook()),
                    owner: Owner::Plugin(plugin_name.clone()),
                    priority_override: None,
                    own_priority: spec.priority,
                    default_priority,
                    mode: spec.mode,
                    on_error: spec.on_error.unwrap_or(default_on_error),
                    handler: spec.handler.clone(),
                })
                .collect())
        }
        Registrable::Hook(hook) => {
            if hook.name().is_empty() {
                return Err(RegistrationError::EmptyName);
            }
            let spec = hook.spec();
            Ok(vec![PlannedHandler {
                name: hook.name().to_owned(),
                owner: Owner::Function(hook.name().to_owned()),
                priority_override: None,
                own_priority: spec.priority,
                default_priority: DEFAULT_PRIORITY,
                mode: spec.mode,
                on_error: spec.on_error.unwrap_or_default(),
                handler: spec.handler.clone(),
            }])
        }
        // `leaves` flattens sets before expansion, so no set reaches here.
        Registrable::Set(_) => Ok(Vec::new()),
    }
}
