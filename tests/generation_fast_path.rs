//! When nobody listens, a `#[backend]` method is the bare method: no generation begins.
//!
//! Its own test binary: nothing else may register plugins meanwhile.

mod echo_backend;

use echo_backend::Echo;
use futures_util::StreamExt;
use mellea::generation::{BatchGenerationRequest, GenerationRequest, Message, live_generations};
use mellea::hooks::{HookMask, HookType};

#[tokio::test]
async fn with_no_listener_methods_run_their_body_and_begin_no_generation() {
    assert!(!mellea::has_any_listener(HookMask::CHAT_GENERATION));
    assert!(!mellea::has_any_listener(HookMask::BATCH_GENERATION));
    let echo = Echo::new();
    let reply = echo
        .generate(GenerationRequest::new([Message::user("plain")]))
        .await
        .unwrap();
    assert_eq!(reply.text, "plain");
    let replies = echo
        .generate_batch(BatchGenerationRequest::new(["a"]))
        .await
        .unwrap();
    assert_eq!(replies.len(), 1);
    let chunks: Vec<_> = echo
        .generate_stream(GenerationRequest::default())
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(chunks.len(), 3);
    let failed = echo
        .generate(GenerationRequest::default().with_option("fail", true))
        .await;
    assert!(failed.is_err());
    assert_eq!(echo.calls(), 4);
    assert_eq!(live_generations(), 0);
    assert!(!mellea::has_listeners(HookType::GenerationError));
}

#[test]
fn print_future_sizes() {
    let echo = Echo::new();
    println!(
        "generation future: {}",
        std::mem::size_of_val(&echo.generate(GenerationRequest::default()))
    );
    println!("request: {}", std::mem::size_of::<GenerationRequest>());
    println!(
        "option generation: {}",
        std::mem::size_of::<Option<mellea::generation::Generation>>()
    );
}
