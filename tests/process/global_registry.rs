//! The process-wide registry behind the facade functions (`mellea::register`, ...).
//!
//! Tests in this binary run in parallel threads and share the process-wide registry, so each
//! one uses its own hook type and its own handler names; none of them registers on a hook
//! another one checks.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mellea::hooks::{
    HookMask, HookType, SamplingIteration, SamplingRepair, SamplingRepairPayload, StreamingEvent,
    StreamingEventPayload, ValidationPreCheck,
};
use mellea::plugin::{HookAction, HookContext, HookFn};

/// A handler of `H` that counts its calls.
fn counter<H: mellea::hooks::Hook<Patch = mellea::hooks::NoPatch>>(
    name: &str,
) -> (HookFn, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let handler = HookFn::new::<H, _>(name, move |_, _| {
        counted.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(HookAction::Continue) })
    });
    (handler, calls)
}

#[tokio::test]
async fn facade_register_and_unregister_use_the_process_wide_registry() {
    let _exclusive = crate::support::exclusive();
    let (handler, calls) = counter::<SamplingRepair>("global-test.repair-counter");
    assert!(!mellea::has_listeners(HookType::SamplingRepair));

    let registration = mellea::register(handler.clone()).unwrap();
    assert!(mellea::has_listeners(HookType::SamplingRepair));
    assert!(mellea::global().has_listeners(HookType::SamplingRepair));
    let _d = mellea::global()
        .dispatch::<SamplingRepair>(SamplingRepairPayload::default(), HookContext::new())
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(registration.names(), ["global-test.repair-counter"]);

    mellea::unregister(&handler);

    assert!(!mellea::has_listeners(HookType::SamplingRepair));
    let _d = mellea::global()
        .dispatch::<SamplingRepair>(SamplingRepairPayload::default(), HookContext::new())
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn facade_scope_ends_with_its_guard_also_when_unwinding() {
    let _exclusive = crate::support::exclusive();
    let (handler, _calls) = counter::<SamplingIteration>("global-test.iteration-counter");

    let unwound = catch_unwind(AssertUnwindSafe(|| {
        let _scope = mellea::scoped(handler).unwrap();
        assert!(mellea::has_listeners(HookType::SamplingIteration));
        panic!("the scoped block fails");
    }));

    assert!(unwound.is_err());
    assert!(!mellea::has_listeners(HookType::SamplingIteration));
    let names = mellea::global().handler_names();
    assert!(!names.iter().any(|n| n == "global-test.iteration-counter"));
    // The scope ended, so the name is free again.
    let (again, _) = counter::<SamplingIteration>("global-test.iteration-counter");
    drop(mellea::scoped(again).unwrap());
}

#[tokio::test]
async fn facade_session_registration_fires_only_for_its_session_and_leaves_with_it() {
    let _exclusive = crate::support::exclusive();
    let (handler, calls) = counter::<StreamingEvent>("global-test.stream-counter");
    let _registration = mellea::register_for_session("global-test-session", handler).unwrap();
    let dispatch = |ctx: HookContext| {
        mellea::global().dispatch::<StreamingEvent>(StreamingEventPayload::default(), ctx)
    };

    let _d = dispatch(HookContext::new()).await.unwrap();
    let _d = dispatch(HookContext::new().with_session_id("global-test-session"))
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    mellea::unregister_session("global-test-session");

    assert!(!mellea::has_listeners(HookType::StreamingEvent));
    let _d = dispatch(HookContext::new().with_session_id("global-test-session"))
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn has_any_listener_sees_a_handler_of_any_hook_in_the_mask() {
    let _exclusive = crate::support::exclusive();
    let mask = HookMask::EMPTY.with(HookType::ValidationPreCheck);
    assert!(!mellea::has_any_listener(mask));
    let handler = HookFn::new::<ValidationPreCheck, _>("global-test.validation", |_, _| {
        Box::pin(async { Ok(HookAction::Continue) })
    });

    let scope = mellea::scoped(handler).unwrap();
    assert!(mellea::has_any_listener(mask));
    assert!(mellea::has_any_listener(
        mask.with(HookType::SamplingLoopStart)
    ));
    drop(scope);

    assert!(!mellea::has_any_listener(mask));
}
