//! The registry: priorities, plugin sets, scopes, unregistration and duplicate names.
//!
//! Ports the `[prio]`, `[set]`, `[scope]`, `[unreg]`, `[dec]` and `[mgr]` cases of
//! `mellea-plugins.md` §9, the probe-verified duplicate-name cases, and the deliberate
//! differences of DESIGN.md §4 (session filtering, atomic duplicate rejection, guard scopes
//! that also end while unwinding). Every test uses its own `PluginRegistry`.

use crate::support::plugins as support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use mellea::RegistrationError;
use mellea::hooks::{HookType, SessionPreInit};
use mellea::plugin::{
    DEFAULT_PRIORITY, HookAction, HookContext, HookFn, Plugin, PluginHooks, PluginMode,
    PluginRegistry, PluginSet, Registrable, UnregisterTarget,
};
use support::{Log, LogPlugin, dispatch_post_init, dispatch_pre_init, logging, pre_init};

use PluginMode::Sequential;

/// Dispatches `session_pre_init` once and returns the log's entries.
async fn run(registry: &PluginRegistry, log: &Log) -> Vec<String> {
    let _dispatched = dispatch_pre_init(registry, pre_init("a", "b"))
        .await
        .unwrap();
    log.entries()
}

fn named(name: &str, log: &Log, priority: i32) -> HookFn {
    logging(name, log, Sequential).with_priority(priority)
}

// ---------------------------------------------------------------------------------------------
// Priorities ([prio], [dec])

#[tokio::test]
async fn lower_priority_runs_first_whatever_the_registration_order() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    for priority in [30, 10, 50] {
        let _r = registry
            .register(named(&format!("p{priority}"), &log, priority))
            .unwrap();
    }

    assert_eq!(run(&registry, &log).await, ["p10", "p30", "p50"]);
}

#[tokio::test]
async fn five_handlers_run_fully_sorted_by_priority() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    for priority in [40, 5, 99, 20, 1] {
        let _r = registry
            .register(named(&format!("p{priority}"), &log, priority))
            .unwrap();
    }

    assert_eq!(
        run(&registry, &log).await,
        ["p1", "p5", "p20", "p40", "p99"]
    );
}

#[tokio::test]
async fn equal_priorities_run_in_registration_order() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    for name in ["second-name-first", "a-name-second"] {
        let _r = registry.register(named(name, &log, 10)).unwrap();
    }

    assert_eq!(
        run(&registry, &log).await,
        ["second-name-first", "a-name-second"]
    );
}

#[tokio::test]
async fn re_registering_moves_a_handler_behind_its_equal_priority_peers() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let first = named("first", &log, 10);
    let _r = registry.register(first.clone()).unwrap();
    let _r = registry.register(named("second", &log, 10)).unwrap();
    registry.unregister(&first);
    let _r = registry.register(first).unwrap();

    assert_eq!(run(&registry, &log).await, ["second", "first"]);
}

#[tokio::test]
async fn handler_without_priority_runs_at_the_default_of_fifty() {
    assert_eq!(DEFAULT_PRIORITY, 50);
    let registry = PluginRegistry::new();
    let log = Log::default();
    let default = logging("default", &log, Sequential);
    assert_eq!(default.spec().priority(), None);
    let _r = registry.register(named("p51", &log, 51)).unwrap();
    let _r = registry.register(default).unwrap();
    let _r = registry.register(named("p49", &log, 49)).unwrap();

    assert_eq!(run(&registry, &log).await, ["p49", "default", "p51"]);
}

#[tokio::test]
async fn plugin_without_a_priority_defaults_to_fifty() {
    struct Plain(Log);
    impl Plugin for Plain {
        fn name(&self) -> &str {
            "plain"
        }
        fn hooks(self: Arc<Self>, hooks: &mut PluginHooks) {
            hooks.method::<SessionPreInit, _, _>(Sequential, None, self, |this, _, _| {
                this.0.push("plain");
                Box::pin(async { Ok(HookAction::Continue) })
            });
        }
    }
    let log = Log::default();
    assert_eq!(Plain(log.clone()).priority(), 50);
    let registry = PluginRegistry::new();
    let _r = registry.register(named("p51", &log, 51)).unwrap();
    let _r = registry.register(Plain(log.clone())).unwrap();
    let _r = registry.register(named("p49", &log, 49)).unwrap();

    assert_eq!(run(&registry, &log).await, ["p49", "plain", "p51"]);
}

#[tokio::test]
async fn plugin_priority_applies_to_handlers_that_set_none() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let _r = registry
        .register(logging("standalone-50", &log, Sequential))
        .unwrap();
    let _r = registry
        .register(LogPlugin::new("plugin-5", 5, &log))
        .unwrap();

    assert_eq!(run(&registry, &log).await, ["plugin-5", "standalone-50"]);
}

#[tokio::test]
async fn handler_priority_overrides_its_plugins_priority() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let mut plugin = LogPlugin::new("plugin-5-handler-80", 5, &log);
    plugin.pre_init = vec![(Sequential, Some(80))];
    let _r = registry.register(plugin).unwrap();
    let _r = registry
        .register(logging("standalone-50", &log, Sequential))
        .unwrap();

    assert_eq!(
        run(&registry, &log).await,
        ["standalone-50", "plugin-5-handler-80"]
    );
}

#[tokio::test]
async fn set_priority_overrides_the_priority_of_its_items() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let set = PluginSet::new("fast", [named("item-80", &log, 80).into()]).with_priority(5);
    let _r = registry.register(set).unwrap();
    let _r = registry.register(named("standalone-20", &log, 20)).unwrap();

    assert_eq!(run(&registry, &log).await, ["item-80", "standalone-20"]);
}

#[tokio::test]
async fn set_without_priority_keeps_the_priority_of_its_items() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let set = PluginSet::new("plain", [named("item-15", &log, 15).into()]);
    let _r = registry.register(set).unwrap();
    let _r = registry.register(named("standalone-60", &log, 60)).unwrap();

    assert_eq!(run(&registry, &log).await, ["item-15", "standalone-60"]);
}

#[tokio::test]
async fn sets_run_in_the_order_of_their_priorities() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let beta =
        PluginSet::new("beta-set", [logging("beta", &log, Sequential).into()]).with_priority(80);
    let alpha =
        PluginSet::new("alpha-set", [logging("alpha", &log, Sequential).into()]).with_priority(3);
    let _r = registry.register(beta).unwrap();
    let _r = registry.register(alpha).unwrap();

    assert_eq!(run(&registry, &log).await, ["alpha", "beta"]);
}

#[tokio::test]
async fn outermost_set_priority_wins_in_dispatch_order() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let inner = PluginSet::new("inner", [named("inner-item", &log, 1).into()]).with_priority(10);
    let outer = PluginSet::new("outer", [inner.into()]).with_priority(70);
    let _r = registry.register(outer).unwrap();
    let _r = registry.register(named("standalone-60", &log, 60)).unwrap();

    assert_eq!(run(&registry, &log).await, ["standalone-60", "inner-item"]);
}

// ---------------------------------------------------------------------------------------------
// PluginSet ([set], [mgr])

fn noop(name: &str) -> Registrable {
    logging(name, &Log::default(), Sequential).into()
}

fn leaf_priorities(set: &PluginSet) -> Vec<(String, Option<i32>)> {
    set.flatten()
        .into_iter()
        .map(|(leaf, priority)| match leaf {
            Registrable::Hook(hook) => (hook.name().to_owned(), priority),
            Registrable::Plugin(plugin) => (plugin.name().to_owned(), priority),
            Registrable::Set(set) => panic!("flatten returned a set: {set:?}"),
        })
        .collect()
}

fn pairs(expected: &[(&str, Option<i32>)]) -> Vec<(String, Option<i32>)> {
    expected
        .iter()
        .map(|(name, priority)| ((*name).to_owned(), *priority))
        .collect()
}

#[test]
fn flatten_gives_every_item_the_sets_priority() {
    let set = PluginSet::new("t", [noop("a"), noop("b"), noop("c")]).with_priority(5);

    assert_eq!(
        leaf_priorities(&set),
        pairs(&[("a", Some(5)), ("b", Some(5)), ("c", Some(5))])
    );
}

#[test]
fn flatten_of_nested_sets_gives_every_leaf_the_outer_priority() {
    let inner = PluginSet::new("inner", [noop("a"), noop("b")]).with_priority(10);
    let outer = PluginSet::new("outer", [inner.into(), noop("c")]).with_priority(20);

    assert_eq!(
        leaf_priorities(&outer),
        pairs(&[("a", Some(20)), ("b", Some(20)), ("c", Some(20))])
    );
}

#[test]
fn flatten_without_outer_priority_keeps_the_inner_sets_priority() {
    let inner = PluginSet::new("inner", [noop("a")]).with_priority(10);
    let outer = PluginSet::new("outer", [inner.into(), noop("direct")]);

    assert_eq!(
        leaf_priorities(&outer),
        pairs(&[("a", Some(10)), ("direct", None)])
    );
}

#[test]
fn flatten_three_levels_deep_the_outermost_priority_wins() {
    let innermost = PluginSet::new("l3", [noop("deep")]).with_priority(1);
    let middle = PluginSet::new("l2", [innermost.into()]).with_priority(2);
    let outer = PluginSet::new("l1", [middle.into()]).with_priority(3);

    assert_eq!(leaf_priorities(&outer), pairs(&[("deep", Some(3))]));
}

#[test]
fn set_debug_shows_its_name_and_item_count() {
    let set =
        PluginSet::new("security", [noop("a")]).with(logging("b", &Log::default(), Sequential));

    assert_eq!(format!("{set:?}"), "PluginSet('security', 2 items)");
    assert_eq!(set.name(), "security");
    assert_eq!(set.priority(), None);
}

#[tokio::test]
async fn registering_a_set_registers_every_item() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let set = PluginSet::new(
        "s",
        [
            logging("a", &log, Sequential).into(),
            LogPlugin::new("b", 50, &log).into(),
        ],
    );

    let registration = registry.register(set).unwrap();

    assert_eq!(registration.names(), ["a", "b.session_pre_init"]);
    assert_eq!(run(&registry, &log).await, ["a", "b"]);
}

// ---------------------------------------------------------------------------------------------
// Session scope ([scope] plus the deliberate session filtering)

#[tokio::test]
async fn session_scoped_handler_fires_only_for_dispatches_of_its_session() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let _r = registry
        .register_for_session("s1", logging("s1-only", &log, Sequential))
        .unwrap();

    let mut of_s1_in_payload = pre_init("a", "b");
    of_s1_in_payload.base.session_id = Some("s1".into());
    for (payload, ctx) in [
        (pre_init("a", "b"), HookContext::new()),
        (pre_init("a", "b"), HookContext::new().with_session_id("s2")),
        (pre_init("a", "b"), HookContext::new().with_session_id("s1")),
        (of_s1_in_payload, HookContext::new()),
    ] {
        let _d = registry
            .dispatch::<SessionPreInit>(payload, ctx)
            .await
            .unwrap();
    }

    // Fired for the context's session and for the payload's session, not for no session or
    // another session (the reference fires session plugins for every dispatch).
    assert_eq!(log.entries(), ["s1-only", "s1-only"]);
}

#[tokio::test]
async fn global_handlers_fire_for_every_session() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let _r = registry
        .register(logging("global", &log, Sequential))
        .unwrap();

    for session in ["s1", "s2"] {
        let _d = registry
            .dispatch::<SessionPreInit>(
                pre_init("a", "b"),
                HookContext::new().with_session_id(session),
            )
            .await
            .unwrap();
    }

    assert_eq!(log.entries(), ["global", "global"]);
}

#[tokio::test]
async fn unregister_session_removes_only_that_sessions_handlers() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let _r = registry
        .register(logging("global", &log, Sequential))
        .unwrap();
    for session in ["A", "B"] {
        let _r = registry
            .register_for_session(session, logging(&format!("in-{session}"), &log, Sequential))
            .unwrap();
    }
    let dispatch_in = |session: &'static str| {
        registry.dispatch::<SessionPreInit>(
            pre_init("a", "b"),
            HookContext::new().with_session_id(session),
        )
    };

    registry.unregister_session("A");
    let _d = dispatch_in("A").await.unwrap();
    let _d = dispatch_in("B").await.unwrap();
    assert_eq!(log.entries(), ["global", "global", "in-B"]);

    registry.unregister_session("B");
    let _d = dispatch_in("B").await.unwrap();
    assert_eq!(log.entries(), ["global", "global", "in-B", "global"]);
    assert_eq!(registry.handler_names(), ["global"]);
}

#[test]
fn unregister_of_an_unknown_session_is_a_no_op() {
    let registry = PluginRegistry::new();
    let _r = registry
        .register(logging("global", &Log::default(), Sequential))
        .unwrap();

    registry.unregister_session("never-registered");

    assert_eq!(registry.handler_names(), ["global"]);
}

// ---------------------------------------------------------------------------------------------
// Guard scope ([scope] with-blocks and plugin_scope)

#[tokio::test]
async fn scoped_item_fires_inside_the_scope_and_not_after() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    {
        let _scope = registry
            .scoped(logging("scoped", &log, Sequential))
            .unwrap();
        assert_eq!(run(&registry, &log).await, ["scoped"]);
    }

    assert!(!registry.has_listeners(HookType::SessionPreInit));
    assert_eq!(run(&registry, &log).await, ["scoped"]);
}

#[tokio::test]
async fn scope_ends_when_unwinding_from_a_panic() {
    let registry = PluginRegistry::new();
    let log = Log::default();

    let unwound = catch_unwind(AssertUnwindSafe(|| {
        let _scope = registry
            .scoped(LogPlugin::new("guarded", 50, &log))
            .unwrap();
        assert!(registry.has_listeners(HookType::SessionPreInit));
        panic!("the guarded block fails");
    }));

    assert!(unwound.is_err());
    assert!(registry.handler_names().is_empty());
    assert_eq!(run(&registry, &log).await, Vec::<String>::new());
}

#[tokio::test]
async fn scope_of_several_items_registers_and_removes_them_together() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    {
        let items = PluginSet::new(
            "scope",
            [
                logging("fn", &log, Sequential).into(),
                LogPlugin::new("plugin", 60, &log).into(),
                PluginSet::new("nested", [logging("nested-fn", &log, Sequential).into()])
                    .with_priority(70)
                    .into(),
            ],
        );
        let scope = registry.scoped(items).unwrap();
        assert_eq!(
            scope.registration().names(),
            ["fn", "plugin.session_pre_init", "nested-fn"]
        );
        assert_eq!(run(&registry, &log).await, ["fn", "plugin", "nested-fn"]);
    }

    assert!(registry.handler_names().is_empty());
}

#[test]
fn empty_scope_is_accepted() {
    let registry = PluginRegistry::new();

    let scope = registry.scoped(PluginSet::new("empty", [])).unwrap();

    assert!(scope.registration().names().is_empty());
    assert!(!registry.has_listeners(HookType::SessionPreInit));
}

#[test]
fn same_plugin_cannot_be_scoped_twice_at_once() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let _outer = registry.scoped(LogPlugin::new("guard", 50, &log)).unwrap();

    let nested = registry.scoped(LogPlugin::new("guard", 50, &log));

    assert_eq!(
        nested.unwrap_err(),
        RegistrationError::DuplicateName {
            name: "guard.session_pre_init".into()
        }
    );
    assert_eq!(
        registry.handler_names(),
        ["guard.session_pre_init"],
        "the outer scope's registration is intact"
    );
}

#[tokio::test]
async fn plugin_can_be_scoped_again_after_its_scope_ended() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let plugin = Arc::new(LogPlugin::new("reusable", 50, &log));
    for _ in 0..2 {
        let _scope = registry.scoped(plugin.clone()).unwrap();
        let _d = dispatch_pre_init(&registry, pre_init("a", "b"))
            .await
            .unwrap();
    }

    assert_eq!(log.entries(), ["reusable", "reusable"]);
}

// ---------------------------------------------------------------------------------------------
// Unregistration ([unreg])

#[tokio::test]
async fn unregister_a_handler_stops_only_that_handler() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let leaving = logging("leaving", &log, Sequential);
    let _r = registry.register(leaving.clone()).unwrap();
    let _r = registry
        .register(logging("staying", &log, Sequential))
        .unwrap();

    registry.unregister(&leaving);

    assert_eq!(run(&registry, &log).await, ["staying"]);
}

#[test]
fn unregister_of_something_never_registered_is_a_no_op() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let _r = registry
        .register(logging("registered", &log, Sequential))
        .unwrap();

    registry.unregister(&logging("never", &log, Sequential));
    registry.unregister(&LogPlugin::new("never-plugin", 50, &log));
    registry.unregister(UnregisterTarget::plugin("unknown"));

    assert_eq!(registry.handler_names(), ["registered"]);
}

#[test]
fn unregister_several_targets_at_once() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let a = logging("a", &log, Sequential);
    let b = LogPlugin::new("b", 50, &log);
    let _r = registry.register(a.clone()).unwrap();
    let b_registration = registry.register(b).unwrap();
    let _r = registry.register(logging("c", &log, Sequential)).unwrap();

    registry.unregister(
        [
            UnregisterTarget::from(&a),
            UnregisterTarget::from(&b_registration),
        ]
        .into_iter()
        .collect::<UnregisterTarget>(),
    );

    assert_eq!(registry.handler_names(), ["c"]);
}

#[tokio::test]
async fn unregister_a_plugin_removes_every_handler_of_it() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let mut plugin = LogPlugin::new("multi", 50, &log);
    plugin.post_init = true;
    let _r = registry.register(plugin).unwrap();
    assert_eq!(
        registry.handler_names(),
        ["multi.session_post_init", "multi.session_pre_init"]
    );

    // Any value with the plugin's name names the same plugin.
    registry.unregister(&LogPlugin::new("multi", 50, &log));

    assert!(registry.handler_names().is_empty());
    assert!(!registry.has_listeners(HookType::SessionPostInit));
    let _d = dispatch_post_init(&registry).await.unwrap();
    assert!(log.entries().is_empty());
}

#[test]
fn unregister_a_set_removes_each_of_its_leaves() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let set = PluginSet::new(
        "s",
        [
            logging("a", &log, Sequential).into(),
            PluginSet::new("inner", [LogPlugin::new("b", 50, &log).into()]).into(),
        ],
    );
    let _r = registry.register(set.clone()).unwrap();
    let _r = registry
        .register(logging("other", &log, Sequential))
        .unwrap();

    registry.unregister(&set);

    assert_eq!(registry.handler_names(), ["other"]);
}

#[test]
fn unregister_a_registration_removes_exactly_what_it_registered() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let first = registry
        .register(PluginSet::new(
            "first",
            [
                logging("a", &log, Sequential).into(),
                logging("b", &log, Sequential).into(),
            ],
        ))
        .unwrap();
    let _second = registry.register(logging("c", &log, Sequential)).unwrap();

    registry.unregister(&first);

    assert_eq!(registry.handler_names(), ["c"]);
}

#[test]
fn has_listeners_turns_off_when_the_last_handler_of_a_hook_leaves() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let mut plugin = LogPlugin::new("p", 50, &log);
    plugin.post_init = true;
    let plugin_registration = registry.register(plugin).unwrap();
    let standalone = registry
        .register(logging("standalone", &log, Sequential))
        .unwrap();
    assert!(registry.has_listeners(HookType::SessionPreInit));
    assert!(registry.has_listeners(HookType::SessionPostInit));
    assert!(!registry.has_listeners(HookType::SessionReset));

    registry.unregister(&plugin_registration);
    assert!(registry.has_listeners(HookType::SessionPreInit));
    assert!(!registry.has_listeners(HookType::SessionPostInit));

    registry.unregister(&standalone);
    assert!(!registry.has_listeners(HookType::SessionPreInit));
}

#[test]
fn clear_removes_every_handler() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let _r = registry
        .register_for_session("s", logging("a", &log, Sequential))
        .unwrap();
    let _r = registry.register(LogPlugin::new("b", 50, &log)).unwrap();

    registry.clear();

    assert!(registry.handler_names().is_empty());
    assert!(!registry.has_listeners(HookType::SessionPreInit));
}

// ---------------------------------------------------------------------------------------------
// Names and duplicates (probe-verified cases; atomic rejection is a deliberate difference)

#[test]
fn registry_names_are_plugin_dot_hook_or_the_handlers_name() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let mut plugin = LogPlugin::new("redactor", 10, &log);
    plugin.post_init = true;

    let plugin_registration = registry.register(plugin).unwrap();
    let handler_registration = registry
        .register(logging("crate::audit", &log, Sequential))
        .unwrap();

    assert_eq!(
        plugin_registration.names(),
        ["redactor.session_pre_init", "redactor.session_post_init"]
    );
    assert_eq!(handler_registration.names(), ["crate::audit"]);
}

#[test]
fn same_handler_registered_twice_is_rejected() {
    let registry = PluginRegistry::new();
    let handler = logging("twice", &Log::default(), Sequential);
    let _r = registry.register(handler.clone()).unwrap();

    let again = registry.register(handler);

    assert_eq!(
        again.unwrap_err(),
        RegistrationError::DuplicateName {
            name: "twice".into()
        }
    );
    assert_eq!(registry.handler_names(), ["twice"]);
}

#[test]
fn two_instances_of_one_plugin_cannot_be_registered_at_once() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let _r = registry.register(LogPlugin::new("same", 50, &log)).unwrap();

    let second = registry.register(LogPlugin::new("same", 50, &log));

    assert!(matches!(
        second,
        Err(RegistrationError::DuplicateName { .. })
    ));
}

#[test]
fn duplicate_within_one_call_registers_nothing() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let set = PluginSet::new(
        "clashing",
        [
            logging("a", &log, Sequential).into(),
            logging("b", &log, Sequential).into(),
            logging("a", &log, Sequential).into(),
        ],
    );

    let result = registry.register(set);

    assert_eq!(
        result.unwrap_err(),
        RegistrationError::DuplicateName { name: "a".into() }
    );
    assert!(registry.handler_names().is_empty());
    assert!(!registry.has_listeners(HookType::SessionPreInit));
}

#[test]
fn duplicate_of_a_registered_name_registers_nothing_of_the_call() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let _r = registry
        .register(logging("taken", &log, Sequential))
        .unwrap();
    let mut plugin = LogPlugin::new("fresh", 50, &log);
    plugin.post_init = true;
    let set = PluginSet::new(
        "late-clash",
        [plugin.into(), logging("taken", &log, Sequential).into()],
    );

    let result = registry.register(set);

    assert_eq!(
        result.unwrap_err(),
        RegistrationError::DuplicateName {
            name: "taken".into()
        }
    );
    assert_eq!(registry.handler_names(), ["taken"]);
    assert!(!registry.has_listeners(HookType::SessionPostInit));
}

#[test]
fn plugin_with_two_handlers_on_one_hook_is_rejected_and_registers_nothing() {
    let registry = PluginRegistry::new();
    let mut plugin = LogPlugin::new("double", 50, &Log::default());
    plugin.pre_init = vec![(Sequential, None), (PluginMode::Audit, None)];
    plugin.post_init = true;

    let result = registry.register(plugin);

    assert_eq!(
        result.unwrap_err(),
        RegistrationError::DuplicateName {
            name: "double.session_pre_init".into()
        }
    );
    assert!(registry.handler_names().is_empty());
}

#[test]
fn duplicate_name_error_names_the_clash_and_says_what_to_do() {
    let message = RegistrationError::DuplicateName {
        name: "guard.session_pre_init".into(),
    }
    .to_string();

    assert!(message.contains("`guard.session_pre_init`"), "{message}");
    assert!(message.contains("nothing was registered"), "{message}");
    assert!(message.contains("Unregister the existing one"), "{message}");
}

#[test]
fn empty_names_are_rejected() {
    let registry = PluginRegistry::new();
    let log = Log::default();

    let handler = registry.register(logging("", &log, Sequential));
    let plugin = registry.register(LogPlugin::new("", 50, &log));

    assert_eq!(handler.unwrap_err(), RegistrationError::EmptyName);
    assert_eq!(plugin.unwrap_err(), RegistrationError::EmptyName);
    assert!(registry.handler_names().is_empty());
}

#[test]
fn plugin_without_handlers_registers_nothing() {
    let registry = PluginRegistry::new();
    let mut plugin = LogPlugin::new("idle", 50, &Log::default());
    plugin.pre_init.clear();

    let registration = registry.register(plugin).unwrap();

    assert!(registration.names().is_empty());
    assert!(registry.handler_names().is_empty());
}

#[test]
fn plugin_hooks_may_consult_the_registry_while_registering() {
    // `Plugin::hooks` is user code; registration must not hold the registry lock around it.
    struct Curious {
        registry: Arc<PluginRegistry>,
    }
    impl Plugin for Curious {
        fn name(&self) -> &str {
            "curious"
        }
        fn hooks(self: Arc<Self>, hooks: &mut PluginHooks) {
            assert!(self.registry.handler_names().is_empty());
            hooks.method::<SessionPreInit, _, _>(Sequential, None, self, |_, _, _| {
                Box::pin(async { Ok(HookAction::Continue) })
            });
        }
    }
    let registry = Arc::new(PluginRegistry::new());

    let registration = registry
        .register(Curious {
            registry: registry.clone(),
        })
        .unwrap();

    assert_eq!(registration.names(), ["curious.session_pre_init"]);
}
