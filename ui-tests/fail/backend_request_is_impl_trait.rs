use mellea::generation::{BackendIdentity, ChatRequest};
use mellea::PluginViolation;

#[derive(Debug)]
struct Error;
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
    async fn chat(&self, request: impl ChatRequest) -> Result<String, Error> {
        Ok(request.model_options().len().to_string())
    }
}

fn main() {}
