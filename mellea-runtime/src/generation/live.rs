//! A begun generation's state and the payloads of the hooks it fires: built from the shared
//! [`GenerationInfo`] and what is specific to each hook, nothing copied per hook.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::recycled::RecycledInfo;
use super::{BatchRequest, ChatRequest, GenerationInfo, GenerationKind};
use crate::error::PluginViolation;
use crate::hooks::{
    ErrorInfo, GenerationBatchError, GenerationBatchErrorPayload, GenerationBatchPostCall,
    GenerationBatchPostCallPayload, GenerationBatchPreCall, GenerationBatchPreCallPayload,
    GenerationError, GenerationErrorPayload, GenerationEvent, GenerationEventPayload,
    GenerationPostCall, GenerationPostCallPayload, GenerationPreCall, GenerationPreCallPayload,
    Hook, HookType, JsonMap, OutputView, Payload, Prompt, Usage,
};
use crate::plugin::{BoxFuture, HookContext, global, has_listeners, ignore_late_block};

/// Generations begun and not yet ended (their terminal hook has not finished).
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Number of generations that have begun and not yet ended.
///
/// A generation is counted from the moment it begins (only when some plugin listens to its
/// hooks) until its post-call or error hook has finished, however it ended: returned, failed,
/// panicked or was dropped. Zero when nothing is in flight, so tests and soak runs use it to
/// prove that no per-call state leaks.
pub fn live_generations() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Counts one live generation while it exists.
struct LiveToken;

impl LiveToken {
    fn new() -> Self {
        LIVE.fetch_add(1, Ordering::Relaxed);
        LiveToken
    }
}

impl Drop for LiveToken {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Everything a begun generation knows; moved into the future that fires its terminal hook,
/// and dropped (with the plugins' per-call state) when that hook has run.
pub(super) struct Live {
    /// Shared with every hook the generation fires, through their contexts.
    pub(super) info: RecycledInfo,
    /// Kept from pre-call for post-call, only while one of them has a listener.
    prompt: Option<Prompt>,
    _counted: LiveToken,
}

impl Live {
    pub(super) fn new(info: GenerationInfo) -> Self {
        Self {
            info: RecycledInfo::new(info),
            prompt: None,
            _counted: LiveToken::new(),
        }
    }

    /// A fresh context for one dispatch: the generation's facts, empty state. No allocation.
    fn dispatch_ctx(&self) -> HookContext {
        HookContext::for_generation(self.info.arc())
    }

    /// Stamps the generation's session on a payload (in place: payloads are large, and every
    /// move is a copy).
    fn stamp<P: Payload>(&self, payload: &mut P) {
        if let Some(session) = self.info.shared_session_id() {
            payload.base_mut().session_id = Some(Arc::clone(session));
        }
    }

    /// Fires `generation_pre_call` with the request's fields (the options and the prompt are
    /// lent and taken back, not copied) and writes the accepted patch back into the request.
    pub(super) async fn chat_pre_call<R: ChatRequest + ?Sized>(
        &mut self,
        request: &mut R,
        streamed: bool,
    ) -> Result<(), PluginViolation> {
        let wants_prompt = has_listeners(HookType::GenerationPostCall)
            || has_listeners(HookType::GenerationPreCall);
        if wants_prompt {
            self.prompt = request.prompt();
        }
        if !has_listeners(HookType::GenerationPreCall) {
            return Ok(());
        }
        let prompt = self.prompt.take();
        let mut payload = GenerationPreCallPayload {
            action: request.action(),
            context: request.context(),
            model_options: request.lend_model_options(),
            format: request.format().cloned(),
            tool_calls: request.tool_calls(),
            prompt,
            stream: streamed || request.stream(),
            ..Default::default()
        };
        self.stamp(&mut payload);
        global()
            .dispatch_mut::<GenerationPreCall>(&mut payload, self.dispatch_ctx())
            .await?;
        self.prompt = payload.prompt.take();
        request.apply_patch(
            std::mem::take(&mut payload.model_options),
            payload.format.take(),
            payload.tool_calls,
        );
        Ok(())
    }

    /// Fires `generation_batch_pre_call` and writes the accepted patch back into the request.
    pub(super) async fn batch_pre_call<R: BatchRequest + ?Sized>(
        &mut self,
        request: &mut R,
    ) -> Result<(), PluginViolation> {
        if !has_listeners(HookType::GenerationBatchPreCall) {
            return Ok(());
        }
        let mut payload = GenerationBatchPreCallPayload {
            actions: request.actions(),
            model_options: request.model_options().clone(),
            format: request.format().cloned(),
            tool_calls: request.tool_calls(),
            num_actions: request.num_actions() as u64,
            ..Default::default()
        };
        self.stamp(&mut payload);
        global()
            .dispatch_mut::<GenerationBatchPreCall>(&mut payload, self.dispatch_ctx())
            .await?;
        request.apply_patch(
            std::mem::take(&mut payload.model_options),
            payload.format.take(),
            payload.tool_calls,
        );
        Ok(())
    }

    /// Dispatches an end-of-generation hook. A block there has nothing left to stop, so it is
    /// logged and otherwise ignored.
    async fn dispatch_final<H: Hook>(&self, payload: &mut H::Payload) {
        self.stamp(payload);
        if let Err(violation) = global()
            .dispatch_mut::<H>(payload, self.dispatch_ctx())
            .await
        {
            ignore_late_block(&violation, "the generation");
        }
    }

    fn latency_ms(&self) -> f64 {
        self.info.started().elapsed().as_secs_f64() * 1000.0
    }

    /// Post-call with `view` (built only when someone listens), or nothing to fire.
    pub(super) fn succeed(mut self, view: Option<OutputView>) -> Option<BoxFuture<'static, ()>> {
        let payload = GenerationPostCallPayload {
            prompt: self.prompt.take(),
            model_output: Some(view?),
            latency_ms: self.latency_ms(),
            ..Default::default()
        };
        Some(Box::pin(async move {
            let mut payload = payload;
            self.dispatch_final::<GenerationPostCall>(&mut payload)
                .await;
        }))
    }

    /// Batch post-call with the outputs (read only when someone listens), or nothing to fire.
    pub(super) fn succeed_batch(
        self,
        outputs: Option<(Vec<OutputView>, Option<Usage>)>,
    ) -> Option<BoxFuture<'static, ()>> {
        let (views, usage) = outputs?;
        let payload = GenerationBatchPostCallPayload {
            model_outputs: views,
            usage,
            latency_ms: self.latency_ms(),
            ..Default::default()
        };
        Some(Box::pin(async move {
            let mut payload = payload;
            self.dispatch_final::<GenerationBatchPostCall>(&mut payload)
                .await;
        }))
    }

    /// The error hook of the generation's kind, or nothing to fire when nobody listens.
    pub(super) fn fail(
        self,
        error: ErrorInfo,
        partial: Option<OutputView>,
    ) -> Option<BoxFuture<'static, ()>> {
        let latency_ms = self.latency_ms();
        match self.info.kind() {
            GenerationKind::Chat => {
                if !has_listeners(HookType::GenerationError) {
                    return None;
                }
                let payload = GenerationErrorPayload {
                    exception: error,
                    model_output: partial,
                    latency_ms,
                    ..Default::default()
                };
                Some(Box::pin(async move {
                    let mut payload = payload;
                    self.dispatch_final::<GenerationError>(&mut payload).await;
                }))
            }
            GenerationKind::Batch => {
                if !has_listeners(HookType::GenerationBatchError) {
                    return None;
                }
                let payload = GenerationBatchErrorPayload {
                    exception: error,
                    latency_ms,
                    ..Default::default()
                };
                Some(Box::pin(async move {
                    let mut payload = payload;
                    self.dispatch_final::<GenerationBatchError>(&mut payload)
                        .await;
                }))
            }
        }
    }

    /// A `generation_event` firing (e.g. `chunk_processed`).
    pub(super) fn event(&self, event_name: &str, data: JsonMap) -> BoxFuture<'static, ()> {
        let mut payload = GenerationEventPayload {
            event_name: event_name.to_owned(),
            data,
            ..Default::default()
        };
        self.stamp(&mut payload);
        let ctx = self.dispatch_ctx();
        Box::pin(async move {
            let mut payload = payload;
            if let Err(violation) = global()
                .dispatch_mut::<GenerationEvent>(&mut payload, ctx)
                .await
            {
                ignore_late_block(&violation, "the event");
            }
        })
    }
}
