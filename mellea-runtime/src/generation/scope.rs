//! The per-call scope `#[generation_hook]` expansions drive: begin, pre-call, run the body,
//! and end with exactly one terminal hook.

use std::any::Any;
use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use futures_util::FutureExt as _;
use futures_util::future::Either;
use opentelemetry::Context;
use opentelemetry::context::FutureExt as _;

use super::live::Live;
use super::{
    BackendIdentity, BackendSnapshot, BatchOutput, BatchRequest, ChatRequest, ChunkStream,
    GenerationInfo, GenerationKind, StreamChunk, parent,
};
use crate::error::PluginViolation;
use crate::hooks::{ErrorInfo, GenerationOutput, HookType, JsonMap, OutputView};
use crate::plugin::{BoxFuture, has_any_listener, has_listeners};

/// One begun generation: the scope a `#[generation_hook]` expansion drives.
///
/// It exists only while some plugin listens to the generation's hooks ([`Generation::begin`]
/// is one atomic load otherwise). It mints the `generation_id`, captures the caller's OTel
/// context, fires pre-call, runs the body under the (possibly plugin-extended) context, and
/// fires exactly one of post-call / error: on return, on error, on panic (the panic then
/// resumes), and — from its `Drop` — when the generation's future is dropped before it
/// finished (`error_type = "cancelled"`).
///
/// Plugins keep per-call state in the generation's [`Extensions`](crate::plugin::Extensions)
/// (reached through [`HookContext::extensions`](crate::plugin::HookContext::extensions)); it
/// is dropped with the generation, so it cannot leak.
#[must_use = "a generation ends when it is dropped; drive it through pre-call, run and finish"]
pub struct Generation {
    /// `None` once the generation has ended (its terminal hook is firing or has fired).
    pub(super) live: Option<Live>,
    /// A hook firing in progress: a chunk event, or the terminal hook once `live` is taken.
    pub(super) pending: Option<BoxFuture<'static, ()>>,
}

impl std::fmt::Debug for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generation")
            .field("id", &self.id())
            .field("ended", &self.live.is_none())
            .finish()
    }
}

impl Generation {
    /// Whether any plugin listens to the hooks of `kind`: one relaxed atomic load.
    #[inline(always)]
    pub fn listening(kind: GenerationKind) -> bool {
        has_any_listener(kind.hooks())
    }

    /// Begins a generation of `backend` if any plugin listens to the hooks of `kind`.
    ///
    /// When nobody listens this is one relaxed atomic load and returns `None`: no id is
    /// minted, nothing allocates.
    #[inline]
    pub fn begin<B: BackendIdentity + ?Sized>(
        kind: GenerationKind,
        backend: &B,
        provider: &'static str,
        remote: Option<bool>,
    ) -> Option<Generation> {
        if !Self::listening(kind) {
            return None;
        }
        Some(Self::start(
            kind,
            BackendSnapshot::of(backend),
            provider,
            remote,
        ))
    }

    /// Begins a generation: mints its id, captures the current OTel context and session (see
    /// [`session`](crate::session) for how the session is found).
    #[inline(never)]
    pub fn start(
        kind: GenerationKind,
        backend: BackendSnapshot,
        provider: &'static str,
        remote: Option<bool>,
    ) -> Generation {
        let (parent, session) = parent::capture();
        let info =
            GenerationInfo::begin(kind, backend.into_info(provider, remote), parent, session);
        Generation {
            live: Some(Live::new(info)),
            pending: None,
        }
    }

    /// The Mellea-side correlation id of this generation (distinct from the provider's
    /// response id); `None` once it has ended.
    pub fn id(&self) -> Option<&str> {
        self.live.as_ref().map(|l| l.info.id())
    }

    /// The context a pre-call plugin gave the body (the tracing plugin: one holding its span),
    /// if one did; otherwise the body runs under its caller's, unchanged.
    pub(super) fn replaced_body_context(&self) -> Option<Context> {
        self.live
            .as_ref()
            .and_then(|live| live.info.replaced_body_context())
    }

    /// When the generation began.
    pub(crate) fn started(&self) -> Option<Instant> {
        self.live.as_ref().map(|l| l.info.started())
    }

    /// Fires `generation_pre_call` for a chat request and writes the accepted patch back into
    /// it. On a block the generation ends (error hook with the violation) and the violation is
    /// returned for the method to return as its error.
    pub async fn pre_call<R: ChatRequest + ?Sized>(
        &mut self,
        request: &mut R,
    ) -> Result<(), PluginViolation> {
        self.chat_pre_call(request, false).await
    }

    /// [`pre_call`](Self::pre_call) for a generation whose answer is a stream, whatever its
    /// model options say.
    pub async fn stream_pre_call<R: ChatRequest + ?Sized>(
        &mut self,
        request: &mut R,
    ) -> Result<(), PluginViolation> {
        self.chat_pre_call(request, true).await
    }

    async fn chat_pre_call<R: ChatRequest + ?Sized>(
        &mut self,
        request: &mut R,
        streamed: bool,
    ) -> Result<(), PluginViolation> {
        let Some(live) = &mut self.live else {
            return Ok(());
        };
        let outcome = live.chat_pre_call(request, streamed).await;
        self.after_pre_call(outcome).await
    }

    /// Fires `generation_batch_pre_call` for a batch request and writes the accepted patch
    /// back into it; on a block, as [`pre_call`](Self::pre_call).
    pub async fn batch_pre_call<R: BatchRequest + ?Sized>(
        &mut self,
        request: &mut R,
    ) -> Result<(), PluginViolation> {
        let Some(live) = &mut self.live else {
            return Ok(());
        };
        let outcome = live.batch_pre_call(request).await;
        self.after_pre_call(outcome).await
    }

    async fn after_pre_call(
        &mut self,
        outcome: Result<(), PluginViolation>,
    ) -> Result<(), PluginViolation> {
        if let Err(violation) = &outcome {
            // The reason is the plugin's own text and may quote the prompt; its name and code
            // are the plugin author's identifiers.
            let description = match violation.code.as_str() {
                "" => format!("blocked by {}", violation.plugin_name),
                code => format!("blocked by {} [{code}]", violation.plugin_name),
            };
            let error = ErrorInfo::new("PluginViolation", "PluginViolation", violation.to_string())
                .with_description(description);
            self.fail(error).await;
        }
        outcome
    }

    /// Runs the body under the generation's OTel context. If the body panics, the error hook
    /// fires (`error_type = "panic"`) and the panic resumes.
    ///
    /// When no plugin replaced the context, the body is polled as it is, under the caller's
    /// (attaching the context the caller already runs under would change nothing).
    pub async fn run<F: Future>(&mut self, body: F) -> F::Output {
        let body = match self.replaced_body_context() {
            Some(cx) => Either::Left(body.with_context(cx)),
            None => Either::Right(body),
        };
        match AssertUnwindSafe(body).catch_unwind().await {
            Ok(output) => output,
            Err(panic) => {
                self.fail(ErrorInfo::panic(panic_message(panic.as_ref())))
                    .await;
                std::panic::resume_unwind(panic)
            }
        }
    }

    /// Runs a chat generation's body and ends the generation with its outcome: post-call on
    /// `Ok`, error (described by `describe`) on `Err`, error `"panic"` if it panics.
    pub async fn complete<O, E, F, D>(mut self, body: F, describe: D) -> Result<O, E>
    where
        O: GenerationOutput,
        F: Future<Output = Result<O, E>>,
        D: FnOnce(&E) -> ErrorInfo,
    {
        let result = self.run(body).await;
        match &result {
            Ok(output) => self.succeed(output).await,
            Err(error) => self.fail(describe(error)).await,
        }
        result
    }

    /// [`complete`](Self::complete) for a batch generation.
    pub async fn complete_batch<B, E, F, D>(mut self, body: F, describe: D) -> Result<B, E>
    where
        B: BatchOutput,
        F: Future<Output = Result<B, E>>,
        D: FnOnce(&E) -> ErrorInfo,
    {
        let result = self.run(body).await;
        match &result {
            Ok(output) => self.succeed_batch(output).await,
            Err(error) => self.fail(describe(error)).await,
        }
        result
    }

    /// Runs a streaming generation's body; when it returns a stream, the generation ends with
    /// that stream (see [`into_stream`](Self::into_stream)).
    pub async fn complete_stream<'a, C, CE, E, F, D, DC>(
        mut self,
        body: F,
        describe: D,
        describe_chunk_error: DC,
    ) -> Result<ChunkStream<'a, C, CE>, E>
    where
        C: StreamChunk + Send + 'a,
        CE: Send + 'a,
        F: Future<Output = Result<ChunkStream<'a, C, CE>, E>>,
        D: FnOnce(&E) -> ErrorInfo,
        DC: FnMut(&CE) -> ErrorInfo + Send + 'a,
    {
        match self.run(body).await {
            Ok(stream) => Ok(self.into_stream(stream, describe_chunk_error)),
            Err(error) => {
                self.fail(describe(&error)).await;
                Err(error)
            }
        }
    }

    /// Ends a chat generation successfully: fires `generation_post_call` with a view of
    /// `output` and the latency.
    pub async fn succeed<O: GenerationOutput + ?Sized>(&mut self, output: &O) {
        let view = has_listeners(HookType::GenerationPostCall).then(|| OutputView::of(output));
        self.terminate(|live| live.succeed(view)).await;
    }

    /// Ends a batch generation successfully: fires `generation_batch_post_call` with one view
    /// per output, the aggregate usage and the latency.
    pub async fn succeed_batch<B: BatchOutput + ?Sized>(&mut self, output: &B) {
        let outputs = has_listeners(HookType::GenerationBatchPostCall)
            .then(|| (output.output_views(), output.total_usage()));
        self.terminate(|live| live.succeed_batch(outputs)).await;
    }

    /// Ends the generation with an error: fires `generation_error` (or
    /// `generation_batch_error`).
    pub async fn fail(&mut self, error: ErrorInfo) {
        self.terminate(|live| live.fail(error, None)).await;
    }

    /// Fires the terminal hook and waits for it. Does nothing if the generation has already
    /// ended, so no path can end it twice. If this future is dropped midway, the generation's
    /// `Drop` completes the firing.
    async fn terminate(&mut self, fire: impl FnOnce(Live) -> Option<BoxFuture<'static, ()>>) {
        poll_fn(|cx| self.poll_pending(cx)).await;
        if self.fire_terminal(fire) {
            poll_fn(|cx| self.poll_pending(cx)).await;
        }
    }

    /// Ends the generation: hands it to its terminal hook firing, which runs when
    /// [`poll_pending`](Self::poll_pending) is driven. `false` if it had already ended.
    fn fire_terminal(&mut self, fire: impl FnOnce(Live) -> Option<BoxFuture<'static, ()>>) -> bool {
        let Some(live) = self.live.take() else {
            return false;
        };
        // Nobody listens to the terminal hook: the scope (and plugins' state) just ends here.
        if let Some(terminal) = fire(live) {
            self.queue(terminal);
        }
        true
    }

    /// Runs `firing` after the one in progress, if any.
    fn queue(&mut self, firing: BoxFuture<'static, ()>) {
        self.pending = Some(match self.pending.take() {
            Some(earlier) => Box::pin(async move {
                earlier.await;
                firing.await;
            }),
            None => firing,
        });
    }

    /// Ends the generation with an error carrying what was produced so far: queues the error
    /// hook's firing (driven by [`poll_pending`](Self::poll_pending) or the `Drop`).
    pub(crate) fn fire_failure(&mut self, error: ErrorInfo, partial: Option<OutputView>) -> bool {
        self.fire_terminal(|live| live.fail(error, partial))
    }

    /// Ends a streamed generation successfully with the accumulated view: queues post-call.
    pub(crate) fn fire_success(&mut self, view: OutputView) -> bool {
        let view = has_listeners(HookType::GenerationPostCall).then_some(view);
        self.fire_terminal(|live| live.succeed(view))
    }

    /// Queues a `generation_event` (e.g. `chunk_processed`) while the generation is live.
    pub(crate) fn fire_event(&mut self, event_name: &str, data: JsonMap) {
        let Some(live) = &self.live else { return };
        let event = live.event(event_name, data);
        self.queue(event);
    }

    /// Drives the hook firing in progress, if any. Inlined: a stream checks it on every poll,
    /// and there is almost never one.
    #[inline]
    pub(crate) fn poll_pending(&mut self, cx: &mut TaskContext<'_>) -> Poll<()> {
        if let Some(pending) = &mut self.pending {
            if pending.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pending = None;
        }
        Poll::Ready(())
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the generation panicked with a non-string payload".to_owned())
}
