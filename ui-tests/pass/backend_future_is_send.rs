//! An instrumented generation future is `Send` when its body is: it can be spawned on a
//! multi-thread runtime, for every path kind.
use mellea::generation::{BackendIdentity, BatchGenerationRequest, ChunkStream, GenerationRequest};
use mellea::PluginViolation;

#[derive(Debug)]
struct Error;
impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("error")
    }
}
impl std::error::Error for Error {}
impl From<PluginViolation> for Error {
    fn from(_: PluginViolation) -> Self {
        Error
    }
}

struct Backend;
impl BackendIdentity for Backend {
    fn model_id(&self) -> &str {
        "m"
    }
}

#[mellea::backend(provider = "demo")]
impl Backend {
    #[mellea::generation_hook(chat)]
    async fn chat(&self, request: GenerationRequest) -> Result<String, Error> {
        tokio::task::yield_now().await;
        Ok(format!("{}", request.messages.len()))
    }

    #[mellea::generation_hook(batch)]
    async fn batch(&self, request: BatchGenerationRequest) -> Result<Vec<String>, Error> {
        Ok(request.prompts)
    }

    #[mellea::generation_hook(stream)]
    async fn stream(&self, _request: GenerationRequest) -> Result<ChunkStream<'static, String, Error>, Error> {
        Ok(Box::pin(futures_util::stream::empty()))
    }
}

fn require_send<T: Send>(_: &T) {}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let backend = std::sync::Arc::new(Backend);
        let b = backend.clone();
        let chat = async move { b.chat(GenerationRequest::default()).await };
        require_send(&chat);
        tokio::spawn(chat).await.unwrap().unwrap();
        let b = backend.clone();
        tokio::spawn(async move { b.batch(BatchGenerationRequest::new(["x"])).await })
            .await
            .unwrap()
            .unwrap();
        let b = backend.clone();
        tokio::spawn(async move { b.stream(GenerationRequest::default()).await.map(|_| ()) })
            .await
            .unwrap()
            .unwrap();
    });
}
