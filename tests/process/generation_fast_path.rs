//! When nobody listens, a `#[backend]` method is the bare method: no generation begins.
//!
//! In the `process` binary, which runs its tests one at a time: nothing else may register plugins
//! meanwhile.

use crate::support::echo_backend;

use echo_backend::Echo;
use futures_util::StreamExt;
use mellea::generation::{BatchGenerationRequest, GenerationRequest, Message, live_generations};
use mellea::hooks::{HookMask, HookType};

#[tokio::test]
async fn with_no_listener_methods_run_their_body_and_begin_no_generation() {
    let _exclusive = crate::support::exclusive();
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

struct Tiny;

impl mellea::generation::BackendIdentity for Tiny {
    fn model_id(&self) -> &str {
        "tiny"
    }
}

impl Tiny {
    async fn bare(&self, request: GenerationRequest) -> Result<String, echo_backend::EchoError> {
        Ok(request.messages.len().to_string())
    }
}

#[mellea::backend(provider = "tiny")]
impl Tiny {
    #[mellea::generation_hook(chat)]
    async fn instrumented(
        &self,
        request: GenerationRequest,
    ) -> Result<String, echo_backend::EchoError> {
        Ok(request.messages.len().to_string())
    }
}

#[test]
fn an_instrumented_future_is_no_larger_than_the_bare_one_plus_a_tag() {
    let _exclusive = crate::support::exclusive();
    // Every caller moves the method's future around, listened to or not: the listened-to
    // path (pre-call dispatch, post-call, spans) lives on the heap, so what remains is the
    // bare body plus at most a discriminant.
    let bare = std::mem::size_of_val(&Tiny.bare(GenerationRequest::default()));
    let instrumented = std::mem::size_of_val(&Tiny.instrumented(GenerationRequest::default()));
    println!("bare {bare} bytes, instrumented {instrumented} bytes");
    assert!(
        instrumented <= bare + 8,
        "instrumented future {instrumented} bytes vs bare {bare} bytes"
    );
}
