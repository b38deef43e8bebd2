use mellea::generation::GenerationRequest;
use mellea::PluginViolation;

#[derive(Debug)]
struct Error;
impl From<PluginViolation> for Error {
    fn from(_: PluginViolation) -> Self {
        Error
    }
}

struct Anonymous;

#[mellea::backend(provider = "demo")]
impl Anonymous {
    #[mellea::generation_hook(chat)]
    async fn chat(&self, _request: GenerationRequest) -> Result<String, Error> {
        Ok(String::new())
    }
}

fn main() {}
