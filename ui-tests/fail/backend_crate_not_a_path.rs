// `crate` takes a path (or a string holding one): anything else is an error at the value.
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

#[mellea::backend(provider = "demo", crate = 1)]
impl Backend {
    #[mellea::generation_hook(chat)]
    async fn chat(&self, _request: GenerationRequest) -> Result<String, Error> {
        Ok(String::new())
    }
}

fn main() {}
