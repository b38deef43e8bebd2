//! The registry's session index and its guarantees at scale: a dispatch runs the global
//! handlers merged with its own session's, in phase, priority and registration order, never
//! another session's; registration during a dispatch affects only later dispatches; per-plugin
//! counters.

use crate::support::plugins as support;

use std::sync::Arc;

use mellea::hooks::SessionPreInit;
use mellea::plugin::{HookAction, HookContext, HookFn, PluginMode, PluginRegistry, PluginStats};
use support::{Log, logging, pre_init};

use PluginMode::{Audit, Concurrent, Sequential, Transform};

async fn run_in(registry: &PluginRegistry, session: Option<&str>) {
    let ctx = match session {
        Some(id) => HookContext::new().with_session_id(id),
        None => HookContext::new(),
    };
    let mut dispatched = registry
        .dispatch::<SessionPreInit>(pre_init("a", "b"), ctx)
        .await
        .unwrap();
    dispatched.wait_for_background_tasks().await;
}

#[tokio::test]
async fn a_sessions_handlers_merge_with_the_global_ones_in_phase_priority_and_registration_order() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let global = |name: &str, mode, priority| {
        registry
            .register(logging(name, &log, mode).with_priority(priority))
            .unwrap()
    };
    let session = |id: &str, name: &str, mode, priority| {
        registry
            .register_for_session(id, logging(name, &log, mode).with_priority(priority))
            .unwrap()
    };
    let _r = [
        global("g-seq-50-first", Sequential, 50),
        session("s", "s-seq-50-second", Sequential, 50),
        global("g-seq-50-third", Sequential, 50),
        session("s", "s-seq-10", Sequential, 10),
        global("g-transform-5", Transform, 5),
        session("s", "s-audit-1", Audit, 1),
        session("s", "s-concurrent-0", Concurrent, 0),
        session("t", "t-seq-1", Sequential, 1),
    ];

    run_in(&registry, Some("s")).await;
    assert_eq!(
        log.entries(),
        [
            "s-seq-10",
            "g-seq-50-first",
            "s-seq-50-second",
            "g-seq-50-third",
            "g-transform-5",
            "s-audit-1",
            "s-concurrent-0",
        ]
    );

    let log_t = Log::default();
    let _t = registry
        .register_for_session(
            "t",
            logging("t-transform-99", &log_t, Transform).with_priority(99),
        )
        .unwrap();
    run_in(&registry, Some("t")).await;
    run_in(&registry, None).await;
    assert_eq!(
        log.entries()[7..],
        [
            "t-seq-1",
            "g-seq-50-first",
            "g-seq-50-third",
            "g-transform-5",
            // no session: globals only
            "g-seq-50-first",
            "g-seq-50-third",
            "g-transform-5",
        ]
    );
    assert_eq!(log_t.entries(), ["t-transform-99"]);
}

#[tokio::test]
async fn among_thousands_of_sessions_a_dispatch_runs_only_the_global_and_its_own_handlers() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let _global = registry
        .register(logging("global", &log, Sequential))
        .unwrap();
    let registrations: Vec<_> = (0..2_000)
        .map(|i| {
            let id = format!("s-{i}");
            registry
                .register_for_session(&id, logging(&format!("in-{id}"), &log, Sequential))
                .unwrap()
        })
        .collect();
    assert_eq!(registry.handler_names().len(), 2_001);

    run_in(&registry, Some("s-1234")).await;
    assert_eq!(log.entries(), ["global", "in-s-1234"]);

    registry.unregister_session("s-1234");
    registry.unregister(&registrations[7]);
    run_in(&registry, Some("s-1234")).await;
    run_in(&registry, Some("s-7")).await;
    run_in(&registry, Some("s-8")).await;
    assert_eq!(log.entries()[2..], ["global", "global", "global", "in-s-8"]);
    assert_eq!(registry.handler_names().len(), 1_999);

    for registration in &registrations {
        registry.unregister(registration);
    }
    assert_eq!(registry.handler_names(), ["global"]);
}

#[tokio::test]
async fn registering_and_unregistering_during_a_dispatch_affects_only_later_dispatches() {
    let registry = Arc::new(PluginRegistry::new());
    let log = Log::default();
    let _first = registry
        .register(logging("first", &log, Sequential).with_priority(1))
        .unwrap();
    let last = registry
        .register(logging("last", &log, Sequential).with_priority(99))
        .unwrap();
    let (inner, inner_log) = (Arc::clone(&registry), log.clone());
    let last_target = mellea::plugin::UnregisterTarget::from(&last);
    let _mutator = registry
        .register(
            HookFn::new::<SessionPreInit, _>("mutator", move |_, _| {
                inner_log.push("mutator");
                // A handler that joins mid-dispatch, before `last` in order, and a handler
                // that leaves mid-dispatch: this dispatch keeps its snapshot.
                let _late = inner
                    .register_for_session(
                        "s",
                        logging("late", &inner_log, Sequential).with_priority(50),
                    )
                    .unwrap();
                inner.unregister(last_target.clone());
                Box::pin(async { Ok(HookAction::Continue) })
            })
            .with_priority(10),
        )
        .unwrap();

    run_in(&registry, Some("s")).await;
    assert_eq!(log.entries(), ["first", "mutator", "last"]);

    registry.unregister(mellea::plugin::UnregisterTarget::function("mutator"));
    run_in(&registry, Some("s")).await;
    assert_eq!(log.entries()[3..], ["first", "late"]);
}

#[test]
fn per_plugin_counters_are_readable_by_name_while_registered_and_by_handle_after() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let registry = PluginRegistry::new();
    let failing = registry
        .register(HookFn::new::<SessionPreInit, _>("failing", |_, _| {
            Box::pin(async { Err("down".into()) })
        }))
        .unwrap();
    let _fine = registry
        .register(logging("fine", &Log::default(), Sequential))
        .unwrap();

    for _ in 0..3 {
        runtime.block_on(run_in(&registry, None));
    }

    let failing_stats = registry.plugin_stats("failing").unwrap();
    assert_eq!(failing_stats.handler_errors, 3);
    assert_eq!(registry.plugin_stats("fine"), Some(PluginStats::default()));
    assert_eq!(registry.plugin_stats("unknown"), None);
    assert_eq!(registry.stats(), failing_stats);

    registry.unregister(&failing);
    assert_eq!(registry.plugin_stats("failing"), None);
    assert_eq!(failing.stats(), failing_stats);
    assert_eq!(registry.stats().handler_errors, 3);
}
