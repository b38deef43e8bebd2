// `crate` is set once for a backend impl, on `#[backend]`, not per method.
use mellea::generation::{BackendIdentity, GenerationRequest};
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
    #[mellea::generation_hook(chat, crate = ::mellea)]
    async fn chat(&self, _request: GenerationRequest) -> Result<String, Error> {
        Ok(String::new())
    }
}

fn main() {}
