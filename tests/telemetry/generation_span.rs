//! `with_generation_span` from inside a backend's body: it reaches the generation's own span
//! (also from a task spawned with `propagate`, and again after a nested generation returns),
//! never a span the body opened, and nothing outside a generation.

use crate::support::telemetry as telemetry_support;

use mellea::generation::{
    BackendIdentity, GenerationRequest, Message, ServerAddress, with_generation_span,
};
use mellea::telemetry::propagate;
use opentelemetry::trace::{TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;
use telemetry_support::*;

/// Writes into whatever `with_generation_span` gives it, from the places a body runs code.
struct Writer {
    model: &'static str,
    tracer: SdkTracer,
    /// A generation this one runs inside its body.
    inner: Option<Box<Writer>>,
}

impl BackendIdentity for Writer {
    fn model_id(&self) -> &str {
        self.model
    }
    fn server(&self) -> Option<ServerAddress<'_>> {
        Some(ServerAddress {
            host: "llm.span",
            port: 8000,
        })
    }
}

fn mark(key: &'static str) -> bool {
    with_generation_span(|span| span.set_attribute(KeyValue::new(key, true))).is_some()
}

#[mellea::backend(provider = "span-test")]
impl Writer {
    #[mellea::generation_hook(chat)]
    async fn generate(&self, _request: GenerationRequest) -> Result<Answer, ModelError> {
        assert!(mark("test.body"), "the body reaches its generation's span");
        {
            // Never across an await: attached for this synchronous block only.
            let child = self.tracer.start("body-child");
            let _attached = Context::current().with_span(child).attach();
            assert!(
                !mark("test.child"),
                "a span the body opened is not the generation's"
            );
        }
        let spawned = tokio::spawn(propagate(async { mark("test.spawned") }))
            .await
            .unwrap();
        assert!(spawned, "a task spawned with propagate reaches it too");
        if let Some(inner) = &self.inner {
            Box::pin(inner.generate(request())).await?;
            assert!(
                mark("test.after_inner"),
                "the inner generation's end leaves ours"
            );
        }
        Ok(Answer::default())
    }
}

fn request() -> GenerationRequest {
    GenerationRequest::new([Message::user("hello")])
}

#[tokio::test]
async fn the_body_reaches_its_own_generations_span_and_no_other() {
    let traced = Traced::new("gen-own-span");
    let inner = Writer {
        model: "inner-model",
        tracer: traced.tracer("body"),
        inner: None,
    };
    let outer = Writer {
        model: "outer-model",
        tracer: traced.tracer("body"),
        inner: Some(Box::new(inner)),
    };
    traced.run(outer.generate(request())).await.unwrap();
    assert!(!mark("test.outside"), "outside a generation, nothing");

    let spans = traced.spans();
    let outer = named(&spans, "chat outer-model");
    let inner = named(&spans, "chat inner-model");
    assert!(is_child_of(inner, outer));
    for span in [outer, inner] {
        assert_eq!(bool_attr(span, "test.body"), Some(true), "{}", span.name);
        assert_eq!(bool_attr(span, "test.spawned"), Some(true), "{}", span.name);
    }
    assert_eq!(bool_attr(outer, "test.after_inner"), Some(true));
    assert_eq!(bool_attr(inner, "test.after_inner"), None);
    for span in &spans {
        assert_eq!(bool_attr(span, "test.child"), None, "{}", span.name);
    }
    assert_eq!(spans.iter().filter(|s| s.name == "body-child").count(), 2);
    assert_eq!(traced.plugin().open_spans(), 0);
}
