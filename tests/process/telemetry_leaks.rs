//! Per-call tracing state cannot leak: after hundreds of generations that succeed, fail, panic,
//! time out, or are dropped mid-stream, no generation is live, the plugin holds no open span,
//! and every generation's span was exported exactly once with the right outcome.
//!
//! In the `process` binary, which runs its tests one at a time: `live_generations()` counts the
//! whole process.

use crate::support::echo_backend;
use crate::support::telemetry as telemetry_support;

use std::collections::HashSet;
use std::time::Duration;

use echo_backend::Echo;
use futures_util::StreamExt as _;
use mellea::generation::{BatchGenerationRequest, GenerationRequest, Message, live_generations};
use mellea::session::in_session;
use telemetry_support::*;

const SESSION: &str = "leaks";

async fn one_generation(kind: usize) {
    let echo = Echo::new();
    let hello = GenerationRequest::new([Message::user("hello")]);
    match kind {
        0 => {
            in_session(SESSION, echo.generate(hello)).await.unwrap();
        }
        1 => {
            let failed = in_session(SESSION, echo.generate(hello.with_option("fail", true))).await;
            assert!(failed.is_err());
        }
        2 => {
            let panicked = tokio::spawn(in_session(SESSION, async move {
                echo.generate(hello.with_option("panic", true)).await
            }))
            .await;
            assert!(panicked.unwrap_err().is_panic());
        }
        3 => {
            let timed_out = tokio::time::timeout(
                Duration::from_millis(1),
                in_session(SESSION, echo.generate(hello.with_option("hang", true))),
            )
            .await;
            assert!(timed_out.is_err());
        }
        4 => {
            let mut stream = in_session(
                SESSION,
                echo.generate_stream(hello.with_option("chunks", 4)),
            )
            .await
            .unwrap();
            in_session(SESSION, stream.next()).await.unwrap().unwrap();
            drop(stream);
        }
        5 => {
            let stream = in_session(
                SESSION,
                echo.generate_stream(hello.with_option("chunks", 4).with_option("fail_at", 2)),
            )
            .await
            .unwrap();
            let items: Vec<_> = in_session(SESSION, stream.collect::<Vec<_>>()).await;
            assert!(items.last().unwrap().is_err());
        }
        _ => {
            let failed = in_session(
                SESSION,
                Watsonx {
                    model: "granite".into(),
                }
                .generate_batch(BatchGenerationRequest::new(["x"]).with_option("fail", true)),
            )
            .await;
            assert!(failed.is_err());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_failed_cancelled_and_panicking_generations_leave_no_state_behind() {
    let _exclusive = crate::support::exclusive();
    let traced = Traced::new(SESSION);
    const ROUNDS: usize = 60;
    const KINDS: usize = 7;
    for _ in 0..ROUNDS {
        let tasks: Vec<_> = (0..KINDS)
            .map(|kind| tokio::spawn(one_generation(kind)))
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    }

    // Ends fired from a destructor may finish on the runtime a moment later.
    for _ in 0..500 {
        if live_generations() == 0 && traced.plugin().open_spans() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(live_generations(), 0, "a generation never ended");
    assert_eq!(traced.plugin().open_spans(), 0, "a span was never ended");

    let spans = traced.spans();
    assert_eq!(spans.len(), ROUNDS * KINDS, "one span per generation");
    let ids: HashSet<_> = spans.iter().map(|s| s.span_context.span_id()).collect();
    assert_eq!(ids.len(), spans.len(), "each span exported once");
    let count = |error_type: &str| {
        spans
            .iter()
            .filter(|s| str_attr(s, "error.type") == Some(error_type))
            .count()
    };
    assert_eq!(spans.iter().filter(|s| !is_error(s)).count(), ROUNDS);
    assert_eq!(
        count("EchoError"),
        ROUNDS * 2,
        "failed call and failed stream"
    );
    assert_eq!(count("panic"), ROUNDS);
    assert_eq!(
        count("cancelled"),
        ROUNDS * 2,
        "timed out and dropped stream"
    );
    assert_eq!(count("ModelError"), ROUNDS, "failed batch");
}
