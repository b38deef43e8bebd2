//! 1,000 generations in flight at once on a multi-thread runtime, a random third of them
//! cancelled (aborted or timed out) at random points: each begun generation fires exactly one
//! terminal hook, and no generation stays live afterwards.
//!
//! In the `process` binary, which runs its tests one at a time: it checks the process-wide count of
//! live generations.

use crate::support::echo_backend;

use std::sync::Arc;
use std::time::Duration;

use echo_backend::{Echo, Fired, Recorder, assert_each_ended_once, record_session};
use mellea::generation::{GenerationRequest, Message, live_generations};
use mellea::session::in_session;

/// A small deterministic pseudo-random sequence (xorshift), so a failure can be replayed.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_generations_with_random_cancellation_each_end_exactly_once() {
    let _exclusive = crate::support::exclusive();
    let (recorder, registration) = record_session("swarm", Recorder::named("swarm"));
    let echo = Arc::new(Echo::new());
    let mut random = Xorshift(0x9E37_79B9_7F4A_7C15);
    let mut tasks = Vec::new();
    let mut aborted = 0;
    for i in 0..1000u64 {
        let echo = echo.clone();
        let sleep_ms = random.next() % 20;
        let mut request = GenerationRequest::new([Message::user(format!("n{i}"))])
            .with_option("sleep_ms", sleep_ms);
        if random.next().is_multiple_of(10) {
            request = request.with_option("fail", true);
        }
        let timeout_ms = random.next().is_multiple_of(6).then(|| random.next() % 20);
        let task = tokio::spawn(in_session("swarm", async move {
            match timeout_ms {
                Some(ms) => tokio::time::timeout(Duration::from_millis(ms), echo.generate(request))
                    .await
                    .ok(),
                None => Some(echo.generate(request).await),
            }
        }));
        if random.next().is_multiple_of(6) {
            tokio::time::sleep(Duration::from_micros(random.next() % 500)).await;
            task.abort();
            aborted += 1;
        }
        tasks.push(task);
    }
    let mut completed = 0;
    for task in tasks {
        if let Ok(Some(_)) = task.await {
            completed += 1;
        }
    }
    // Cancelled generations may finish their error hook on the runtime after the drop.
    for _ in 0..1000 {
        if live_generations() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(live_generations(), 0, "no generation may stay live");
    let fired = recorder.fired();
    let generations = assert_each_ended_once(&fired);
    let terminals = fired.iter().filter(|f| f.is_terminal()).count();
    let cancelled = fired
        .iter()
        .filter(|f| matches!(f, Fired::Error { error, .. } if error.error_type == "cancelled"))
        .count();
    assert_eq!(terminals, generations);
    assert!(
        generations >= completed,
        "{generations} generations, {completed} completed"
    );
    assert!(
        cancelled > 0 && aborted > 0,
        "the run must cancel some generations"
    );
    mellea::unregister(&registration);
}
