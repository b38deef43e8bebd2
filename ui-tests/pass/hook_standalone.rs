// `#[hook]` on free functions: the function stays callable, and `<name>_hook()` registers it
// globally, for one session, as a scope, or inside a `PluginSet`, under its module path.
use std::sync::atomic::{AtomicU64, Ordering};

use mellea::hooks::{SessionPreInit, SessionPreInitPatch, SessionPreInitPayload};
use mellea::plugin::PluginSet;
use mellea::{HookAction, HookContext, HookResult, PluginRegistry};

static CALLS: AtomicU64 = AtomicU64::new(0);

/// Swaps the model of every new session.
#[mellea::hook("session_pre_init", mode = transform, priority = 10)]
pub async fn swap_model(
    _payload: &SessionPreInitPayload,
    _ctx: &HookContext,
) -> HookResult<SessionPreInitPatch> {
    CALLS.fetch_add(1, Ordering::Relaxed);
    Ok(HookAction::Modify(
        SessionPreInitPatch::new().with_model_id("granite4".into()),
    ))
}

mod audit {
    use super::*;

    #[mellea::hook("session_pre_init", mode = audit)]
    pub(crate) async fn watch(
        _payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<SessionPreInitPatch> {
        Ok(HookAction::Continue)
    }
}

async fn model_after(registry: &PluginRegistry, ctx: HookContext) -> String {
    registry
        .dispatch::<SessionPreInit>(SessionPreInitPayload::default(), ctx)
        .await
        .unwrap()
        .payload
        .model_id
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // The function itself is still an ordinary async fn.
    let direct = swap_model(&SessionPreInitPayload::default(), &HookContext::new())
        .await
        .unwrap();
    assert!(
        matches!(direct, HookAction::Modify(patch) if patch.model_id.as_deref() == Some("granite4"))
    );

    let hook = swap_model_hook();
    assert_eq!(hook.name(), format!("{}::swap_model", module_path!()));
    assert_eq!(hook.spec().mode(), mellea::PluginMode::Transform);
    assert_eq!(hook.spec().priority(), Some(10));
    assert_eq!(
        audit::watch_hook().name(),
        format!("{}::audit::watch", module_path!())
    );
    assert_eq!(audit::watch_hook().spec().priority(), None);

    let registry = PluginRegistry::new();

    // Globally.
    let registration = registry.register(swap_model_hook()).unwrap();
    assert_eq!(model_after(&registry, HookContext::new()).await, "granite4");
    registry.unregister(&registration);
    assert_eq!(model_after(&registry, HookContext::new()).await, "");

    // For one session only.
    let _session = registry
        .register_for_session("s1", swap_model_hook())
        .unwrap();
    assert_eq!(
        model_after(&registry, HookContext::new().with_session_id("s2")).await,
        ""
    );
    assert_eq!(
        model_after(&registry, HookContext::new().with_session_id("s1")).await,
        "granite4"
    );
    registry.unregister_session("s1");

    // As a scope.
    {
        let _scope = registry.scoped(swap_model_hook()).unwrap();
        assert_eq!(model_after(&registry, HookContext::new()).await, "granite4");
    }
    assert_eq!(model_after(&registry, HookContext::new()).await, "");

    // In a set, next to another handler.
    let set = PluginSet::new(
        "session",
        [swap_model_hook().into(), audit::watch_hook().into()],
    );
    let registration = registry.register(set).unwrap();
    assert_eq!(
        registration.names(),
        [
            format!("{}::swap_model", module_path!()),
            format!("{}::audit::watch", module_path!()),
        ]
    );

    assert_eq!(CALLS.load(Ordering::Relaxed), 4);
}
