use mellea::generation::BackendIdentity;
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
    async fn chat(&self, request: String) -> Result<String, Error> {
        Ok(request)
    }
}

fn main() {}
