// A plugin keeps state across dispatches behind atomics and a mutex, and reads configuration
// fixed at construction; its non-hook methods and constants stay ordinary items.
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use mellea::hooks::{
    GenerationPostCall, GenerationPostCallPayload, GenerationPreCall, GenerationPreCallPatch,
    GenerationPreCallPayload,
};
use mellea::{HookAction, HookContext, HookResult, PluginRegistry};

struct Budget {
    max_tokens: u64,
    calls: AtomicU64,
    latencies: Mutex<Vec<f64>>,
}

#[mellea::plugin(name = "budget", priority = 20)]
impl Budget {
    const OPTION: &'static str = "max_tokens";

    fn new(max_tokens: u64) -> Self {
        Budget {
            max_tokens,
            calls: AtomicU64::new(0),
            latencies: Mutex::new(Vec::new()),
        }
    }

    /// Caps `max_tokens` and counts calls.
    #[hook("generation_pre_call", mode = transform)]
    async fn cap(
        &self,
        payload: &GenerationPreCallPayload,
        _ctx: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut options = payload.model_options.clone();
        options.insert(Self::OPTION.into(), self.max_tokens.into());
        Ok(HookAction::Modify(
            GenerationPreCallPatch::new().with_model_options(options),
        ))
    }

    #[hook("generation_post_call", mode = audit)]
    async fn record(&self, payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
        self.latencies.lock().unwrap().push(payload.latency_ms);
        Ok(HookAction::Continue)
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let registry = PluginRegistry::new();
    let budget = std::sync::Arc::new(Budget::new(256));
    let _registration = registry.register(budget.clone()).unwrap();

    for latency in [12.0, 30.5, 7.0] {
        let dispatched = registry
            .dispatch::<GenerationPreCall>(GenerationPreCallPayload::default(), HookContext::new())
            .await
            .unwrap();
        assert_eq!(dispatched.payload.model_options["max_tokens"], 256);

        let mut post = GenerationPostCallPayload::default();
        post.latency_ms = latency;
        let _ = registry
            .dispatch::<GenerationPostCall>(post, HookContext::new())
            .await
            .unwrap();
    }

    assert_eq!(budget.calls(), 3);
    assert_eq!(*budget.latencies.lock().unwrap(), [12.0, 30.5, 7.0]);
}
