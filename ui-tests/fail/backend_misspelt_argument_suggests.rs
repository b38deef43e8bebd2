// A misspelt argument is one error, with the key it most likely means; the provider it
// names is not also reported missing.
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

#[mellea::backend(provder = "demo")]
impl Backend {
    #[mellea::generation_hook(chat)]
    async fn chat(&self, _request: GenerationRequest) -> Result<String, Error> {
        Ok(String::new())
    }
}

fn main() {}
