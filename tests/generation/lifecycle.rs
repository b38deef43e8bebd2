//! Every begun generation ends exactly once: when its future is dropped mid-call, times out,
//! panics, and when a streamed answer ends, fails or is dropped early.

use crate::support::echo_backend;

use std::time::Duration;

use echo_backend::{Echo, Fired, Recorder, assert_each_ended_once, record_session};
use futures_util::StreamExt;
use mellea::generation::{GenerationRequest, Message};
use mellea::session::in_session;

fn hello() -> GenerationRequest {
    GenerationRequest::new([Message::user("hello world")])
}

fn the_error(fired: &[Fired]) -> &mellea::hooks::ErrorInfo {
    fired
        .iter()
        .find_map(|f| match f {
            Fired::Error { error, .. } => Some(error),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no error hook fired: {fired:?}"))
}

#[tokio::test]
async fn dropping_the_future_mid_call_fires_error_cancelled_once() {
    let (recorder, registration) = record_session("drop-mid", Recorder::named("drop-mid"));
    let echo = Echo::new();
    let mut generation = Box::pin(in_session(
        "drop-mid",
        echo.generate(hello().with_option("sleep_ms", 60_000)),
    ));
    // Poll until the body is running (pre-call done, sleeping), then walk away.
    assert!(futures_util::poll!(generation.as_mut()).is_pending());
    assert_eq!(echo.calls(), 1);
    drop(generation);
    let fired = recorder.fired();
    assert_each_ended_once(&fired);
    assert_eq!(the_error(&fired).error_type, "cancelled");
    mellea::unregister(&registration);
}

#[tokio::test(start_paused = true)]
async fn a_tokio_timeout_cancels_the_generation_and_ends_it_as_cancelled() {
    let (recorder, registration) = record_session("timeout", Recorder::named("timeout"));
    let echo = Echo::new();
    let slow = in_session(
        "timeout",
        echo.generate(hello().with_option("sleep_ms", 10_000)),
    );
    let outcome = tokio::time::timeout(Duration::from_millis(100), slow).await;
    assert!(outcome.is_err(), "the generation should have timed out");
    let fired = recorder.fired();
    assert_each_ended_once(&fired);
    assert_eq!(the_error(&fired).error_type, "cancelled");
    assert!(!fired.iter().any(|f| matches!(f, Fired::Post { .. })));
    mellea::unregister(&registration);
}

#[tokio::test]
async fn a_panicking_body_fires_error_panic_once_and_the_panic_resumes() {
    let (recorder, registration) = record_session("panic", Recorder::named("panic"));
    let joined = tokio::spawn(in_session("panic", async {
        Echo::new()
            .generate(hello().with_option("panic", true))
            .await
    }))
    .await;
    let panic = joined
        .expect_err("the panic must reach the caller")
        .into_panic();
    assert_eq!(
        panic.downcast_ref::<&str>(),
        Some(&"echo body panicked on purpose")
    );
    let fired = recorder.fired();
    assert_each_ended_once(&fired);
    let error = the_error(&fired);
    assert_eq!(error.error_type, "panic");
    assert_eq!(error.message, "echo body panicked on purpose");
    mellea::unregister(&registration);
}

#[tokio::test]
async fn an_aborted_task_ends_its_generation_as_cancelled() {
    let (recorder, registration) = record_session("abort", Recorder::named("abort"));
    let task = tokio::spawn(in_session("abort", async {
        Echo::new()
            .generate(hello().with_option("sleep_ms", 60_000))
            .await
    }));
    while recorder.fired().is_empty() {
        tokio::task::yield_now().await;
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let fired = recorder.fired();
    assert_each_ended_once(&fired);
    assert_eq!(the_error(&fired).error_type, "cancelled");
    mellea::unregister(&registration);
}

#[tokio::test]
async fn a_consumed_stream_fires_post_call_after_the_last_chunk_with_time_to_first_chunk() {
    let (recorder, registration) = record_session("stream-ok", Recorder::named("stream-ok"));
    let chunks: Vec<String> = in_session("stream-ok", async {
        let stream = Echo::new().generate_stream(hello()).await.unwrap();
        assert!(
            !recorder.fired().iter().any(Fired::is_terminal),
            "the generation lasts as long as its stream"
        );
        stream.map(Result::unwrap).collect().await
    })
    .await;
    assert_eq!(chunks, ["c0 ", "c1 ", "c2 "]);
    let fired = recorder.fired();
    assert_each_ended_once(&fired);
    assert!(
        matches!(&fired[0], Fired::Pre { stream: true, .. }),
        "{fired:?}"
    );
    let Some(Fired::Post { text, ttfc, .. }) = fired.last() else {
        panic!("{fired:?}")
    };
    assert_eq!(text.as_deref(), Some("c0 c1 c2 "));
    assert!(ttfc.is_some(), "time to first chunk is recorded");
    mellea::unregister(&registration);
}

#[tokio::test]
async fn a_stream_dropped_after_one_chunk_ends_as_cancelled_with_the_partial_output() {
    let (recorder, registration) = record_session("stream-drop", Recorder::named("stream-drop"));
    in_session("stream-drop", async {
        let mut stream = Echo::new().generate_stream(hello()).await.unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap(), "c0 ");
        drop(stream);
    })
    .await;
    let fired = recorder.fired();
    assert_each_ended_once(&fired);
    let Some(Fired::Error {
        error,
        partial_text,
        ..
    }) = fired.last()
    else {
        panic!("{fired:?}")
    };
    assert_eq!(error.error_type, "cancelled");
    assert_eq!(partial_text.as_deref(), Some("c0 "));
    mellea::unregister(&registration);
}

#[tokio::test]
async fn a_stream_error_mid_way_fires_the_error_hook_once_then_the_stream_ends() {
    let (recorder, registration) = record_session("stream-err", Recorder::named("stream-err"));
    let items: Vec<Result<String, String>> = in_session("stream-err", async {
        let request = hello().with_option("chunks", 4).with_option("fail_at", 1);
        let stream = Echo::new().generate_stream(request).await.unwrap();
        stream
            .map(|item| item.map_err(|e| e.to_string()))
            .collect()
            .await
    })
    .await;
    assert_eq!(
        items,
        [
            Ok("c0 ".to_owned()),
            Err("echo failed: stream cut at chunk 1".to_owned())
        ],
        "the stream ends after its first error"
    );
    let fired = recorder.fired();
    assert_each_ended_once(&fired);
    let error = the_error(&fired);
    assert_eq!(error.error_type, "EchoError");
    mellea::unregister(&registration);
}

#[tokio::test]
async fn a_stream_never_polled_and_dropped_still_ends_once() {
    let (recorder, registration) =
        record_session("stream-unread", Recorder::named("stream-unread"));
    in_session("stream-unread", async {
        let _stream = Echo::new().generate_stream(hello()).await.unwrap();
    })
    .await;
    let fired = recorder.fired();
    assert_each_ended_once(&fired);
    assert_eq!(the_error(&fired).error_type, "cancelled");
    mellea::unregister(&registration);
}

#[test]
fn a_generation_dropped_outside_any_runtime_still_ends_once() {
    let (recorder, registration) = record_session("no-runtime", Recorder::named("no-runtime"));
    let echo = Echo::new();
    let mut generation = Box::pin(in_session(
        "no-runtime",
        echo.generate(hello().with_option("hang", true)),
    ));
    // Poll once by hand with no runtime: pre-call runs and the body starts waiting forever.
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    assert!(generation.as_mut().poll(&mut cx).is_pending());
    assert_eq!(echo.calls(), 1);
    drop(generation);
    let fired = recorder.fired();
    assert_each_ended_once(&fired);
    mellea::unregister(&registration);
}
