//! The tracing plugin's handlers: which hooks it subscribes to and what each reads from its
//! payload.

use std::sync::Arc;

use serde_json::Value as Json;

use super::{BackendTracingPlugin, Start, Success};
use crate::hooks::{
    GenerationBatchError, GenerationBatchErrorPayload, GenerationBatchPostCall,
    GenerationBatchPostCallPayload, GenerationBatchPreCall, GenerationBatchPreCallPayload,
    GenerationError, GenerationErrorPayload, GenerationEvent, GenerationPostCall,
    GenerationPostCallPayload, GenerationPreCall, GenerationPreCallPayload, model_option,
};
use crate::plugin::{HookContext, Plugin, PluginHooks, PluginMode};
use crate::telemetry::observe::observe;
use crate::telemetry::semconv;

impl Plugin for BackendTracingPlugin {
    fn name(&self) -> &str {
        &self.name
    }

    fn priority(&self) -> i32 {
        Self::PRIORITY
    }

    fn hooks(self: Arc<Self>, hooks: &mut PluginHooks) {
        let mode = PluginMode::Sequential;
        observe::<GenerationPreCall, _>(hooks, mode, &self, Self::on_pre_call);
        observe::<GenerationPostCall, _>(hooks, mode, &self, Self::on_post_call);
        observe::<GenerationError, _>(hooks, mode, &self, Self::on_error);
        observe::<GenerationEvent, _>(hooks, mode, &self, |this, p, ctx| this.event(ctx, p));
        observe::<GenerationBatchPreCall, _>(hooks, mode, &self, Self::on_batch_pre_call);
        observe::<GenerationBatchPostCall, _>(hooks, mode, &self, Self::on_batch_post_call);
        observe::<GenerationBatchError, _>(hooks, mode, &self, Self::on_batch_error);
    }
}

impl BackendTracingPlugin {
    fn on_pre_call(&self, p: &GenerationPreCallPayload, ctx: &HookContext) {
        self.start(
            ctx,
            Start {
                operation: semconv::OPERATION_CHAT,
                stream: p.stream
                    || p.model_options
                        .get(model_option::STREAM)
                        .and_then(Json::as_bool)
                        == Some(true),
                format: p.format.as_ref(),
                tool_calls: p.tool_calls,
                action: p.action.as_ref(),
                context: Some(p.context.as_ref()),
                num_actions: None,
                model_options: &p.model_options,
                prompt: p.prompt.as_ref(),
            },
        );
    }

    fn on_post_call(&self, p: &GenerationPostCallPayload, ctx: &HookContext) {
        self.succeed(ctx, Success::Chat(p.model_output.as_ref()));
    }

    fn on_error(&self, p: &GenerationErrorPayload, ctx: &HookContext) {
        self.fail(ctx, &p.exception);
    }

    fn on_batch_pre_call(&self, p: &GenerationBatchPreCallPayload, ctx: &HookContext) {
        self.start(
            ctx,
            Start {
                operation: semconv::OPERATION_TEXT_COMPLETION,
                stream: false,
                format: p.format.as_ref(),
                tool_calls: p.tool_calls,
                action: None,
                context: None,
                num_actions: Some(p.num_actions),
                model_options: &p.model_options,
                prompt: None,
            },
        );
    }

    fn on_batch_post_call(&self, p: &GenerationBatchPostCallPayload, ctx: &HookContext) {
        self.succeed(ctx, Success::Batch(p.usage.as_ref()));
    }

    fn on_batch_error(&self, p: &GenerationBatchErrorPayload, ctx: &HookContext) {
        self.fail(ctx, &p.exception);
    }
}
