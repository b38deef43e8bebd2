//! The method shapes `#[backend]` supports: trait impls with native `async fn`, every receiver
//! kind, a request taken by `&mut`, generic backends, `Result` aliases — and the OTel context
//! the body runs under.

use crate::support::echo_backend;

use std::sync::Arc;

use echo_backend::{EchoError, Fired, Recorder, assert_each_ended_once, record_session};
use mellea::generation::{BackendIdentity, GenerationRequest, Message};
use mellea::hooks::{
    GenerationPreCall, GenerationPreCallPatch, GenerationPreCallPayload, ModelOptions,
};
use mellea::plugin::{BoxFuture, HookAction, HookContext, HookFn, HookResult};
use mellea::session::in_session;
use opentelemetry::Context;

fn hello() -> GenerationRequest {
    GenerationRequest::new([Message::user("hi")])
}

trait ChatBackend {
    async fn chat(&self, request: GenerationRequest) -> Result<String, EchoError>;
}

struct Tiny<T> {
    model: T,
}

impl<T: AsRef<str>> BackendIdentity for Tiny<T> {
    fn model_id(&self) -> &str {
        self.model.as_ref()
    }
}

type TinyResult<T> = Result<T, EchoError>;

#[mellea::backend(provider = "tiny", remote = false)]
impl<T: AsRef<str> + Send + Sync> ChatBackend for Tiny<T> {
    #[mellea::generation_hook(chat)]
    async fn chat(&self, request: GenerationRequest) -> Result<String, EchoError> {
        Ok(format!(
            "{}:{}",
            self.model.as_ref(),
            request.messages.len()
        ))
    }
}

#[mellea::backend(provider = "tiny")]
impl<T: AsRef<str> + Send + Sync> Tiny<T> {
    #[mellea::generation_hook(chat)]
    async fn by_mut_self(&mut self, mut request: GenerationRequest) -> TinyResult<String> {
        request.messages.push(Message::assistant("ok"));
        Ok(request.messages.len().to_string())
    }

    #[mellea::generation_hook(chat)]
    async fn by_arc(self: Arc<Self>, request: &mut GenerationRequest) -> TinyResult<String> {
        Ok(request
            .model_options
            .get("temperature")
            .map(|t| t.to_string())
            .unwrap_or_default())
    }

    #[mellea::generation_hook(chat)]
    async fn early_return(&self, request: GenerationRequest) -> TinyResult<String> {
        if request.messages.is_empty() {
            return Err(EchoError::Failed("empty".into()));
        }
        let n: u32 = "7".parse().map_err(|_| EchoError::Failed("parse".into()))?;
        Ok(n.to_string())
    }

    #[mellea::generation_hook(chat)]
    async fn reads_context(&self, _request: GenerationRequest) -> TinyResult<String> {
        Ok(Context::current()
            .get::<Marker>()
            .map(|m| m.0.to_owned())
            .unwrap_or_default())
    }
}

#[derive(Debug)]
struct Marker(&'static str);

/// A pre-call handler that extends the generation's body context with a marker.
fn extend_context<'a>(
    _: &'a GenerationPreCallPayload,
    ctx: &'a HookContext,
) -> BoxFuture<'a, HookResult<GenerationPreCallPatch>> {
    if let Some(generation) = ctx.generation() {
        let parent = generation.body_context();
        generation.set_body_context(parent.with_value(Marker("from-plugin")));
    }
    Box::pin(async { Ok(HookAction::Continue) })
}

#[tokio::test]
async fn a_trait_impl_with_native_async_fn_fires_its_hooks() {
    let (recorder, registration) = record_session("shape-trait", Recorder::named("shape-trait"));
    let backend = Tiny { model: "m1" };
    let out = in_session("shape-trait", backend.chat(hello()))
        .await
        .unwrap();
    assert_eq!(out, "m1:1");
    let fired = recorder.fired();
    assert_eq!(assert_each_ended_once(&fired), 1);
    assert!(matches!(&fired[0], Fired::Pre { provider: Some(p), .. } if p == "tiny"));
    mellea::unregister(&registration);
}

#[tokio::test]
async fn mut_self_arc_self_and_mut_request_receivers_work_and_see_patches() {
    let mut options = ModelOptions::new();
    options.insert("temperature".into(), 0.5.into());
    let mut recorder = Recorder::named("shape-receivers");
    recorder.patch = Some(GenerationPreCallPatch::new().with_model_options(options));
    let (recorder, registration) = record_session("shape-receivers", recorder);
    in_session("shape-receivers", async {
        let mut backend = Tiny {
            model: String::from("m2"),
        };
        assert_eq!(backend.by_mut_self(hello()).await.unwrap(), "2");
        let mut request = hello();
        let shared = Arc::new(backend);
        assert_eq!(shared.by_arc(&mut request).await.unwrap(), "0.5");
        assert_eq!(
            request.model_options["temperature"], 0.5,
            "the caller's request was patched"
        );
    })
    .await;
    assert_eq!(assert_each_ended_once(&recorder.fired()), 2);
    mellea::unregister(&registration);
}

#[tokio::test]
async fn return_and_question_mark_in_the_body_behave_as_in_a_plain_method() {
    let (recorder, registration) = record_session("shape-return", Recorder::named("shape-return"));
    in_session("shape-return", async {
        let backend = Tiny { model: "m3" };
        assert_eq!(backend.early_return(hello()).await.unwrap(), "7");
        assert!(
            backend
                .early_return(GenerationRequest::default())
                .await
                .is_err()
        );
    })
    .await;
    let fired = recorder.fired();
    assert_eq!(assert_each_ended_once(&fired), 2);
    assert_eq!(
        fired
            .iter()
            .filter(|f| matches!(f, Fired::Error { .. }))
            .count(),
        1
    );
    mellea::unregister(&registration);
}

#[tokio::test]
async fn the_body_runs_under_the_context_a_pre_call_plugin_put_in_the_generation() {
    let extender = HookFn::new::<GenerationPreCall, _>("shape-context-extender", extend_context);
    let registration = mellea::register_for_session("shape-context", extender).unwrap();
    let backend = Tiny { model: "m4" };
    let seen = in_session("shape-context", backend.reads_context(hello()))
        .await
        .unwrap();
    assert_eq!(seen, "from-plugin");
    let outside = in_session("shape-context-other", backend.reads_context(hello()))
        .await
        .unwrap();
    assert_eq!(
        outside, "",
        "without the plugin the body runs under the caller's context"
    );
    mellea::unregister(&registration);
}

#[tokio::test]
async fn the_body_sees_the_callers_context() {
    let (_recorder, registration) = record_session("shape-caller", Recorder::named("shape-caller"));
    let backend = Tiny { model: "m5" };
    let cx = Context::current().with_value(Marker("from-caller"));
    let seen = opentelemetry::context::FutureExt::with_context(
        in_session("shape-caller", backend.reads_context(hello())),
        cx,
    )
    .await
    .unwrap();
    assert_eq!(seen, "from-caller");
    mellea::unregister(&registration);
}
