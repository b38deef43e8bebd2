//! Backends with lifetime and type parameters, generic methods and borrowed requests: the
//! instrumented method's future captures exactly what the `async fn` did.
use mellea::generation::{BackendIdentity, ChatRequest, GenerationRequest};
use mellea::PluginViolation;

#[derive(Debug)]
struct Error;
impl From<PluginViolation> for Error {
    fn from(_: PluginViolation) -> Self {
        Error
    }
}

struct Borrowing<'m, T> {
    model: &'m str,
    extra: T,
}

impl<T> BackendIdentity for Borrowing<'_, T> {
    fn model_id(&self) -> &str {
        self.model
    }
}

#[mellea::backend(provider = "demo")]
impl<'m, T: Clone + Send + Sync> Borrowing<'m, T> {
    #[mellea::generation_hook(chat)]
    async fn by_ref(&self, request: &mut GenerationRequest, note: &str) -> Result<String, Error> {
        Ok(format!("{}{}{}", self.model, request.messages.len(), note))
    }

    #[mellea::generation_hook(chat)]
    async fn generic<R: ChatRequest>(&self, request: R) -> Result<String, Error> {
        let _extra = self.extra.clone();
        Ok(request.model_options().len().to_string())
    }

    #[mellea::generation_hook(chat)]
    async fn explicit<'r>(&'r mut self, request: GenerationRequest) -> Result<Model<'r>, Error>
    where
        'm: 'r,
    {
        let _ = request;
        Ok(Model(self.model))
    }
}

struct Model<'a>(&'a str);

impl mellea::hooks::GenerationOutput for Model<'_> {}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        let model = String::from("m");
        let mut backend = Borrowing { model: &model, extra: 1u8 };
        let mut request = GenerationRequest::default();
        let note = String::from("!");
        assert_eq!(backend.by_ref(&mut request, &note).await.unwrap(), "m0!");
        assert_eq!(backend.generic(GenerationRequest::default()).await.unwrap(), "0");
        assert_eq!(backend.explicit(GenerationRequest::default()).await.unwrap().0, "m");
    });
}
