//! Dispatch through the five execution modes: phase order, patches, blocks, chaining,
//! failures, timeouts, FIRE_AND_FORGET completion and the per-dispatch state map.
//!
//! Ports the `[mgr]`, `[blk]`, `[mode]`, `[pol]`, `[gctx]` and `[mp]` cases of
//! `mellea-plugins.md` §9 plus the probe-verified extras, and the deliberate differences of
//! DESIGN.md §4 that concern dispatch. Every test uses its own `PluginRegistry`.

use crate::support::plugins as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mellea::hooks::{HookType, Object, SessionPreInit, SessionPreInitPatch};
use mellea::plugin::{
    BackendInfo, HookAction, HookContext, HookFn, PluginMode, PluginRegistry, PluginStats,
};
use support::{
    Log, LogPlugin, block, block_with_code, delayed, dispatch_pre_init, logging, pre_init,
    recorder, set_model,
};

use PluginMode::{Audit, Concurrent, FireAndForget, Sequential, Transform};

fn register(registry: &PluginRegistry, handler: HookFn) {
    let _registration = registry.register(handler).expect("unique handler name");
}

// ---------------------------------------------------------------------------------------------
// Basics ([mgr])

#[tokio::test]
async fn dispatch_with_no_listener_returns_the_payload_unchanged() {
    let registry = PluginRegistry::new();
    assert!(!registry.has_listeners(HookType::SessionPreInit));

    let dispatched = dispatch_pre_init(&registry, pre_init("openai", "gpt-4o"))
        .await
        .unwrap();

    assert_eq!(dispatched.payload.backend_name, "openai");
    assert_eq!(dispatched.payload.model_id, "gpt-4o");
    assert_eq!(dispatched.payload.model_options, None);
    assert_eq!(dispatched.background_task_count(), 0);
}

#[tokio::test]
async fn registered_handler_is_called_once_and_sees_the_payload() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let seen = Log::default();
    let seen_in_handler = seen.clone();
    register(
        &registry,
        recorder("recorder", &log, Sequential, move |payload| {
            seen_in_handler.push(payload.backend_name.clone());
            Ok(HookAction::Continue)
        })
        .with_priority(10),
    );

    let _dispatched = dispatch_pre_init(&registry, pre_init("openai", "gpt-4o"))
        .await
        .unwrap();

    assert_eq!(log.entries(), ["recorder"]);
    assert_eq!(seen.entries(), ["openai"]);
}

#[tokio::test]
async fn dispatch_stamps_the_hook_before_handlers_see_the_payload() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let seen = log.clone();
    register(
        &registry,
        recorder(
            "stamp-reader",
            &Log::default(),
            Sequential,
            move |payload| {
                seen.push(format!("{:?}", payload.base.hook));
                Ok(HookAction::Continue)
            },
        ),
    );
    let payload = pre_init("openai", "gpt-4o");
    assert_eq!(payload.base.hook, None);

    let dispatched = dispatch_pre_init(&registry, payload).await.unwrap();

    assert_eq!(log.entries(), ["Some(SessionPreInit)"]);
    assert_eq!(dispatched.payload.base.hook, Some(HookType::SessionPreInit));
}

#[tokio::test]
async fn handlers_see_the_callers_objects_not_copies() {
    struct Action;
    let registry = PluginRegistry::new();
    let action = Object::new(Action);
    let same = Arc::new(AtomicBool::new(false));
    let (expected, verdict) = (action.clone(), same.clone());
    register(
        &registry,
        HookFn::new::<mellea::hooks::GenerationPreCall, _>("identity", move |payload, _ctx| {
            let shared = payload.action.as_ref().is_some_and(|a| a.ptr_eq(&expected));
            verdict.store(shared, Ordering::SeqCst);
            Box::pin(async { Ok(HookAction::Continue) })
        }),
    );
    let mut payload = mellea::hooks::GenerationPreCallPayload::default();
    payload.action = Some(action.clone());

    let dispatched = registry
        .dispatch::<mellea::hooks::GenerationPreCall>(payload, HookContext::new())
        .await
        .unwrap();

    assert!(
        same.load(Ordering::SeqCst),
        "handler saw a copy of the action"
    );
    assert!(dispatched.payload.action.unwrap().ptr_eq(&action));
}

#[test]
fn dispatch_future_is_send_so_backends_can_spawn_it() {
    fn assert_send<T: Send>(_: &T) {}
    let registry = PluginRegistry::new();
    let future = registry.dispatch::<SessionPreInit>(pre_init("a", "b"), HookContext::new());
    assert_send(&future);
}

// ---------------------------------------------------------------------------------------------
// Patches and blocks ([blk], [pol])

#[tokio::test]
async fn sequential_patch_changes_the_returned_payload() {
    let registry = PluginRegistry::new();
    register(
        &registry,
        recorder("swap", &Log::default(), Sequential, |_| {
            set_model("swapped")
        }),
    );

    let dispatched = dispatch_pre_init(&registry, pre_init("openai", "gpt-4o"))
        .await
        .unwrap();

    assert_eq!(dispatched.payload.model_id, "swapped");
    assert_eq!(
        dispatched.payload.backend_name, "openai",
        "other fields kept"
    );
}

#[tokio::test]
async fn patch_of_several_writable_fields_applies_all_of_them() {
    let registry = PluginRegistry::new();
    let mut options = mellea::hooks::ModelOptions::new();
    options.insert("temperature".into(), 0.5.into());
    let expected = options.clone();
    register(
        &registry,
        recorder("both", &Log::default(), Sequential, move |_| {
            Ok(HookAction::Modify(
                SessionPreInitPatch::new()
                    .with_model_id("granite4".into())
                    .with_model_options(Some(options.clone())),
            ))
        }),
    );

    let dispatched = dispatch_pre_init(&registry, pre_init("ollama", "llama3"))
        .await
        .unwrap();

    assert_eq!(dispatched.payload.model_id, "granite4");
    assert_eq!(dispatched.payload.model_options, Some(expected));
    assert_eq!(dispatched.payload.backend_name, "ollama");
    assert_eq!(dispatched.payload.context_type, "SimpleContext");
}

#[tokio::test]
async fn generation_pre_call_patch_of_model_options_is_accepted() {
    let registry = PluginRegistry::new();
    register(
        &registry,
        HookFn::new::<mellea::hooks::GenerationPreCall, _>("zero-temp", |payload, _ctx| {
            let mut options = payload.model_options.clone();
            options.insert("temperature".into(), 0.0.into());
            Box::pin(async move {
                Ok(HookAction::Modify(
                    mellea::hooks::GenerationPreCallPatch::new()
                        .with_model_options(options)
                        .with_tool_calls(true),
                ))
            })
        }),
    );

    let dispatched = registry
        .dispatch::<mellea::hooks::GenerationPreCall>(
            mellea::hooks::GenerationPreCallPayload::default(),
            HookContext::new(),
        )
        .await
        .unwrap();

    assert_eq!(
        dispatched.payload.model_options.get("temperature"),
        Some(&0.0.into())
    );
    assert!(dispatched.payload.tool_calls);
}

#[tokio::test]
async fn sequential_block_fails_the_dispatch_with_a_violation_naming_hook_and_reason() {
    let registry = PluginRegistry::new();
    register(
        &registry,
        recorder("guard", &Log::default(), Sequential, |_| {
            block("forbidden content detected")
        }),
    );

    let violation = dispatch_pre_init(&registry, pre_init("openai", "gpt-4o"))
        .await
        .unwrap_err();

    assert_eq!(violation.hook, HookType::SessionPreInit);
    assert_eq!(violation.reason, "forbidden content detected");
    assert_eq!(violation.code, "");
    assert_eq!(
        violation.to_string(),
        "Plugin blocked session_pre_init: forbidden content detected"
    );
}

#[tokio::test]
async fn block_carries_its_code_and_the_blocking_handlers_registry_name() {
    let registry = PluginRegistry::new();
    register(
        &registry,
        recorder("pii-guard", &Log::default(), Sequential, |_| {
            block_with_code("prompt contains a secret", "PII")
        }),
    );

    let violation = dispatch_pre_init(&registry, pre_init("openai", "gpt-4o"))
        .await
        .unwrap_err();

    assert_eq!(violation.code, "PII");
    assert_eq!(violation.plugin_name, "pii-guard");
    assert_eq!(
        violation.to_string(),
        "Plugin blocked session_pre_init: [PII] prompt contains a secret"
    );
}

#[tokio::test]
async fn plugin_block_names_the_plugin_and_hook() {
    struct Guard;
    impl Guard {
        async fn deny(&self) -> mellea::HookResult<SessionPreInitPatch> {
            Ok(mellea::Violation::new("no").into())
        }
    }
    impl mellea::Plugin for Guard {
        fn name(&self) -> &str {
            "guard"
        }
        fn hooks(self: Arc<Self>, hooks: &mut mellea::plugin::PluginHooks) {
            hooks.method::<SessionPreInit, _, _>(Sequential, None, self, |this, _, _| {
                Box::pin(this.deny())
            });
        }
    }
    let registry = PluginRegistry::new();
    let _registration = registry.register(Guard).unwrap();

    let violation = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap_err();

    assert_eq!(violation.plugin_name, "guard.session_pre_init");
}

#[tokio::test]
async fn sequential_block_skips_every_later_awaited_handler() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    register(
        &registry,
        recorder("blocker", &log, Sequential, |_| block("stop")).with_priority(1),
    );
    register(
        &registry,
        logging("later-sequential", &log, Sequential).with_priority(2),
    );
    register(&registry, logging("transform", &log, Transform));
    register(&registry, logging("audit", &log, Audit));
    register(&registry, logging("concurrent", &log, Concurrent));

    let result = dispatch_pre_init(&registry, pre_init("a", "b")).await;

    assert!(result.is_err());
    assert_eq!(log.entries(), ["blocker"]);
}

#[tokio::test]
async fn sequential_block_still_runs_fire_and_forget_handlers() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    register(
        &registry,
        recorder("blocker", &log, Sequential, |_| block("stop")),
    );
    register(&registry, logging("faf", &log, FireAndForget));

    let result = dispatch_pre_init(&registry, pre_init("a", "b")).await;
    assert!(result.is_err());
    // The violation drops the handles; the spawned task still runs on this runtime.
    tokio::task::yield_now().await;
    tokio::task::yield_now().await;

    assert_eq!(log.entries(), ["blocker", "faf"]);
}

#[tokio::test]
async fn handler_without_a_mode_is_sequential_and_can_block() {
    let registry = PluginRegistry::new();
    let blocker = HookFn::new::<SessionPreInit, _>("plain", |_, _| {
        Box::pin(async { Ok(mellea::Violation::new("plain block").into()) })
    });
    assert_eq!(blocker.spec().mode(), Sequential);
    register(&registry, blocker);

    let violation = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap_err();

    assert_eq!(violation.reason, "plain block");
}

#[tokio::test]
async fn handler_returning_continue_leaves_the_payload_unchanged() {
    let registry = PluginRegistry::new();
    register(&registry, logging("noop", &Log::default(), Sequential));

    let dispatched = dispatch_pre_init(&registry, pre_init("openai", "gpt-4o"))
        .await
        .unwrap();

    assert_eq!(dispatched.payload.model_id, "gpt-4o");
    assert_eq!(dispatched.payload.backend_name, "openai");
}

// ---------------------------------------------------------------------------------------------
// Per-mode behaviour ([mode])

#[tokio::test]
async fn audit_block_is_ignored_and_every_audit_handler_runs_in_priority_order() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    register(
        &registry,
        recorder("audit-10", &log, Audit, |_| block("ignored")).with_priority(10),
    );
    register(
        &registry,
        recorder("audit-5", &log, Audit, |_| block("ignored")).with_priority(5),
    );

    let result = dispatch_pre_init(&registry, pre_init("a", "b")).await;

    assert!(result.is_ok(), "an AUDIT block must not fail the dispatch");
    assert_eq!(log.entries(), ["audit-5", "audit-10"]);
    assert_eq!(registry.stats().suppressed_blocks, 2);
}

#[tokio::test]
async fn sequential_phase_runs_before_audit_phase_at_equal_priority() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    register(&registry, logging("permissive", &log, Audit));
    register(&registry, logging("enforce", &log, Sequential));

    let _dispatched = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap();

    assert_eq!(log.entries(), ["enforce", "permissive"]);
}

#[tokio::test]
async fn audit_concurrent_and_fire_and_forget_patches_are_discarded() {
    let registry = PluginRegistry::new();
    for (name, mode) in [
        ("audit", Audit),
        ("concurrent", Concurrent),
        ("faf", FireAndForget),
    ] {
        register(
            &registry,
            recorder(name, &Log::default(), mode, |_| set_model("changed")),
        );
    }

    let mut dispatched = dispatch_pre_init(&registry, pre_init("openai", "original"))
        .await
        .unwrap();
    dispatched.wait_for_background_tasks().await;

    assert_eq!(dispatched.payload.model_id, "original");
    assert_eq!(registry.stats().discarded_patches, 3);
}

#[tokio::test]
async fn transform_patch_is_applied() {
    let registry = PluginRegistry::new();
    register(
        &registry,
        recorder("transform", &Log::default(), Transform, |_| {
            set_model("transformed")
        }),
    );

    let dispatched = dispatch_pre_init(&registry, pre_init("a", "original"))
        .await
        .unwrap();

    assert_eq!(dispatched.payload.model_id, "transformed");
}

#[tokio::test]
async fn transform_block_is_suppressed_and_later_handlers_run() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    register(
        &registry,
        recorder("transform", &log, Transform, |_| block("ignored")).with_priority(1),
    );
    register(&registry, logging("audit", &log, Audit));

    let result = dispatch_pre_init(&registry, pre_init("a", "b")).await;

    assert!(
        result.is_ok(),
        "a TRANSFORM block must not fail the dispatch"
    );
    assert_eq!(log.entries(), ["transform", "audit"]);
    assert_eq!(registry.stats().suppressed_blocks, 1);
}

#[tokio::test]
async fn transform_patches_chain_to_the_next_transform_handler() {
    let registry = PluginRegistry::new();
    register(
        &registry,
        recorder("step-a", &Log::default(), Transform, |_| {
            set_model("step-a")
        })
        .with_priority(1),
    );
    register(
        &registry,
        recorder("step-b", &Log::default(), Transform, |payload| {
            let mut seen = mellea::hooks::ModelOptions::new();
            seen.insert("seen".into(), payload.model_id.clone().into());
            Ok(HookAction::Modify(
                SessionPreInitPatch::new().with_model_options(Some(seen)),
            ))
        })
        .with_priority(2),
    );

    let dispatched = dispatch_pre_init(&registry, pre_init("a", "original"))
        .await
        .unwrap();

    assert_eq!(dispatched.payload.model_id, "step-a");
    assert_eq!(
        dispatched.payload.model_options.unwrap().get("seen"),
        Some(&"step-a".into())
    );
}

#[tokio::test]
async fn sequential_patches_chain_into_transform_handlers() {
    let registry = PluginRegistry::new();
    let seen = Log::default();
    let seen_by_transform = seen.clone();
    register(
        &registry,
        recorder("sequential", &Log::default(), Sequential, |_| {
            set_model("seq")
        }),
    );
    register(
        &registry,
        recorder("transform", &Log::default(), Transform, move |payload| {
            seen_by_transform.push(payload.model_id.clone());
            set_model(&format!("{}+transform", payload.model_id))
        }),
    );

    let dispatched = dispatch_pre_init(&registry, pre_init("a", "original"))
        .await
        .unwrap();

    assert_eq!(seen.entries(), ["seq"]);
    assert_eq!(dispatched.payload.model_id, "seq+transform");
}

#[tokio::test]
async fn mode_phase_beats_priority() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    // Registered in reverse of the expected order, each with a priority that alone would
    // put it first.
    register(
        &registry,
        logging("faf-1", &log, FireAndForget).with_priority(1),
    );
    register(
        &registry,
        logging("concurrent-1", &log, Concurrent).with_priority(1),
    );
    register(
        &registry,
        logging("concurrent-99", &log, Concurrent).with_priority(99),
    );
    register(&registry, logging("audit-1", &log, Audit).with_priority(1));
    register(
        &registry,
        logging("audit-99", &log, Audit).with_priority(99),
    );
    register(
        &registry,
        logging("transform-1", &log, Transform).with_priority(1),
    );
    register(
        &registry,
        logging("transform-99", &log, Transform).with_priority(99),
    );
    register(
        &registry,
        logging("sequential-99", &log, Sequential).with_priority(99),
    );

    let mut dispatched = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap();
    dispatched.wait_for_background_tasks().await;

    let entries = log.entries();
    assert_eq!(
        entries[..5],
        [
            "sequential-99",
            "transform-1",
            "transform-99",
            "audit-1",
            "audit-99"
        ]
    );
    // Concurrent handlers start together (their relative order is not specified), then the
    // fire-and-forget one.
    let mut concurrent = entries[5..7].to_vec();
    concurrent.sort();
    assert_eq!(concurrent, ["concurrent-1", "concurrent-99"]);
    assert_eq!(entries[7..], ["faf-1"]);
}

#[tokio::test]
async fn concurrent_block_fails_the_dispatch() {
    let registry = PluginRegistry::new();
    register(
        &registry,
        recorder("concurrent-guard", &Log::default(), Concurrent, |_| {
            block("not permitted")
        }),
    );

    let violation = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap_err();

    assert_eq!(violation.reason, "not permitted");
    assert_eq!(violation.plugin_name, "concurrent-guard");
}

#[tokio::test]
async fn concurrent_handlers_run_at_the_same_time() {
    // Each handler waits until both have started: run one after the other, the first would
    // wait forever (and be abandoned by the timeout, logging nothing).
    let registry = PluginRegistry::new();
    registry.set_handler_timeout(Some(Duration::from_secs(5)));
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let log = Log::default();
    for name in ["left", "right"] {
        let (barrier, log) = (barrier.clone(), log.clone());
        register(
            &registry,
            HookFn::new::<SessionPreInit, _>(name, move |_, _| {
                let (barrier, log) = (barrier.clone(), log.clone());
                Box::pin(async move {
                    barrier.wait().await;
                    log.push(name);
                    Ok(HookAction::Continue)
                })
            })
            .with_mode(Concurrent),
        );
    }

    let _dispatched = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap();

    let mut entries = log.entries();
    entries.sort();
    assert_eq!(entries, ["left", "right"]);
    assert_eq!(registry.stats().handler_timeouts, 0);
}

#[tokio::test(start_paused = true)]
async fn concurrent_first_completed_block_wins_and_cancels_the_rest() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    // Priority would pick "slow-blocker" first; completion order picks "fast-blocker".
    register(
        &registry,
        delayed(
            "slow-blocker",
            &log,
            Concurrent,
            Duration::from_millis(20),
            || block("slow"),
        )
        .with_priority(1),
    );
    register(
        &registry,
        delayed(
            "fast-blocker",
            &log,
            Concurrent,
            Duration::from_millis(10),
            || block("fast"),
        )
        .with_priority(2),
    );
    register(
        &registry,
        delayed(
            "slow-observer",
            &log,
            Concurrent,
            Duration::from_secs(1),
            || Ok(HookAction::Continue),
        ),
    );

    let violation = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap_err();
    tokio::time::sleep(Duration::from_secs(2)).await;

    assert_eq!(violation.reason, "fast");
    assert_eq!(
        log.entries(),
        ["fast-blocker"],
        "the other concurrent handlers were cancelled"
    );
}

#[tokio::test]
async fn audit_and_concurrent_handlers_see_the_patched_payload() {
    let registry = PluginRegistry::new();
    let seen = Log::default();
    register(
        &registry,
        recorder("patcher", &Log::default(), Sequential, |_| {
            set_model("patched")
        }),
    );
    for (name, mode) in [("audit", Audit), ("concurrent", Concurrent)] {
        let seen = seen.clone();
        register(
            &registry,
            recorder(name, &Log::default(), mode, move |payload| {
                seen.push(format!("{name}:{}", payload.model_id));
                Ok(HookAction::Continue)
            }),
        );
    }

    let _dispatched = dispatch_pre_init(&registry, pre_init("a", "original"))
        .await
        .unwrap();

    assert_eq!(seen.entries(), ["audit:patched", "concurrent:patched"]);
}

// ---------------------------------------------------------------------------------------------
// FIRE_AND_FORGET

#[tokio::test]
async fn fire_and_forget_handler_has_run_after_wait_for_background_tasks() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    register(&registry, logging("faf", &log, FireAndForget));

    let mut dispatched = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap();
    assert_eq!(dispatched.background_task_count(), 1);
    dispatched.wait_for_background_tasks().await;

    assert_eq!(log.entries(), ["faf"]);
    assert_eq!(dispatched.background_task_count(), 0);
}

#[tokio::test]
async fn fire_and_forget_handler_is_not_awaited_by_dispatch() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let gate = Arc::new(tokio::sync::Notify::new());
    let (handler_gate, handler_log) = (gate.clone(), log.clone());
    register(
        &registry,
        HookFn::new::<SessionPreInit, _>("gated-faf", move |_, _| {
            let (gate, log) = (handler_gate.clone(), handler_log.clone());
            Box::pin(async move {
                gate.notified().await;
                log.push("faf finished");
                Ok(HookAction::Continue)
            })
        })
        .with_mode(FireAndForget),
    );

    let mut dispatched = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap();
    assert!(
        log.entries().is_empty(),
        "dispatch returned while the handler was still waiting"
    );
    gate.notify_one();
    dispatched.wait_for_background_tasks().await;

    assert_eq!(log.entries(), ["faf finished"]);
}

#[tokio::test]
async fn fire_and_forget_block_is_ignored() {
    let registry = PluginRegistry::new();
    register(
        &registry,
        recorder("faf-blocker", &Log::default(), FireAndForget, |_| {
            block("ignored")
        }),
    );

    let mut dispatched = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap();
    dispatched.wait_for_background_tasks().await;

    assert_eq!(registry.stats().suppressed_blocks, 1);
}

#[tokio::test]
async fn fire_and_forget_runs_after_sequential_whatever_the_priority() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    register(
        &registry,
        logging("faf", &log, FireAndForget).with_priority(5),
    );
    register(
        &registry,
        logging("enforce", &log, Sequential).with_priority(10),
    );

    let mut dispatched = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap();
    dispatched.wait_for_background_tasks().await;

    assert_eq!(log.entries(), ["enforce", "faf"]);
}

#[tokio::test]
async fn fire_and_forget_sees_the_final_payload() {
    // Deliberate difference: the reference hands FIRE_AND_FORGET the original payload.
    let registry = PluginRegistry::new();
    let seen = Log::default();
    let seen_by_faf = seen.clone();
    register(
        &registry,
        recorder("patcher", &Log::default(), Transform, |_| {
            set_model("final")
        }),
    );
    register(
        &registry,
        recorder("faf", &Log::default(), FireAndForget, move |payload| {
            seen_by_faf.push(payload.model_id.clone());
            Ok(HookAction::Continue)
        }),
    );

    let mut dispatched = dispatch_pre_init(&registry, pre_init("a", "original"))
        .await
        .unwrap();
    dispatched.wait_for_background_tasks().await;

    assert_eq!(seen.entries(), ["final"]);
}

#[test]
fn without_a_tokio_runtime_fire_and_forget_handlers_run_inline() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    register(&registry, logging("faf", &log, FireAndForget));
    register(&registry, logging("sequential", &log, Sequential));

    let future = std::pin::pin!(dispatch_pre_init(&registry, pre_init("a", "b")));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let std::task::Poll::Ready(result) = future.poll(&mut cx) else {
        panic!("dispatch of ready handlers must finish in one poll");
    };

    let dispatched = result.unwrap();
    assert_eq!(dispatched.background_task_count(), 0);
    assert_eq!(log.entries(), ["sequential", "faf"]);
}

#[test]
fn runtime_without_timers_runs_handlers_without_a_timeout() {
    // Built without `enable_time`: arming a timer would panic; dispatch must not.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let registry = PluginRegistry::new();
    let log = Log::default();
    register(
        &registry,
        recorder("patcher", &log, Sequential, |_| set_model("patched")),
    );
    register(&registry, logging("faf", &log, FireAndForget));

    for _ in 0..2 {
        let mut dispatched = runtime
            .block_on(dispatch_pre_init(&registry, pre_init("a", "b")))
            .unwrap();
        runtime.block_on(dispatched.wait_for_background_tasks());
        assert_eq!(dispatched.payload.model_id, "patched");
    }

    assert_eq!(log.entries(), ["patcher", "faf", "patcher", "faf"]);
    assert_eq!(registry.stats(), PluginStats::default());
}

// ---------------------------------------------------------------------------------------------
// Failing handlers: errors, panics, timeouts

#[tokio::test]
async fn handler_error_is_ignored_and_the_next_handler_runs() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    register(
        &registry,
        recorder("failing", &log, Sequential, |_| {
            Err("database is down".into())
        })
        .with_priority(1),
    );
    register(
        &registry,
        recorder("next", &log, Sequential, |_| set_model("from-next")).with_priority(2),
    );

    let dispatched = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap();

    assert_eq!(log.entries(), ["failing", "next"]);
    assert_eq!(dispatched.payload.model_id, "from-next");
    assert_eq!(registry.stats().handler_errors, 1);
}

#[tokio::test]
async fn handler_panicking_while_running_is_ignored_and_the_next_handler_runs() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    register(
        &registry,
        HookFn::new::<SessionPreInit, _>("panics-in-future", |_, _| {
            Box::pin(async { panic!("handler bug") })
        })
        .with_priority(1),
    );
    register(
        &registry,
        logging("next", &log, Sequential).with_priority(2),
    );

    let result = dispatch_pre_init(&registry, pre_init("a", "b")).await;

    assert!(result.is_ok());
    assert_eq!(log.entries(), ["next"]);
    assert_eq!(registry.stats().handler_panics, 1);
}

#[tokio::test]
async fn handler_panicking_before_returning_its_future_is_ignored() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    register(
        &registry,
        recorder("panics-early", &log, Sequential, |_| {
            panic!("early handler bug")
        })
        .with_priority(1),
    );
    register(
        &registry,
        logging("next", &log, Sequential).with_priority(2),
    );

    let result = dispatch_pre_init(&registry, pre_init("a", "b")).await;

    assert!(result.is_ok());
    assert_eq!(log.entries(), ["panics-early", "next"]);
    assert_eq!(registry.stats().handler_panics, 1);
}

#[tokio::test]
async fn panicking_concurrent_and_fire_and_forget_handlers_are_ignored() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    for (name, mode) in [("concurrent", Concurrent), ("faf", FireAndForget)] {
        register(
            &registry,
            recorder(name, &log, mode, |_| panic!("handler bug")),
        );
    }

    let mut dispatched = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap();
    dispatched.wait_for_background_tasks().await;

    assert_eq!(log.entries(), ["concurrent", "faf"]);
    assert_eq!(registry.stats().handler_panics, 2);
}

#[tokio::test(start_paused = true)]
async fn slow_handler_is_abandoned_after_the_configured_timeout_and_the_chain_continues() {
    let registry = PluginRegistry::new();
    registry.set_handler_timeout(Some(Duration::from_millis(50)));
    let log = Log::default();
    register(
        &registry,
        delayed("slow", &log, Sequential, Duration::from_secs(10), || {
            block("too late")
        })
        .with_priority(1),
    );
    register(
        &registry,
        logging("next", &log, Sequential).with_priority(2),
    );
    let started = tokio::time::Instant::now();

    let result = dispatch_pre_init(&registry, pre_init("a", "b")).await;

    assert!(result.is_ok(), "a late block must be ignored");
    assert_eq!(log.entries(), ["next"]);
    assert_eq!(started.elapsed(), Duration::from_millis(50));
    assert_eq!(registry.stats().handler_timeouts, 1);
}

#[tokio::test(start_paused = true)]
async fn default_timeout_abandons_a_handler_after_five_seconds() {
    let registry = PluginRegistry::new();
    assert_eq!(registry.handler_timeout(), Some(Duration::from_secs(5)));
    let log = Log::default();
    register(
        &registry,
        delayed(
            "sleeps-6s",
            &log,
            Sequential,
            Duration::from_secs(6),
            || set_model("late"),
        ),
    );
    let started = tokio::time::Instant::now();

    let dispatched = dispatch_pre_init(&registry, pre_init("a", "original"))
        .await
        .unwrap();

    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert_eq!(dispatched.payload.model_id, "original");
    assert!(log.entries().is_empty());
}

#[tokio::test(start_paused = true)]
async fn timeout_applies_to_concurrent_handlers() {
    let registry = PluginRegistry::new();
    registry.set_handler_timeout(Some(Duration::from_millis(50)));
    let log = Log::default();
    register(
        &registry,
        delayed(
            "slow-guard",
            &log,
            Concurrent,
            Duration::from_secs(1),
            || block("too late"),
        ),
    );
    register(&registry, logging("quick", &log, Concurrent));

    let result = dispatch_pre_init(&registry, pre_init("a", "b")).await;

    assert!(result.is_ok());
    assert_eq!(log.entries(), ["quick"]);
    assert_eq!(registry.stats().handler_timeouts, 1);
}

#[tokio::test(start_paused = true)]
async fn disabled_timeout_lets_a_slow_handler_finish() {
    let registry = PluginRegistry::new();
    registry.set_handler_timeout(None);
    assert_eq!(registry.handler_timeout(), None);
    register(
        &registry,
        delayed(
            "patient",
            &Log::default(),
            Sequential,
            Duration::from_secs(60),
            || set_model("finished"),
        ),
    );

    let dispatched = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap();

    assert_eq!(dispatched.payload.model_id, "finished");
    assert_eq!(registry.stats(), PluginStats::default());
}

// ---------------------------------------------------------------------------------------------
// Context state ([gctx], [mp], reference §5 "global-state writes merged")

/// A `session_pre_init` handler that logs the value of `key` it sees and then writes `value`.
fn state_writer(name: &str, mode: PluginMode, seen: &Log, key: &'static str) -> HookFn {
    let seen = seen.clone();
    let entry = name.to_owned();
    HookFn::new::<SessionPreInit, _>(name, move |_, ctx| {
        let before = ctx.get_state(key).map_or("-".to_owned(), |v| v.to_string());
        seen.push(format!("{entry} saw {before}"));
        ctx.set_state(key, entry.clone());
        Box::pin(async { Ok(HookAction::Continue) })
    })
    .with_mode(mode)
}

#[tokio::test]
async fn sequential_and_transform_state_writes_are_seen_by_later_handlers() {
    let registry = PluginRegistry::new();
    let seen = Log::default();
    register(
        &registry,
        state_writer("seq", Sequential, &seen, "k").with_priority(1),
    );
    register(&registry, state_writer("transform", Transform, &seen, "k"));
    register(&registry, state_writer("audit", Audit, &seen, "k"));

    let _dispatched = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap();

    assert_eq!(
        seen.entries(),
        [
            "seq saw -",
            "transform saw \"seq\"",
            "audit saw \"transform\""
        ]
    );
}

#[tokio::test]
async fn audit_state_writes_are_not_seen_by_later_handlers() {
    let registry = PluginRegistry::new();
    let seen = Log::default();
    register(&registry, state_writer("audit", Audit, &seen, "k"));
    register(
        &registry,
        state_writer("concurrent", Concurrent, &seen, "k"),
    );

    let _dispatched = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap();

    assert_eq!(seen.entries(), ["audit saw -", "concurrent saw -"]);
}

#[tokio::test]
async fn concurrent_state_writes_are_merged_for_later_handlers() {
    let registry = PluginRegistry::new();
    let seen = Log::default();
    register(
        &registry,
        state_writer("concurrent", Concurrent, &seen, "k"),
    );
    register(&registry, state_writer("faf", FireAndForget, &seen, "k"));

    let mut dispatched = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap();
    dispatched.wait_for_background_tasks().await;

    assert_eq!(
        seen.entries(),
        ["concurrent saw -", "faf saw \"concurrent\""]
    );
}

#[tokio::test]
async fn state_written_by_a_failing_handler_is_dropped() {
    let registry = PluginRegistry::new();
    let seen = Log::default();
    register(
        &registry,
        HookFn::new::<SessionPreInit, _>("writes-then-fails", |_, ctx| {
            ctx.set_state("k", "from a failed handler");
            Box::pin(async { Err("failed".into()) })
        })
        .with_priority(1),
    );
    register(&registry, state_writer("next", Sequential, &seen, "k"));

    let _dispatched = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap();

    assert_eq!(seen.entries(), ["next saw -"]);
}

#[tokio::test]
async fn plugin_sees_the_backend_model_id_as_backend_name_in_state() {
    let registry = PluginRegistry::new();
    let seen = Log::default();
    let seen_by_handler = seen.clone();
    register(
        &registry,
        HookFn::new::<SessionPreInit, _>("reads-backend", move |_, ctx| {
            seen_by_handler.push(format!(
                "{:?} {:?} {}",
                ctx.get_state("backend_name"),
                ctx.backend().map(|b| b.provider.clone()),
                ctx.state().contains_key("backend"),
            ));
            Box::pin(async { Ok(HookAction::Continue) })
        }),
    );

    let _dispatched = registry
        .dispatch::<SessionPreInit>(
            pre_init("a", "b"),
            HookContext::new().with_backend(BackendInfo::new("mock", "mock-backend")),
        )
        .await
        .unwrap();
    let _dispatched = registry
        .dispatch::<SessionPreInit>(pre_init("a", "b"), HookContext::new())
        .await
        .unwrap();

    assert_eq!(
        seen.entries(),
        [
            "Some(String(\"mock-backend\")) Some(\"mock\") false",
            "None None false"
        ]
    );
}

#[tokio::test]
async fn extra_context_state_overrides_backend_name() {
    let registry = PluginRegistry::new();
    let seen = Log::default();
    let seen_by_handler = seen.clone();
    register(
        &registry,
        HookFn::new::<SessionPreInit, _>("reads-state", move |_, ctx| {
            seen_by_handler.push(format!(
                "{:?} {:?}",
                ctx.get_state("backend_name"),
                ctx.get_state("tenant")
            ));
            Box::pin(async { Ok(HookAction::Continue) })
        }),
    );
    let ctx = HookContext::new()
        .with_backend(BackendInfo::new("mock", "mock-backend"))
        .with_state("backend_name", "override")
        .with_state("tenant", "acme");

    let _dispatched = registry
        .dispatch::<SessionPreInit>(pre_init("a", "b"), ctx)
        .await
        .unwrap();

    assert_eq!(
        seen.entries(),
        ["Some(String(\"override\")) Some(String(\"acme\"))"]
    );
}

#[tokio::test]
async fn each_dispatch_starts_with_fresh_state() {
    let registry = PluginRegistry::new();
    let seen = Log::default();
    register(&registry, state_writer("writer", Sequential, &seen, "k"));

    for _ in 0..2 {
        let _dispatched = dispatch_pre_init(&registry, pre_init("a", "b"))
            .await
            .unwrap();
    }

    assert_eq!(seen.entries(), ["writer saw -", "writer saw -"]);
}

#[tokio::test]
async fn handlers_share_the_operations_extensions() {
    #[derive(Clone, Debug, PartialEq)]
    struct SpanId(u64);
    let registry = PluginRegistry::new();
    register(
        &registry,
        HookFn::new::<SessionPreInit, _>("starts-span", |_, ctx| {
            if let Some(extensions) = ctx.extensions() {
                extensions.insert(SpanId(7));
            }
            Box::pin(async { Ok(HookAction::Continue) })
        }),
    );
    let extensions = Arc::new(mellea::plugin::Extensions::new());

    let _dispatched = registry
        .dispatch::<SessionPreInit>(
            pre_init("a", "b"),
            HookContext::new().with_extensions(extensions.clone()),
        )
        .await
        .unwrap();

    assert_eq!(extensions.get::<SpanId>(), Some(SpanId(7)));
}

// ---------------------------------------------------------------------------------------------
// Plugins written by hand (what `#[mellea::plugin]` generates)

#[tokio::test]
async fn plugin_handlers_take_part_in_dispatch_like_standalone_handlers() {
    let registry = PluginRegistry::new();
    let log = Log::default();
    let mut plugin = LogPlugin::new("audit-plugin", 50, &log);
    plugin.pre_init = vec![(Audit, None)];
    let _registration = registry.register(plugin).unwrap();
    register(&registry, logging("sequential", &log, Sequential));

    let _dispatched = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap();

    assert_eq!(log.entries(), ["sequential", "audit-plugin"]);
}
