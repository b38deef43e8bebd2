//! The five modes and priority ordering, with every plugin and handler written through
//! `#[mellea::plugin]` / `#[mellea::hook]`: the reference's cases 10–24 (`mellea-plugins.md`
//! §9), ported. Each test dispatches through its own `PluginRegistry`, so tests run in
//! parallel.

use std::sync::{Arc, Mutex};

use mellea::hooks::{SessionPreInit, SessionPreInitPatch, SessionPreInitPayload};
use mellea::plugin::{Dispatched, PluginSet};
use mellea::{HookAction, HookContext, HookResult, PluginRegistry, PluginViolation, Violation};

/// The order handlers ran in.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<&'static str>>>);

impl Log {
    fn push(&self, entry: &'static str) {
        self.0.lock().unwrap().push(entry);
    }

    fn entries(&self) -> Vec<&'static str> {
        self.0.lock().unwrap().clone()
    }
}

/// `SessionPreInitPayload(backend_name, model_id)`, the payload the reference tests dispatch.
fn pre_init(backend_name: &str, model_id: &str) -> SessionPreInitPayload {
    let mut payload = SessionPreInitPayload::default();
    payload.backend_name = backend_name.to_owned();
    payload.model_id = model_id.to_owned();
    payload
}

async fn dispatch(
    registry: &PluginRegistry,
    payload: SessionPreInitPayload,
) -> Result<Dispatched<SessionPreInitPayload>, PluginViolation> {
    let mut dispatched = registry
        .dispatch::<SessionPreInit>(payload, HookContext::new())
        .await?;
    dispatched.wait_for_background_tasks().await;
    Ok(dispatched)
}

/// Dispatches a neutral payload, failing the test if a handler blocks.
async fn dispatch_unblocked(registry: &PluginRegistry) {
    let _dispatched = dispatch(registry, pre_init("a", "b"))
        .await
        .expect("no handler blocks");
}

fn continue_() -> HookResult<SessionPreInitPatch> {
    Ok(HookAction::Continue)
}

fn block(reason: &str) -> HookResult<SessionPreInitPatch> {
    Ok(HookAction::Block(Violation::new(reason)))
}

fn set_model(model_id: &str) -> HookResult<SessionPreInitPatch> {
    Ok(HookAction::Modify(
        SessionPreInitPatch::new().with_model_id(model_id.to_owned()),
    ))
}

/// Declares `struct $ty(Log)`, a plugin named `$name` whose `session_pre_init` handler (with the
/// given mode and priority) logs `$name` and returns `$respond(payload)`.
macro_rules! recorder {
    ($ty:ident = $name:literal $(, mode = $mode:ident)? $(, priority = $priority:literal)? => $respond:expr) => {
        struct $ty(Log);

        #[mellea::plugin(name = $name)]
        impl $ty {
            #[hook("session_pre_init" $(, mode = $mode)? $(, priority = $priority)?)]
            async fn handle(
                &self,
                payload: &SessionPreInitPayload,
                _ctx: &HookContext,
            ) -> HookResult<SessionPreInitPatch> {
                self.0.push($name);
                let respond: fn(&SessionPreInitPayload) -> HookResult<SessionPreInitPatch> = $respond;
                respond(payload)
            }
        }
    };
}

// Cases 10 and 11.
#[tokio::test]
async fn sequential_block_stops_dispatch_before_audit_handlers_run() {
    struct Guard;

    #[mellea::plugin(name = "guard")]
    impl Guard {
        #[hook("session_pre_init", mode = sequential)]
        async fn enforce(
            &self,
            _payload: &SessionPreInitPayload,
            _ctx: &HookContext,
        ) -> HookResult<SessionPreInitPatch> {
            Ok(HookAction::Block(
                Violation::new("forbidden content detected").with_code("POLICY"),
            ))
        }
    }

    recorder!(Auditor = "auditor", mode = audit => |_| continue_());

    let log = Log::default();
    let registry = PluginRegistry::new();
    let _guard = registry.register(Guard).unwrap();
    let _auditor = registry.register(Auditor(log.clone())).unwrap();

    let violation = dispatch(&registry, pre_init("openai", "gpt"))
        .await
        .unwrap_err();
    assert_eq!(violation.hook, mellea::hooks::HookType::SessionPreInit);
    assert_eq!(violation.reason, "forbidden content detected");
    assert_eq!(violation.code, "POLICY");
    assert_eq!(violation.plugin_name, "guard.session_pre_init");
    let message = violation.to_string();
    assert!(message.contains("session_pre_init") && message.contains("forbidden content detected"));
    assert!(
        log.entries().is_empty(),
        "the AUDIT handler ran after a block"
    );
}

// Case 11, standalone handlers.
#[tokio::test]
async fn a_standalone_blocker_is_named_by_its_module_path() {
    #[mellea::hook("session_pre_init")]
    async fn blocker(
        _payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<SessionPreInitPatch> {
        block("nope")
    }

    let registry = PluginRegistry::new();
    let _blocker = registry.register(blocker_hook()).unwrap();
    let violation = dispatch(&registry, pre_init("a", "b")).await.unwrap_err();
    assert_eq!(
        violation.plugin_name,
        format!("{}::blocker", module_path!())
    );
}

// Case 12.
#[tokio::test]
async fn a_handler_without_a_mode_is_sequential_and_can_block() {
    recorder!(Blocker = "blocker" => |_| block("default mode blocks"));

    let registry = PluginRegistry::new();
    let _blocker = registry.register(Blocker(Log::default())).unwrap();
    let violation = dispatch(&registry, pre_init("a", "b")).await.unwrap_err();
    assert_eq!(violation.reason, "default mode blocks");
}

// Case 12.
#[tokio::test]
async fn a_handler_that_continues_leaves_the_payload_unchanged() {
    recorder!(Passive = "passive" => |_| continue_());

    let log = Log::default();
    let registry = PluginRegistry::new();
    let _passive = registry.register(Passive(log.clone())).unwrap();
    let dispatched = dispatch(&registry, pre_init("openai", "gpt"))
        .await
        .unwrap();
    assert_eq!(dispatched.payload.backend_name, "openai");
    assert_eq!(dispatched.payload.model_id, "gpt");
    assert_eq!(log.entries(), ["passive"]);
}

// Case 13.
#[tokio::test]
async fn audit_blocks_are_ignored_and_every_auditor_runs_in_priority_order() {
    recorder!(Late = "audit_10", mode = audit, priority = 10 => |_| block("late"));
    recorder!(Early = "audit_5", mode = audit, priority = 5 => |_| block("early"));

    let log = Log::default();
    let registry = PluginRegistry::new();
    let _late = registry.register(Late(log.clone())).unwrap();
    let _early = registry.register(Early(log.clone())).unwrap();

    let dispatched = dispatch(&registry, pre_init("a", "b")).await;
    assert!(dispatched.is_ok(), "an AUDIT block stopped the dispatch");
    assert_eq!(log.entries(), ["audit_5", "audit_10"]);
    assert_eq!(registry.stats().suppressed_blocks, 2);
}

// Case 14.
#[tokio::test]
async fn the_sequential_phase_runs_before_the_audit_phase_at_equal_priority() {
    recorder!(Permissive = "permissive", mode = audit => |_| continue_());
    recorder!(Enforce = "enforce", mode = sequential => |_| continue_());

    let log = Log::default();
    let registry = PluginRegistry::new();
    let _permissive = registry.register(Permissive(log.clone())).unwrap();
    let _enforce = registry.register(Enforce(log.clone())).unwrap();

    dispatch_unblocked(&registry).await;
    assert_eq!(log.entries(), ["enforce", "permissive"]);
}

// Case 15.
#[tokio::test]
async fn audit_concurrent_and_fire_and_forget_patches_are_discarded() {
    recorder!(Audit = "audit", mode = audit => |_| set_model("from-audit"));
    recorder!(Concurrent = "concurrent", mode = concurrent => |_| set_model("from-concurrent"));
    recorder!(Background = "background", mode = fire_and_forget => |_| set_model("from-background"));

    let log = Log::default();
    let registry = PluginRegistry::new();
    let _audit = registry.register(Audit(log.clone())).unwrap();
    let _concurrent = registry.register(Concurrent(log.clone())).unwrap();
    let _background = registry.register(Background(log.clone())).unwrap();

    let dispatched = dispatch(&registry, pre_init("openai", "original"))
        .await
        .unwrap();
    assert_eq!(dispatched.payload.model_id, "original");
    assert_eq!(dispatched.payload.backend_name, "openai");
    assert_eq!(log.entries(), ["audit", "concurrent", "background"]);
    assert_eq!(registry.stats().discarded_patches, 3);
}

// Case 16.
#[tokio::test]
async fn fire_and_forget_handlers_run_in_the_background_and_cannot_block() {
    recorder!(Recorder = "recorder", mode = fire_and_forget => |_| continue_());
    recorder!(Blocker = "blocker", mode = fire_and_forget => |_| block("too late"));

    let log = Log::default();
    let registry = PluginRegistry::new();
    let _recorder = registry.register(Recorder(log.clone())).unwrap();
    let _blocker = registry.register(Blocker(log.clone())).unwrap();

    let mut dispatched = registry
        .dispatch::<SessionPreInit>(pre_init("a", "b"), HookContext::new())
        .await
        .expect("a FIRE_AND_FORGET block does not stop the dispatch");
    assert_eq!(dispatched.background_task_count(), 2);
    dispatched.wait_for_background_tasks().await;
    let mut ran = log.entries();
    ran.sort_unstable();
    assert_eq!(ran, ["blocker", "recorder"]);
    assert_eq!(registry.stats().suppressed_blocks, 1);
}

// Case 17.
#[tokio::test]
async fn fire_and_forget_runs_after_sequential_whatever_the_priority() {
    recorder!(Background = "faf", mode = fire_and_forget, priority = 5 => |_| continue_());
    recorder!(Enforce = "enforce", mode = sequential, priority = 10 => |_| continue_());

    let log = Log::default();
    let registry = PluginRegistry::new();
    let _background = registry.register(Background(log.clone())).unwrap();
    let _enforce = registry.register(Enforce(log.clone())).unwrap();

    dispatch_unblocked(&registry).await;
    assert_eq!(log.entries(), ["enforce", "faf"]);
}

// Case 18.
#[tokio::test]
async fn transform_patches_apply_and_transform_blocks_are_suppressed() {
    recorder!(Rename = "rename", mode = transform, priority = 1 => |_| set_model("renamed"));
    recorder!(Objector = "objector", mode = transform, priority = 2 => |_| block("ignored"));

    let log = Log::default();
    let registry = PluginRegistry::new();
    let _rename = registry.register(Rename(log.clone())).unwrap();
    let _objector = registry.register(Objector(log.clone())).unwrap();

    let dispatched = dispatch(&registry, pre_init("a", "original"))
        .await
        .unwrap();
    assert_eq!(dispatched.payload.model_id, "renamed");
    assert_eq!(log.entries(), ["rename", "objector"]);
    assert_eq!(registry.stats().suppressed_blocks, 1);
}

// Case 19.
#[tokio::test]
async fn transforms_chain_in_priority_order() {
    struct StepB(Log);

    #[mellea::plugin(name = "step_b")]
    impl StepB {
        #[hook("session_pre_init", mode = transform, priority = 2)]
        async fn record_seen(
            &self,
            payload: &SessionPreInitPayload,
            _ctx: &HookContext,
        ) -> HookResult<SessionPreInitPatch> {
            self.0.push("b");
            let mut options = mellea::hooks::ModelOptions::new();
            options.insert("seen".into(), payload.model_id.clone().into());
            Ok(HookAction::Modify(
                SessionPreInitPatch::new().with_model_options(Some(options)),
            ))
        }
    }

    recorder!(StepA = "a", mode = transform, priority = 1 => |_| set_model("step-a"));

    let log = Log::default();
    let registry = PluginRegistry::new();
    // B first: registration order must not matter, priority does.
    let _b = registry.register(StepB(log.clone())).unwrap();
    let _a = registry.register(StepA(log.clone())).unwrap();

    let dispatched = dispatch(&registry, pre_init("x", "original"))
        .await
        .unwrap();
    assert_eq!(log.entries(), ["a", "b"]);
    assert_eq!(dispatched.payload.model_id, "step-a");
    let options = dispatched
        .payload
        .model_options
        .expect("step b set the options");
    assert_eq!(options["seen"], "step-a");
}

// Case 20.
#[tokio::test]
async fn the_mode_phase_order_dominates_priority() {
    recorder!(Concurrent1 = "concurrent@1", mode = concurrent, priority = 1 => |_| continue_());
    recorder!(Audit99 = "audit@99", mode = audit, priority = 99 => |_| continue_());
    recorder!(Audit1 = "audit@1", mode = audit, priority = 1 => |_| continue_());
    recorder!(Transform99 = "transform@99", mode = transform, priority = 99 => |_| continue_());
    recorder!(Transform1 = "transform@1", mode = transform, priority = 1 => |_| continue_());
    recorder!(Sequential99 = "sequential@99", mode = sequential, priority = 99 => |_| continue_());

    let log = Log::default();
    let registry = PluginRegistry::new();
    let _registrations = [
        registry.register(Concurrent1(log.clone())).unwrap(),
        registry.register(Audit99(log.clone())).unwrap(),
        registry.register(Audit1(log.clone())).unwrap(),
        registry.register(Transform99(log.clone())).unwrap(),
        registry.register(Transform1(log.clone())).unwrap(),
        registry.register(Sequential99(log.clone())).unwrap(),
    ];

    dispatch_unblocked(&registry).await;
    assert_eq!(
        log.entries(),
        [
            "sequential@99",
            "transform@1",
            "transform@99",
            "audit@1",
            "audit@99",
            "concurrent@1",
        ]
    );
}

// Case 21.
#[tokio::test]
async fn a_concurrent_block_is_a_violation() {
    recorder!(Quiet = "quiet", mode = concurrent => |_| continue_());
    recorder!(Objector = "objector", mode = concurrent => |_| block("concurrent says no"));

    let registry = PluginRegistry::new();
    let _quiet = registry.register(Quiet(Log::default())).unwrap();
    let _objector = registry.register(Objector(Log::default())).unwrap();

    let violation = dispatch(&registry, pre_init("a", "b")).await.unwrap_err();
    assert_eq!(violation.reason, "concurrent says no");
    assert_eq!(violation.plugin_name, "objector.session_pre_init");
}

// Case 22.
#[tokio::test]
async fn lower_priority_runs_first_whatever_the_registration_order() {
    recorder!(P30 = "30", priority = 30 => |_| continue_());
    recorder!(P10 = "10", priority = 10 => |_| continue_());
    recorder!(P50 = "50", priority = 50 => |_| continue_());

    let log = Log::default();
    let registry = PluginRegistry::new();
    let _registrations = [
        registry.register(P30(log.clone())).unwrap(),
        registry.register(P10(log.clone())).unwrap(),
        registry.register(P50(log.clone())).unwrap(),
    ];
    dispatch_unblocked(&registry).await;
    assert_eq!(log.entries(), ["10", "30", "50"]);
}

// Case 22.
#[tokio::test]
async fn five_priorities_run_fully_sorted() {
    recorder!(P40 = "40", priority = 40 => |_| continue_());
    recorder!(Pm5 = "-5", priority = -5 => |_| continue_());
    recorder!(P99 = "99", priority = 99 => |_| continue_());
    recorder!(P0 = "0", priority = 0 => |_| continue_());
    recorder!(P7 = "7", priority = 7 => |_| continue_());

    let log = Log::default();
    let registry = PluginRegistry::new();
    let _registrations = [
        registry.register(P40(log.clone())).unwrap(),
        registry.register(Pm5(log.clone())).unwrap(),
        registry.register(P99(log.clone())).unwrap(),
        registry.register(P0(log.clone())).unwrap(),
        registry.register(P7(log.clone())).unwrap(),
    ];
    dispatch_unblocked(&registry).await;
    assert_eq!(log.entries(), ["-5", "0", "7", "40", "99"]);
}

// Case 22.
#[tokio::test]
async fn equal_priorities_both_run_in_registration_order() {
    recorder!(First = "first", priority = 20 => |_| continue_());
    recorder!(Second = "second", priority = 20 => |_| continue_());

    let log = Log::default();
    let registry = PluginRegistry::new();
    let _second = registry.register(Second(log.clone())).unwrap();
    let _first = registry.register(First(log.clone())).unwrap();
    dispatch_unblocked(&registry).await;
    assert_eq!(log.entries(), ["second", "first"]);
}

// Case 23.
#[tokio::test]
async fn a_plugin_priority_is_the_default_of_its_handlers_and_a_handler_priority_overrides_it() {
    static ORDER: Mutex<Vec<&str>> = Mutex::new(Vec::new());

    #[mellea::hook("session_pre_init")]
    async fn standalone(
        _payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<SessionPreInitPatch> {
        ORDER.lock().unwrap().push("standalone@50");
        Ok(HookAction::Continue)
    }

    struct Early;

    #[mellea::plugin(name = "early", priority = 5)]
    impl Early {
        #[hook("session_pre_init")]
        async fn inherits(
            &self,
            _payload: &SessionPreInitPayload,
            _ctx: &HookContext,
        ) -> HookResult<SessionPreInitPatch> {
            ORDER.lock().unwrap().push("plugin@5");
            Ok(HookAction::Continue)
        }
    }

    struct Late;

    #[mellea::plugin(name = "late", priority = 5)]
    impl Late {
        #[hook("session_pre_init", priority = 80)]
        async fn overrides(
            &self,
            _payload: &SessionPreInitPayload,
            _ctx: &HookContext,
        ) -> HookResult<SessionPreInitPatch> {
            ORDER.lock().unwrap().push("handler@80");
            Ok(HookAction::Continue)
        }
    }

    let registry = PluginRegistry::new();
    let _late = registry.register(Late).unwrap();
    let _standalone = registry.register(standalone_hook()).unwrap();
    let _early = registry.register(Early).unwrap();

    dispatch_unblocked(&registry).await;
    assert_eq!(
        *ORDER.lock().unwrap(),
        ["plugin@5", "standalone@50", "handler@80"]
    );
}

// Case 24.
#[tokio::test]
async fn a_plugin_set_priority_overrides_the_priorities_of_its_items() {
    static ORDER: Mutex<Vec<&str>> = Mutex::new(Vec::new());

    #[mellea::hook("session_pre_init", priority = 20)]
    async fn standalone(
        _payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<SessionPreInitPatch> {
        ORDER.lock().unwrap().push("standalone@20");
        Ok(HookAction::Continue)
    }

    struct Deferred;

    #[mellea::plugin(name = "deferred", priority = 80)]
    impl Deferred {
        #[hook("session_pre_init")]
        async fn handle(
            &self,
            _payload: &SessionPreInitPayload,
            _ctx: &HookContext,
        ) -> HookResult<SessionPreInitPatch> {
            ORDER.lock().unwrap().push("item@80 in set@5");
            Ok(HookAction::Continue)
        }
    }

    let registry = PluginRegistry::new();
    let _standalone = registry.register(standalone_hook()).unwrap();
    let set = PluginSet::new("urgent", [Deferred.into()]).with_priority(5);
    let _set = registry.register(set).unwrap();

    dispatch_unblocked(&registry).await;
    assert_eq!(
        *ORDER.lock().unwrap(),
        ["item@80 in set@5", "standalone@20"]
    );
}

// Case 24.
#[tokio::test]
async fn a_plugin_set_without_priority_keeps_the_priorities_of_its_items() {
    static ORDER: Mutex<Vec<&str>> = Mutex::new(Vec::new());

    #[mellea::hook("session_pre_init", priority = 60)]
    async fn standalone(
        _payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<SessionPreInitPatch> {
        ORDER.lock().unwrap().push("standalone@60");
        Ok(HookAction::Continue)
    }

    #[mellea::hook("session_pre_init", priority = 15)]
    async fn item(
        _payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<SessionPreInitPatch> {
        ORDER.lock().unwrap().push("item@15");
        Ok(HookAction::Continue)
    }

    let registry = PluginRegistry::new();
    let _standalone = registry.register(standalone_hook()).unwrap();
    let _set = registry
        .register(PluginSet::new("plain", [item_hook().into()]))
        .unwrap();

    dispatch_unblocked(&registry).await;
    assert_eq!(*ORDER.lock().unwrap(), ["item@15", "standalone@60"]);
}

// Case 24.
#[tokio::test]
async fn items_run_in_the_order_of_their_sets_priorities() {
    recorder!(Alpha = "alpha", priority = 90 => |_| continue_());
    recorder!(Beta = "beta", priority = 1 => |_| continue_());

    let log = Log::default();
    let registry = PluginRegistry::new();
    let beta = PluginSet::new("late", [Beta(log.clone()).into()]).with_priority(80);
    let alpha = PluginSet::new("early", [Alpha(log.clone()).into()]).with_priority(3);
    let _beta = registry.register(beta).unwrap();
    let _alpha = registry.register(alpha).unwrap();

    dispatch_unblocked(&registry).await;
    assert_eq!(log.entries(), ["alpha", "beta"]);
}
