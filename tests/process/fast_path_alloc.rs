//! The not-listening path allocates nothing: a dispatch site guarded by `has_listeners` costs
//! one atomic load when nobody listens, and builds no payload.
//!
//! This binary installs a counting global allocator; counts are per thread, so the test
//! harness's other threads do not disturb them. Nothing here registers in the process-wide
//! registry. Run it in release too: `cargo test --release --test process fast_path_alloc`.

use crate::support::counting_alloc;

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use counting_alloc::allocations_during;
use mellea::hooks::{
    GenerationPreCall, GenerationPreCallPayload, HookMask, HookType, ModelOptions,
};
use mellea::plugin::{HookAction, HookContext, HookFn, PluginRegistry};

/// A backend method as `#[generation_hook]` will expand it: the payload is built and
/// dispatched only if someone listens.
async fn generate(registry: &PluginRegistry, prompt: &str) -> usize {
    let mut extra_options = 0;
    if registry.has_listeners(HookType::GenerationPreCall) {
        let mut payload = GenerationPreCallPayload::default();
        payload.prompt = Some(prompt.into());
        if let Ok(dispatched) = registry
            .dispatch::<GenerationPreCall>(payload, HookContext::new())
            .await
        {
            extra_options = dispatched.payload.model_options.len();
        }
    }
    prompt.len() + extra_options
}

/// Polls a future that finishes without waiting, on the stack, without a runtime (a runtime
/// would allocate on its own).
fn poll_once<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the call site should finish without waiting"),
    }
}

#[test]
fn guarded_dispatch_site_allocates_nothing_when_nobody_listens() {
    let _exclusive = crate::support::exclusive();
    let registry = mellea::global();
    assert!(!mellea::has_listeners(HookType::GenerationPreCall));
    let prompt = String::from("hello");
    poll_once(generate(registry, &prompt)); // warm up lazily initialised statics

    let (lengths, allocations) = allocations_during(|| {
        (0..1_000)
            .map(|_| poll_once(generate(registry, &prompt)))
            .sum::<usize>()
    });

    assert_eq!(lengths, 5_000);
    assert_eq!(allocations, 0);
}

#[test]
fn listener_checks_allocate_nothing() {
    let _exclusive = crate::support::exclusive();
    let ((), allocations) = allocations_during(|| {
        for _ in 0..1_000 {
            std::hint::black_box(mellea::has_listeners(std::hint::black_box(
                HookType::GenerationPreCall,
            )));
            std::hint::black_box(mellea::has_any_listener(std::hint::black_box(
                HookMask::CHAT_GENERATION,
            )));
        }
    });

    assert_eq!(allocations, 0);
}

#[test]
fn counting_allocator_sees_the_allocations_of_a_listened_dispatch() {
    let _exclusive = crate::support::exclusive();
    // Control: the same site with a listener builds a payload and dispatches, which allocates.
    // If this count were zero, the zero above would prove nothing.
    let registry = PluginRegistry::new();
    let _registration = registry
        .register(HookFn::new::<GenerationPreCall, _>("listener", |_, _| {
            Box::pin(async { Ok(HookAction::Continue) })
        }))
        .unwrap();
    let prompt = String::from("hello");

    let (length, allocations) = allocations_during(|| poll_once(generate(&registry, &prompt)));

    assert_eq!(length, 5 + ModelOptions::new().len());
    assert!(allocations > 0);
}

#[test]
fn polling_a_session_and_finding_its_id_allocate_nothing() {
    let _exclusive = crate::support::exclusive();
    // The session is marked on the `in_session` future for each poll; a generation looks it up
    // at its start. Past the first poll (which captures the context), neither allocates.
    let mut future = pin!(mellea::session::in_session("alloc-session", async {
        let mut found = 0;
        for _ in 0..1_000 {
            futures_util::pending!();
            found += mellea::session::current_session_id().map_or(0, |id| id.len());
        }
        found
    }));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(future.as_mut().poll(&mut cx).is_pending());

    let (found, allocations) = allocations_during(|| {
        loop {
            if let Poll::Ready(found) = future.as_mut().poll(&mut cx) {
                break found;
            }
        }
    });

    assert_eq!(found, 1_000 * "alloc-session".len());
    assert_eq!(allocations, 0);
}
