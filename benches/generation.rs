//! Cost of a generation when nobody listens: a `#[backend]` method against the same method
//! without the attribute. Both bodies return at once; the futures are polled to completion
//! by hand (no runtime), so the figures are the instrumentation's own cost.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use mellea::PluginViolation;
use mellea::generation::{BackendIdentity, GenerationRequest};

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

impl Instant {
    async fn bare(&self, request: GenerationRequest) -> Result<String, BenchError> {
        Ok(if request.tool_calls { "tools" } else { "ok" }.to_owned())
    }
}

#[mellea::backend(provider = "bench")]
impl Instant {
    #[mellea::generation_hook(chat)]
    async fn instrumented(&self, request: GenerationRequest) -> Result<String, BenchError> {
        Ok(if request.tool_calls { "tools" } else { "ok" }.to_owned())
    }
}

fn complete<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

fn no_listener(c: &mut Criterion) {
    assert!(!mellea::has_any_listener(
        mellea::hooks::HookMask::CHAT_GENERATION
    ));
    let backend = Instant;
    let mut group = c.benchmark_group("generation_no_listener");
    group.bench_function("a_bare_method", |b| {
        b.iter(|| complete(backend.bare(black_box(GenerationRequest::default()))))
    });
    group.bench_function("b_backend_attribute", |b| {
        b.iter(|| complete(backend.instrumented(black_box(GenerationRequest::default()))))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = no_listener
}
criterion_main!(benches);
