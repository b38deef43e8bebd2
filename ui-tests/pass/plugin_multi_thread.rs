// Macro-written plugins and handlers used from a multi-threaded tokio runtime: dispatches run
// concurrently on worker threads, handler futures are `Send` (they hold a tokio mutex guard
// across `.await`), and the plugin's state sees every call.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mellea::hooks::{
    GenerationPostCall, GenerationPostCallPayload, GenerationPreCall, GenerationPreCallPatch,
    GenerationPreCallPayload,
};
use mellea::{HookAction, HookContext, HookResult, PluginRegistry};

#[derive(Default)]
struct Tally {
    pre: AtomicU64,
    models: tokio::sync::Mutex<Vec<String>>,
}

#[mellea::plugin(name = "tally")]
impl Tally {
    #[hook("generation_pre_call", mode = concurrent)]
    async fn count(
        &self,
        _payload: &GenerationPreCallPayload,
        _ctx: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        tokio::task::yield_now().await;
        self.pre.fetch_add(1, Ordering::Relaxed);
        Ok(HookAction::Continue)
    }

    #[hook("generation_post_call")]
    async fn remember(
        &self,
        payload: &GenerationPostCallPayload,
        _ctx: &HookContext,
    ) -> HookResult {
        let mut models = self.models.lock().await;
        tokio::task::yield_now().await;
        models.push(format!("task-{}", payload.latency_ms));
        Ok(HookAction::Continue)
    }
}

static FREE_CALLS: AtomicU64 = AtomicU64::new(0);

#[mellea::hook("generation_pre_call", mode = audit)]
async fn count_free(
    _payload: &GenerationPreCallPayload,
    _ctx: &HookContext,
) -> HookResult<GenerationPreCallPatch> {
    tokio::task::yield_now().await;
    FREE_CALLS.fetch_add(1, Ordering::Relaxed);
    Ok(HookAction::Continue)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let registry = Arc::new(PluginRegistry::new());
    let tally = Arc::new(Tally::default());
    let _plugin = registry.register(tally.clone()).unwrap();
    let _free = registry.register(count_free_hook()).unwrap();

    let tasks: Vec<_> = (0..16)
        .map(|task| {
            let registry = registry.clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    let _ = registry
                        .dispatch::<GenerationPreCall>(
                            GenerationPreCallPayload::default(),
                            HookContext::new(),
                        )
                        .await
                        .unwrap();
                    let mut post = GenerationPostCallPayload::default();
                    // The task's number, carried in a field the handler reads back.
                    post.latency_ms = task as f64;
                    let _ = registry
                        .dispatch::<GenerationPostCall>(post, HookContext::new())
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }

    assert_eq!(tally.pre.load(Ordering::Relaxed), 400);
    assert_eq!(FREE_CALLS.load(Ordering::Relaxed), 400);
    let models = tally.models.lock().await;
    assert_eq!(models.len(), 400);
    for task in 0..16 {
        let name = format!("task-{task}");
        assert_eq!(models.iter().filter(|m| **m == name).count(), 25);
    }
}
