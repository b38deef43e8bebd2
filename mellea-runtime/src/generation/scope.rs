//! The per-call scope `#[generation_hook]` expansions drive: id, timing, hook firings, and the
//! drop guard that ends every begun generation exactly once.

use std::any::Any;
use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Instant;

use futures_util::FutureExt as _;
use opentelemetry::Context;
use opentelemetry::context::FutureExt as _;

use super::{
    BackendIdentity, BatchOutput, BatchRequest, ChatRequest, ChunkStream, GenerationInfo,
    StreamChunk, parent,
};
use crate::error::PluginViolation;
use crate::hooks::{
    ErrorInfo, GenerationBatchError, GenerationBatchErrorPayload, GenerationBatchPostCall,
    GenerationBatchPostCallPayload, GenerationBatchPreCall, GenerationBatchPreCallPayload,
    GenerationError, GenerationErrorPayload, GenerationEvent, GenerationEventPayload,
    GenerationOutput, GenerationPostCall, GenerationPostCallPayload, GenerationPreCall,
    GenerationPreCallPayload, Hook, HookMask, HookType, JsonMap, OutputView, Payload, Prompt,
    Usage,
};
use crate::plugin::{BackendInfo, BoxFuture, HookContext, global, has_any_listener, has_listeners};

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

/// Which path a generation takes: its hooks and its GenAI operation name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GenerationKind {
    /// One chat completion (also streamed): `generation_pre_call` / `_post_call` / `_error`.
    Chat,
    /// Several prompts in one call: `generation_batch_pre_call` / `_post_call` / `_error`.
    Batch,
}

impl GenerationKind {
    /// The hooks a generation of this kind fires.
    pub const fn hooks(self) -> HookMask {
        match self {
            GenerationKind::Chat => HookMask::CHAT_GENERATION,
            GenerationKind::Batch => HookMask::BATCH_GENERATION,
        }
    }

    /// The GenAI operation name: `"chat"` or `"text_completion"`.
    pub const fn operation_name(self) -> &'static str {
        match self {
            GenerationKind::Chat => "chat",
            GenerationKind::Batch => "text_completion",
        }
    }
}

/// Everything a begun generation knows; moved into the future that fires its terminal hook,
/// and dropped (with the plugins' per-call state) when that hook has run.
struct Live {
    /// Shared with every hook the generation fires, through `hook_ctx`.
    info: Arc<GenerationInfo>,
    hook_ctx: HookContext,
    prompt: Option<Prompt>,
    _counted: LiveToken,
}

impl Live {
    /// A fresh context for one dispatch: the generation's backend, session and extensions,
    /// with its own state map.
    fn dispatch_ctx(&self) -> HookContext {
        self.hook_ctx.child(&self.hook_ctx.shared_state())
    }

    fn stamp<P: Payload>(&self, mut payload: P) -> P {
        payload.base_mut().session_id = self.info.session_id().map(str::to_owned);
        payload
    }

    /// Dispatches an end-of-generation hook. A block there has nothing left to stop, so it is
    /// logged and otherwise ignored.
    async fn dispatch_final<H: Hook>(&self, payload: H::Payload) {
        let payload = self.stamp(payload);
        if let Err(violation) = global()
            .dispatch_in_place::<H>(payload, self.dispatch_ctx())
            .await
        {
            tracing::warn!(
                hook = %H::TYPE, plugin = %violation.plugin_name,
                "{violation}; a generation that has already ended cannot be blocked, ignored"
            );
        }
    }

    fn latency_ms(&self) -> f64 {
        self.info.started().elapsed().as_secs_f64() * 1000.0
    }

    /// Post-call with `view` (built only when someone listens), or nothing to fire.
    fn succeed(mut self: Box<Self>, view: Option<OutputView>) -> Option<BoxFuture<'static, ()>> {
        let payload = GenerationPostCallPayload {
            prompt: self.prompt.take(),
            model_output: Some(view?),
            latency_ms: self.latency_ms(),
            ..Default::default()
        };
        Some(Box::pin(async move {
            self.dispatch_final::<GenerationPostCall>(payload).await;
        }))
    }

    /// Batch post-call with the outputs (read only when someone listens), or nothing to fire.
    fn succeed_batch(
        self: Box<Self>,
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
            self.dispatch_final::<GenerationBatchPostCall>(payload)
                .await;
        }))
    }

    /// The error hook of the generation's kind, or nothing to fire when nobody listens.
    fn fail(
        self: Box<Self>,
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
                    self.dispatch_final::<GenerationError>(payload).await;
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
                    self.dispatch_final::<GenerationBatchError>(payload).await;
                }))
            }
        }
    }
}

/// What a generation needs to know of its backend, taken when the call is made (the backend
/// itself stays with the body).
#[derive(Clone, Debug)]
pub struct BackendSnapshot {
    model_id: String,
    server: Option<(String, u16)>,
}

impl BackendSnapshot {
    /// The identity of `backend`, owned.
    pub fn of<B: BackendIdentity + ?Sized>(backend: &B) -> Self {
        Self {
            model_id: backend.model_id().to_owned(),
            server: backend
                .server()
                .map(|server| (server.host.to_owned(), server.port)),
        }
    }
}

/// One begun generation: the scope a `#[generation_hook]` expansion drives.
///
/// It exists only while some plugin listens to the generation's hooks ([`Generation::begin`]
/// is one atomic load otherwise). It mints the `generation_id`, captures the caller's OTel
/// context, fires pre-call, runs the body under the (possibly plugin-extended) context, and
/// fires exactly one of post-call / error: on return, on error, on panic (the panic then
/// resumes), and — from its `Drop` — when the generation's future is dropped before it
/// finished (`error_type = "cancelled"`).
///
/// Plugins keep per-call state in the generation's [`Extensions`](crate::plugin::Extensions) (reached through
/// [`HookContext::extensions`]); it is dropped with the generation, so it cannot leak.
#[must_use = "a generation ends when it is dropped; drive it through pre-call, run and finish"]
pub struct Generation {
    /// Boxed so that `Option<Generation>` — what every instrumented method holds, listened to
    /// or not — stays three words.
    live: Option<Box<Live>>,
    /// A hook firing in progress: a chunk event, or the terminal hook once `live` is taken.
    pending: Option<BoxFuture<'static, ()>>,
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
        let mut info = BackendInfo::new(provider, backend.model_id);
        if let Some((host, port)) = backend.server {
            info = info.with_server(host, port);
        }
        if let Some(remote) = remote {
            info.remote = remote;
        }
        let (parent, session) = parent::capture();
        let info = Arc::new(GenerationInfo::begin(kind, info, parent, session));
        let hook_ctx = HookContext::new().with_generation(info.clone());
        Generation {
            live: Some(Box::new(Live {
                info,
                hook_ctx,
                prompt: None,
                _counted: LiveToken::new(),
            })),
            pending: None,
        }
    }

    /// The Mellea-side correlation id of this generation (distinct from the provider's
    /// response id); `None` once it has ended.
    pub fn id(&self) -> Option<&str> {
        self.live.as_ref().map(|l| l.info.id())
    }

    /// The OTel context the body runs under: the caller's, or what a pre-call plugin put in the
    /// generation's extensions.
    pub fn body_context(&self) -> Context {
        let Some(live) = &self.live else {
            return Context::current();
        };
        live.info.body_context()
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
        let wants_prompt = has_listeners(HookType::GenerationPostCall)
            || has_listeners(HookType::GenerationPreCall);
        if wants_prompt {
            live.prompt = request.prompt();
        }
        if !has_listeners(HookType::GenerationPreCall) {
            return Ok(());
        }
        // The options and the prompt are lent to the payload and taken back from the
        // dispatched payload, so the common case copies neither.
        let prompt = live.prompt.take();
        let payload = live.stamp(GenerationPreCallPayload {
            action: request.action(),
            context: request.context(),
            model_options: request.lend_model_options(),
            format: request.format().cloned(),
            tool_calls: request.tool_calls(),
            prompt,
            stream: streamed || request.stream(),
            ..Default::default()
        });
        let outcome = global()
            .dispatch_in_place::<GenerationPreCall>(payload, live.dispatch_ctx())
            .await;
        let outcome = outcome.map(|d| {
            let p = d.payload;
            live.prompt = p.prompt;
            request.apply_patch(p.model_options, p.format, p.tool_calls);
        });
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
        if !has_listeners(HookType::GenerationBatchPreCall) {
            return Ok(());
        }
        let payload = live.stamp(GenerationBatchPreCallPayload {
            actions: request.actions(),
            model_options: request.model_options().clone(),
            format: request.format().cloned(),
            tool_calls: request.tool_calls(),
            num_actions: request.num_actions() as u64,
            ..Default::default()
        });
        let outcome = global()
            .dispatch_in_place::<GenerationBatchPreCall>(payload, live.dispatch_ctx())
            .await;
        self.after_pre_call(outcome.map(|d| {
            let p = d.payload;
            request.apply_patch(p.model_options, p.format, p.tool_calls);
        }))
        .await
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
    pub async fn run<F: Future>(&mut self, body: F) -> F::Output {
        let cx = self.body_context();
        match AssertUnwindSafe(body.with_context(cx)).catch_unwind().await {
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

    /// Starts the terminal hook firing and waits for it. Does nothing if the generation has
    /// already ended, so no path can end it twice. If this future is dropped midway, the
    /// generation's `Drop` completes the firing.
    async fn terminate(&mut self, fire: impl FnOnce(Box<Live>) -> Option<BoxFuture<'static, ()>>) {
        poll_fn(|cx| self.poll_pending(cx)).await;
        if self.begin_terminal(fire) {
            poll_fn(|cx| self.poll_pending(cx)).await;
        }
    }

    /// Hands the generation to its terminal hook firing, which runs when
    /// [`poll_pending`](Self::poll_pending) is driven. `false` if it had already ended.
    fn begin_terminal(
        &mut self,
        fire: impl FnOnce(Box<Live>) -> Option<BoxFuture<'static, ()>>,
    ) -> bool {
        let Some(live) = self.live.take() else {
            return false;
        };
        // Nobody listens to the terminal hook: the scope (and plugins' state) just ends here.
        let Some(terminal) = fire(live) else {
            return true;
        };
        self.pending = Some(match self.pending.take() {
            Some(earlier) => Box::pin(async move {
                earlier.await;
                terminal.await;
            }),
            None => terminal,
        });
        true
    }

    /// Ends the generation with an error carrying what was produced so far.
    pub(crate) fn begin_failure(&mut self, error: ErrorInfo, partial: Option<OutputView>) -> bool {
        self.begin_terminal(|live| live.fail(error, partial))
    }

    /// Ends a streamed generation successfully with the accumulated view.
    pub(crate) fn begin_success(&mut self, view: OutputView) -> bool {
        let view = has_listeners(HookType::GenerationPostCall).then_some(view);
        self.begin_terminal(|live| live.succeed(view))
    }

    /// Fires a `generation_event` (e.g. `chunk_processed`) while the generation is live.
    pub(crate) fn begin_event(&mut self, event_name: &str, data: JsonMap) {
        let Some(live) = &self.live else { return };
        let payload = live.stamp(GenerationEventPayload {
            event_name: event_name.to_owned(),
            data,
            ..Default::default()
        });
        let ctx = live.dispatch_ctx();
        let event: BoxFuture<'static, ()> = Box::pin(async move {
            if let Err(violation) = global()
                .dispatch_in_place::<GenerationEvent>(payload, ctx)
                .await
            {
                tracing::warn!("{violation}; events cannot be blocked, ignored");
            }
        });
        self.pending = Some(match self.pending.take() {
            Some(earlier) => Box::pin(async move {
                earlier.await;
                event.await;
            }),
            None => event,
        });
    }

    /// Drives the hook firing in progress, if any.
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

impl Drop for Generation {
    fn drop(&mut self) {
        // Dropped before it ended: the caller stopped waiting (timeout, `select!`, abort).
        if self.live.is_some() {
            self.begin_failure(ErrorInfo::cancelled(), None);
        }
        if let Some(pending) = self.pending.take() {
            drive_detached(pending);
        }
    }
}

/// Finishes a hook firing from a destructor, where nothing can be awaited.
///
/// Polls it once inline — plugins that do not wait on anything (the tracing plugin, most
/// recorders) finish right here, so the span ends the moment the generation is dropped — and
/// hands the rest to the ambient tokio runtime. Without a runtime it is driven to completion
/// on this thread. While the thread unwinds from a panic, running plugin code inline could
/// abort the process, so the firing only ever goes to the runtime then.
fn drive_detached(mut firing: BoxFuture<'static, ()>) {
    let runtime = tokio::runtime::Handle::try_current().ok();
    if std::thread::panicking() {
        match runtime {
            Some(runtime) => drop(runtime.spawn(firing)),
            None => tracing::warn!(
                "a generation was dropped while its thread unwinds from a panic, outside a tokio \
                 runtime; its end hook cannot run safely and is skipped"
            ),
        }
        return;
    }
    let mut cx = TaskContext::from_waker(Waker::noop());
    if firing.as_mut().poll(&mut cx).is_ready() {
        return;
    }
    match runtime {
        Some(runtime) => drop(runtime.spawn(firing)),
        None => block_on(firing),
    }
}

/// Wakes a parked thread.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives a future to completion on this thread (outside any async runtime).
fn block_on(mut future: BoxFuture<'static, ()>) {
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = TaskContext::from_waker(&waker);
    while future.as_mut().poll(&mut cx).is_pending() {
        std::thread::park();
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the generation panicked with a non-string payload".to_owned())
}
