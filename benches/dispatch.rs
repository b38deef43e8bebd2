//! Cost of a hook dispatch site.
//!
//! - `bare_call`: an async backend call with no hook at all (the baseline),
//! - `has_listeners`: the check alone (one relaxed atomic load),
//! - `guarded_site/no_listener`: the same call with a `generation_pre_call` site guarded by
//!   `has_listeners`, when nobody listens (what every backend pays by default),
//! - `dispatch/sequential_handlers/{1,4,16}`: the site when that many no-op SEQUENTIAL
//!   handlers listen (payload built, dispatched, final payload read back).
//!
//! Futures are polled once on the stack with a no-op waker (they never wait), inside an
//! entered tokio runtime so handler timeouts are armed as in production; no executor overhead
//! is measured. Run with `cargo bench --bench dispatch`.

use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mellea::hooks::{GenerationPreCall, GenerationPreCallPayload, HookType};
use mellea::plugin::{HookAction, HookContext, HookFn, PluginRegistry};

/// The backend's own work: stands in for the body of a generation.
async fn backend_body(prompt: &str) -> usize {
    black_box(prompt).len()
}

/// (a) The call without any hook.
async fn bare_call(prompt: &str) -> usize {
    backend_body(prompt).await
}

/// (b): the call with a guarded `generation_pre_call` site on the process-wide registry, as
/// `#[generation_hook]` expands it.
async fn guarded_global_call(prompt: &str) -> usize {
    let mut extra = 0;
    if mellea::has_listeners(HookType::GenerationPreCall) {
        let mut payload = GenerationPreCallPayload::default();
        payload.prompt = Some(prompt.into());
        if let Ok(dispatched) = mellea::global()
            .dispatch::<GenerationPreCall>(payload, HookContext::new())
            .await
        {
            extra = dispatched.payload.model_options.len();
        }
    }
    backend_body(prompt).await + extra
}

/// (c), (d): the same site on a given registry.
async fn guarded_call(registry: &PluginRegistry, prompt: &str) -> usize {
    let mut extra = 0;
    if registry.has_listeners(HookType::GenerationPreCall) {
        let mut payload = GenerationPreCallPayload::default();
        payload.prompt = Some(prompt.into());
        if let Ok(dispatched) = registry
            .dispatch::<GenerationPreCall>(payload, HookContext::new())
            .await
        {
            extra = dispatched.payload.model_options.len();
        }
    }
    backend_body(prompt).await + extra
}

fn poll_once<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("benchmarked calls never wait"),
    }
}

fn registry_with_noop_handlers(count: usize) -> PluginRegistry {
    let registry = PluginRegistry::new();
    for i in 0..count {
        let noop = HookFn::new::<GenerationPreCall, _>(format!("noop-{i}"), |_, _| {
            Box::pin(async { Ok(HookAction::Continue) })
        });
        let _registration = registry.register(noop).expect("distinct names");
    }
    registry
}

fn dispatch_site(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
    let _entered = runtime.enter();
    let prompt = String::from("Write a haiku about Rust");

    c.bench_function("bare_call", |b| {
        b.iter(|| poll_once(bare_call(black_box(&prompt))))
    });

    assert!(!mellea::has_listeners(HookType::GenerationPreCall));
    c.bench_function("has_listeners", |b| {
        b.iter(|| mellea::has_listeners(black_box(HookType::GenerationPreCall)))
    });
    c.bench_function("guarded_site/no_listener", |b| {
        b.iter(|| poll_once(guarded_global_call(black_box(&prompt))))
    });

    let mut group = c.benchmark_group("dispatch/sequential_handlers");
    for count in [1, 4, 16] {
        let registry = registry_with_noop_handlers(count);
        group.bench_with_input(BenchmarkId::from_parameter(count), &registry, |b, r| {
            b.iter(|| poll_once(guarded_call(black_box(r), black_box(&prompt))))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = dispatch_site
}
criterion_main!(benches);
