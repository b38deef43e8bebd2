//! Handler futures (`HandlerFuture`): `#[plugin]` methods, `#[hook]` functions and
//! `HookFn::new_unboxed` closures whose futures are too large to store inline fall back to a
//! box and still run, patch and block; their panics and errors, inline or boxed, are still
//! caught and counted.

use crate::support::plugins::{dispatch_pre_init, pre_init};

use mellea::hooks::{SessionPreInit, SessionPreInitPatch, SessionPreInitPayload};
use mellea::plugin::{
    HANDLER_FUTURE_INLINE_SIZE, HandlerFuture, HookAction, HookContext, HookFn, HookResult,
    PluginRegistry, Violation,
};

/// Bytes a large handler holds across an `.await`: far more than is stored inline.
const HELD: usize = 4096;

/// A buffer held across a yield (the handler returns `Pending` once), then summed, so that it
/// is part of the future's state.
async fn hold_across_await(fill: u8) -> usize {
    let buffer = [fill; HELD];
    tokio::task::yield_now().await;
    std::hint::black_box(&buffer)
        .iter()
        .map(|&b| usize::from(b))
        .sum()
}

struct Hoarder;

#[mellea::plugin(name = "hoarder")]
impl Hoarder {
    #[hook("session_pre_init")]
    async fn handle(
        &self,
        payload: &SessionPreInitPayload,
        _ctx: &HookContext,
    ) -> HookResult<SessionPreInitPatch> {
        let sum = hold_across_await(1).await;
        Ok(HookAction::Modify(
            SessionPreInitPatch::new().with_model_id(format!("{}-{sum}", payload.model_id)),
        ))
    }
}

#[tokio::test]
async fn a_plugin_method_too_large_to_store_inline_is_boxed_and_still_patches() {
    let payload = pre_init("backend", "model");
    let ctx = HookContext::new();
    let size = std::mem::size_of_val(&Hoarder.handle(&payload, &ctx));
    assert!(
        size > HANDLER_FUTURE_INLINE_SIZE,
        "the method's future ({size} bytes) should not fit inline"
    );

    let registry = PluginRegistry::new();
    let _registration = registry.register(Hoarder).unwrap();
    let dispatched = dispatch_pre_init(&registry, payload).await.unwrap();
    assert_eq!(dispatched.payload.model_id, format!("model-{HELD}"));
    assert_eq!(registry.stats().handler_errors, 0);
}

#[mellea::hook("session_pre_init", mode = concurrent)]
async fn large_blocker(
    _payload: &SessionPreInitPayload,
    _ctx: &HookContext,
) -> HookResult<SessionPreInitPatch> {
    let sum = hold_across_await(2).await;
    Ok(HookAction::Block(Violation::new(format!("held {sum}"))))
}

#[tokio::test]
async fn a_hook_function_too_large_to_store_inline_still_blocks() {
    let payload = pre_init("backend", "model");
    let ctx = HookContext::new();
    let size = std::mem::size_of_val(&large_blocker(&payload, &ctx));
    assert!(size > HANDLER_FUTURE_INLINE_SIZE, "{size} bytes");

    let registry = PluginRegistry::new();
    let _registration = registry.register(large_blocker_hook()).unwrap();
    let violation = dispatch_pre_init(&registry, payload).await.unwrap_err();
    assert_eq!(violation.reason, format!("held {}", 2 * HELD));
}

#[mellea::hook("session_pre_init")]
async fn small_panic(
    _payload: &SessionPreInitPayload,
    _ctx: &HookContext,
) -> HookResult<SessionPreInitPatch> {
    panic!("small handler bug")
}

#[mellea::hook("session_pre_init")]
async fn large_panic(
    _payload: &SessionPreInitPayload,
    _ctx: &HookContext,
) -> HookResult<SessionPreInitPatch> {
    if hold_across_await(3).await > 0 {
        panic!("large handler bug");
    }
    Ok(HookAction::Continue)
}

#[mellea::hook("session_pre_init")]
async fn small_error(
    _payload: &SessionPreInitPayload,
    _ctx: &HookContext,
) -> HookResult<SessionPreInitPatch> {
    Err("small handler failed".into())
}

#[mellea::hook("session_pre_init", mode = audit)]
async fn large_error(
    _payload: &SessionPreInitPayload,
    _ctx: &HookContext,
) -> HookResult<SessionPreInitPatch> {
    Err(format!("large handler failed after {}", hold_across_await(4).await).into())
}

#[tokio::test]
async fn panics_and_errors_are_caught_whether_the_future_is_inline_or_boxed() {
    let payload = pre_init("backend", "model");
    let ctx = HookContext::new();
    assert!(std::mem::size_of_val(&small_panic(&payload, &ctx)) <= HANDLER_FUTURE_INLINE_SIZE);
    assert!(std::mem::size_of_val(&small_error(&payload, &ctx)) <= HANDLER_FUTURE_INLINE_SIZE);
    assert!(std::mem::size_of_val(&large_panic(&payload, &ctx)) > HANDLER_FUTURE_INLINE_SIZE);
    assert!(std::mem::size_of_val(&large_error(&payload, &ctx)) > HANDLER_FUTURE_INLINE_SIZE);

    let registry = PluginRegistry::new();
    let _registrations = [
        small_panic_hook(),
        large_panic_hook(),
        small_error_hook(),
        large_error_hook(),
    ]
    .map(|hook| registry.register(hook).unwrap());
    let dispatched = dispatch_pre_init(&registry, payload).await.unwrap();
    assert_eq!(dispatched.payload.model_id, "model");
    let stats = registry.stats();
    assert_eq!(stats.handler_panics, 2, "{stats:?}");
    assert_eq!(stats.handler_errors, 2, "{stats:?}");
}

#[tokio::test]
async fn a_new_unboxed_closure_runs_inline_or_boxed() {
    let registry = PluginRegistry::new();
    let small = HookFn::new_unboxed::<SessionPreInit, _>("small", |payload, _ctx| {
        HandlerFuture::new(async move {
            Ok(HookAction::Modify(
                SessionPreInitPatch::new().with_model_id(format!("{}-small", payload.model_id)),
            ))
        })
    });
    let large = HookFn::new_unboxed::<SessionPreInit, _>("large", |payload, _ctx| {
        HandlerFuture::new(async move {
            let sum = hold_across_await(5).await;
            Ok(HookAction::Modify(
                SessionPreInitPatch::new().with_model_id(format!("{}-{sum}", payload.model_id)),
            ))
        })
    })
    .with_priority(100);
    let _registrations = [small, large].map(|hook| registry.register(hook).unwrap());
    let dispatched = dispatch_pre_init(&registry, pre_init("backend", "model"))
        .await
        .unwrap();
    assert_eq!(
        dispatched.payload.model_id,
        format!("model-small-{}", 5 * HELD)
    );
}
