//! How the plugin registry scales with the number of handlers and sessions.
//!
//! - `registry_scale/register/20000_global_one_hook`: 20,000 standalone handlers registered
//!   one call at a time on one hook, into a fresh registry (the worst case: one hook's table
//!   grows to 20,000);
//! - `registry_scale/register/20000_sessions`: 20,000 handlers, each in its own session (a
//!   server that registers a plugin per user session);
//! - `registry_scale/unregister/20000_global_one_hook`: removing those 20,000 one at a time;
//! - `other_sessions/generation/{0,2000}`: one generation of session `me`, with one global
//!   no-op plugin listening, while 0 or 2,000 other sessions each hold a handler on the same
//!   hooks (target: within 10 % of each other).
//!
//! Run with `cargo bench --bench registry`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use mellea::PluginViolation;
use mellea::generation::{BackendIdentity, GenerationRequest, Message};
use mellea::hooks::{
    GenerationPostCall, GenerationPostCallPayload, GenerationPreCall, GenerationPreCallPatch,
    GenerationPreCallPayload, SessionPreInit,
};
use mellea::plugin::{HookAction, HookFn, PluginRegistry, Registration};
use mellea::session::in_session;
use mellea::{HookContext, HookResult};

const HANDLERS: usize = 20_000;
const OTHER_SESSIONS: usize = 2_000;

fn noop_handlers(count: usize) -> Vec<HookFn> {
    (0..count)
        .map(|i| {
            HookFn::new::<SessionPreInit, _>(format!("noop-{i}"), |_, _| {
                Box::pin(async { Ok(HookAction::Continue) })
            })
            .with_priority((i % 100) as i32)
        })
        .collect()
}

fn register_scale(c: &mut Criterion) {
    let mut group = c.benchmark_group("registry_scale");
    group.sample_size(10);
    group.bench_function("register/20000_global_one_hook", |b| {
        b.iter_batched(
            || (PluginRegistry::new(), noop_handlers(HANDLERS)),
            |(registry, handlers)| {
                for handler in handlers {
                    let _ = black_box(registry.register(handler).unwrap());
                }
                registry
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("register/20000_sessions", |b| {
        b.iter_batched(
            || (PluginRegistry::new(), noop_handlers(HANDLERS)),
            |(registry, handlers)| {
                for (i, handler) in handlers.into_iter().enumerate() {
                    let _ = black_box(
                        registry
                            .register_for_session(format!("session-{i}"), handler)
                            .unwrap(),
                    );
                }
                registry
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("unregister/20000_global_one_hook", |b| {
        b.iter_batched(
            || {
                let registry = PluginRegistry::new();
                let registrations: Vec<Registration> = noop_handlers(HANDLERS)
                    .into_iter()
                    .map(|handler| registry.register(handler).unwrap())
                    .collect();
                (registry, registrations)
            },
            |(registry, registrations)| {
                for registration in &registrations {
                    registry.unregister(registration);
                }
                registry
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

#[derive(Debug)]
struct BenchError;

impl From<PluginViolation> for BenchError {
    fn from(_: PluginViolation) -> Self {
        BenchError
    }
}

struct Instant;

impl BackendIdentity for Instant {
    fn model_id(&self) -> &str {
        "bench-model"
    }
}

#[mellea::backend(provider = "bench")]
impl Instant {
    #[mellea::generation_hook(chat)]
    async fn generate(&self, request: GenerationRequest) -> Result<Reply, BenchError> {
        Ok(Reply(request.messages.len()))
    }
}

#[derive(Debug)]
struct Reply(#[allow(dead_code)] usize);

impl mellea::hooks::GenerationOutput for Reply {}

/// The global plugin listening in both cases, so both take the listened-to path.
struct NoOp;

#[mellea::plugin(name = "bench_registry_noop")]
impl NoOp {
    #[hook("generation_pre_call")]
    async fn pre(
        &self,
        _p: &GenerationPreCallPayload,
        _c: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        Ok(HookAction::Continue)
    }

    #[hook("generation_post_call")]
    async fn post(&self, _p: &GenerationPostCallPayload, _c: &HookContext) -> HookResult {
        Ok(HookAction::Continue)
    }
}

/// Registers a pre- and a post-call handler for each of `count` other sessions.
fn other_sessions(count: usize) -> Vec<Registration> {
    (0..count)
        .flat_map(|i| {
            let session = format!("other-{i}");
            let pre = HookFn::new::<GenerationPreCall, _>(format!("{session}.pre"), |_, _| {
                Box::pin(async { Ok(HookAction::Continue) })
            });
            let post = HookFn::new::<GenerationPostCall, _>(format!("{session}.post"), |_, _| {
                Box::pin(async { Ok(HookAction::Continue) })
            });
            [
                mellea::register_for_session(&session, pre).unwrap(),
                mellea::register_for_session(&session, post).unwrap(),
            ]
        })
        .collect()
}

fn generation_with_other_sessions(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let backend = Instant;
    let _noop = mellea::scoped(NoOp).unwrap();
    let mut group = c.benchmark_group("other_sessions");
    for count in [0, OTHER_SESSIONS] {
        let registrations = other_sessions(count);
        group.bench_with_input(BenchmarkId::new("generation", count), &count, |b, _| {
            b.to_async(&runtime).iter(|| {
                in_session(
                    "me",
                    backend.generate(black_box(GenerationRequest::new([Message::user("hi")]))),
                )
            })
        });
        for registration in &registrations {
            mellea::unregister(registration);
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = register_scale, generation_with_other_sessions
}
criterion_main!(benches);
