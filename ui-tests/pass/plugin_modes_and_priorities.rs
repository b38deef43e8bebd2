// Every mode and priority option: phases run in mode order whatever the priorities, a
// handler's priority overrides its plugin's, and the plugin's overrides the default of 50.
use std::sync::{Arc, Mutex};

use mellea::hooks::{SessionPreInit, SessionPreInitPatch, SessionPreInitPayload};
use mellea::{HookAction, HookContext, HookResult, PluginRegistry};

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<&'static str>>>);

impl Log {
    fn push(&self, entry: &'static str) {
        self.0.lock().unwrap().push(entry);
    }
}

struct Phases {
    log: Log,
}

#[mellea::plugin(name = "phases", priority = 5)]
impl Phases {
    #[hook("session_pre_init", mode = fire_and_forget, priority = 1)]
    async fn last(
        &self,
        _payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<SessionPreInitPatch> {
        self.log.push("fire_and_forget");
        Ok(HookAction::Continue)
    }
}

struct Early {
    log: Log,
}

// Plugin priority 5, no handler priority: runs before the default-priority handlers below.
#[mellea::plugin(name = "early", priority = 5)]
impl Early {
    #[hook("session_pre_init", mode = sequential)]
    async fn first(
        &self,
        _payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<SessionPreInitPatch> {
        self.log.push("sequential@5");
        Ok(HookAction::Continue)
    }
}

struct Late {
    log: Log,
}

// Plugin priority 5, handler priority 80: the handler's wins, so it runs after priority 50.
#[mellea::plugin(name = "late", priority = 5)]
impl Late {
    #[hook("session_pre_init", priority = 80)]
    async fn after(
        &self,
        _payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<SessionPreInitPatch> {
        self.log.push("sequential@80");
        Ok(HookAction::Continue)
    }
}

struct Middle {
    log: Log,
}

#[mellea::plugin(name = "middle")]
impl Middle {
    #[hook("session_pre_init")]
    async fn default_priority(
        &self,
        _payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<SessionPreInitPatch> {
        self.log.push("sequential@50");
        Ok(HookAction::Continue)
    }
}

struct Others {
    log: Log,
}

#[mellea::plugin(name = "others", priority = -10)]
impl Others {
    #[hook("session_pre_init", mode = transform, priority = 99)]
    async fn transform(
        &self,
        _payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<SessionPreInitPatch> {
        self.log.push("transform");
        Ok(HookAction::Modify(
            SessionPreInitPatch::new().with_model_id("patched".into()),
        ))
    }
}

struct Watchers {
    log: Log,
}

#[mellea::plugin(name = "watchers")]
impl Watchers {
    #[hook("session_pre_init", mode = audit, priority = -100)]
    async fn audit(
        &self,
        payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<SessionPreInitPatch> {
        assert_eq!(payload.model_id, "patched");
        self.log.push("audit");
        Ok(HookAction::Continue)
    }
}

struct Concurrent {
    log: Log,
}

#[mellea::plugin(name = "concurrent")]
impl Concurrent {
    #[hook("session_pre_init", mode = concurrent, priority = 0)]
    async fn concurrent(
        &self,
        _payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<SessionPreInitPatch> {
        self.log.push("concurrent");
        Ok(HookAction::Continue)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let log = Log::default();
    let registry = PluginRegistry::new();
    // Registered in an order unrelated to the expected execution order.
    let _a = registry.register(Phases { log: log.clone() }).unwrap();
    let _b = registry.register(Watchers { log: log.clone() }).unwrap();
    let _c = registry.register(Late { log: log.clone() }).unwrap();
    let _d = registry.register(Concurrent { log: log.clone() }).unwrap();
    let _e = registry.register(Others { log: log.clone() }).unwrap();
    let _f = registry.register(Middle { log: log.clone() }).unwrap();
    let _g = registry.register(Early { log: log.clone() }).unwrap();

    let mut dispatched = registry
        .dispatch::<SessionPreInit>(SessionPreInitPayload::default(), HookContext::new())
        .await
        .unwrap();
    dispatched.wait_for_background_tasks().await;

    assert_eq!(dispatched.payload.model_id, "patched");
    assert_eq!(
        *log.0.lock().unwrap(),
        [
            "sequential@5",
            "sequential@50",
            "sequential@80",
            "transform",
            "audit",
            "concurrent",
            "fire_and_forget",
        ]
    );
}
