//! # mellea
//!
//! Hooks and OpenTelemetry GenAI tracing for LLM backends, with hook signatures checked at
//! compile time.
//!
//! A backend written with [`#[backend]`](macro@backend) carries no telemetry code: every
//! method marked [`#[generation_hook]`](macro@generation_hook) fires `generation_pre_call`,
//! runs, and fires exactly one `generation_post_call` or `generation_error`. Plugins observe,
//! patch or block those calls; [`telemetry`] turns them into OpenTelemetry GenAI spans.
//!
//! ```
//! use mellea::generation::{BackendIdentity, GenerationRequest, Message};
//! use mellea::hooks::{GenerationOutput, GenerationPreCallPayload, GenerationPreCallPatch};
//! use mellea::{HookAction, HookContext, HookResult, PluginViolation, Violation};
//!
//! struct Echo;
//! impl BackendIdentity for Echo {
//!     fn model_id(&self) -> &str { "echo-1" }
//! }
//!
//! struct Reply(String);
//! impl GenerationOutput for Reply {
//!     fn text(&self) -> Option<&str> { Some(&self.0) }
//! }
//!
//! #[derive(Debug)]
//! struct Blocked(PluginViolation);
//! impl From<PluginViolation> for Blocked {
//!     fn from(violation: PluginViolation) -> Self { Blocked(violation) }
//! }
//!
//! #[mellea::backend(provider = "echo")]
//! impl Echo {
//!     #[mellea::generation_hook(chat)]
//!     async fn generate(&self, request: GenerationRequest) -> Result<Reply, Blocked> {
//!         Ok(Reply(format!("you said: {}", request.messages[0].content)))
//!     }
//! }
//!
//! /// Blocks prompts that mention a secret, before the backend is called.
//! #[mellea::hook("generation_pre_call")]
//! async fn guard(
//!     payload: &GenerationPreCallPayload,
//!     _ctx: &HookContext,
//! ) -> HookResult<GenerationPreCallPatch> {
//!     if payload.prompt.as_ref().is_some_and(|prompt| prompt.text().contains("secret")) {
//!         return Ok(HookAction::Block(Violation::new("no secrets").with_code("SECRET")));
//!     }
//!     Ok(HookAction::Continue)
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let _guard = mellea::scoped(guard_hook()).unwrap();
//! let reply = Echo.generate(GenerationRequest::new([Message::user("hello")])).await.unwrap();
//! assert_eq!(reply.0, "you said: hello");
//! let blocked = Echo.generate(GenerationRequest::new([Message::user("the secret")])).await;
//! assert_eq!(blocked.err().unwrap().0.code, "SECRET");
//! # });
//! ```
//!
//! ## Crates and features
//!
//! | crate | what it holds |
//! |---|---|
//! | `mellea` (this crate) | the facade: re-exports everything below; depend on this one |
//! | `mellea-runtime` | what runs: [`hooks`] (hook types, payloads, patches), [`plugin`](mod@plugin) (registry, the five execution modes), [`generation`] (the per-call scope the macros drive), [`session`], [`telemetry`] (`BackendTracingPlugin`, setup from `MELLEA_TRACES_*` / `OTEL_*`, [`propagate`](telemetry::propagate) to spawn with the caller's context, session and `tracing` span) |
//! | `mellea-macros` | [`macro@plugin`], [`macro@hook`], [`macro@backend`], [`macro@generation_hook`] |
//! | `mellea-backends` | `backends::openai` (OpenAI-compatible servers) and `backends::ollama` |
//!
//! | feature | default | enables |
//! |---|---|---|
//! | `openai` | on | `mellea::backends::openai` |
//! | `ollama` | on | `mellea::backends::ollama` |
//! | `otlp` | on | OTLP/HTTP span export (protobuf, gzip), switched on at run time by `MELLEA_TRACES_OTLP` |
//! | `otlp-grpc` | on | OTLP over gRPC (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`), through tonic |
//! | `otlp-json` | off | OTLP/HTTP with JSON bodies (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) |
//! | `tracing-opentelemetry` | off | generations started with no OpenTelemetry span current take the current `tracing` span as parent (for `tracing-opentelemetry` layers with context activation off) |
//!
//! `default-features = false` leaves hooks, plugins and tracing to the console or to your own
//! exporter.
//!
//! ## Writing a plugin
//!
//! A plugin is a plain Rust type. [`#[plugin]`](macro@plugin) on its impl block makes the
//! methods marked `#[hook("...")]` its handlers, and one call registers it:
//!
//! ```
//! use mellea::hooks::{GenerationPreCall, GenerationPreCallPatch, GenerationPreCallPayload};
//! use mellea::{HookAction, HookContext, HookResult, PluginRegistry};
//!
//! /// Pins the temperature of every generation.
//! struct Deterministic {
//!     temperature: f64,
//! }
//!
//! #[mellea::plugin(name = "deterministic", priority = 10)]
//! impl Deterministic {
//!     #[hook("generation_pre_call", mode = transform)]
//!     async fn pin_temperature(
//!         &self,
//!         payload: &GenerationPreCallPayload,
//!         _ctx: &HookContext,
//!     ) -> HookResult<GenerationPreCallPatch> {
//!         let mut options = payload.model_options.clone();
//!         options.insert("temperature".into(), self.temperature.into());
//!         Ok(HookAction::Modify(GenerationPreCallPatch::new().with_model_options(options)))
//!     }
//! }
//!
//! // Process-wide, for every generation: `mellea::register(Deterministic { temperature: 0.0 })`.
//! // Here, a private registry and one dispatch, as a backend's generation would do it:
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let registry = PluginRegistry::new();
//! let _registration = registry.register(Deterministic { temperature: 0.0 }).unwrap();
//!
//! let mut payload = GenerationPreCallPayload::default();
//! payload.model_options.insert("temperature".into(), 0.9.into());
//! let dispatched = registry
//!     .dispatch::<GenerationPreCall>(payload, HookContext::new())
//!     .await
//!     .unwrap();
//! assert_eq!(dispatched.payload.model_options["temperature"], 0.0);
//! # });
//! ```
//!
//! A handler can also be a free function: [`#[hook]`](macro@hook) keeps it callable and adds
//! `<name>_hook()`, which builds its registration.
//!
//! ```
//! use mellea::hooks::GenerationPostCallPayload;
//! use mellea::{HookAction, HookContext, HookResult};
//!
//! #[mellea::hook("generation_post_call", mode = audit)]
//! async fn log_latency(payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
//!     println!("generation took {} ms", payload.latency_ms);
//!     Ok(HookAction::Continue)
//! }
//!
//! let _registration = mellea::register(log_latency_hook()).unwrap();
//! assert!(mellea::has_listeners(mellea::hooks::HookType::GenerationPostCall));
//! ```
//!
//! ## Mistakes are compile errors
//!
//! Each hook name stands for a payload type and a result type, and the compiler checks
//! handlers against them: a misspelled hook name, another hook's payload, a patch returned
//! from an observe-only hook, a handler that is not `async`, a wrong mode or priority: each is
//! one error, on the token that is wrong, saying what was expected.
//!
//! ```compile_fail
//! use mellea::hooks::{GenerationPreCallPatch, SessionPreInitPayload};
//! use mellea::{HookAction, HookContext, HookResult};
//!
//! #[mellea::hook("generation_pre_call")]
//! async fn scrub(
//!     payload: &SessionPreInitPayload, // error: expected `&GenerationPreCallPayload`
//!     _ctx: &HookContext,
//! ) -> HookResult<GenerationPreCallPatch> {
//!     Ok(HookAction::Continue)
//! }
//! ```
//!
//! ```compile_fail
//! use mellea::hooks::GenerationPostCallPayload;
//! use mellea::{HookAction, HookContext, HookResult};
//!
//! #[mellea::hook("generation_post_cal")] // error: did you mean `generation_post_call`?
//! async fn record(_payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
//!     Ok(HookAction::Continue)
//! }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
// No `unsafe`: an exception needs a local `#[allow(unsafe_code)]` and a comment proving why
// nothing safe works.
#![deny(unsafe_code)]

pub use mellea_runtime::plugin::{
    HookAction, HookContext, HookResult, OnError, Plugin, PluginMode, PluginRegistry, PluginSet,
    Violation, global, has_any_listener, has_listeners,
};
pub use mellea_runtime::{
    HandlerFailure, PluginViolation, RegistrationError, error, generation, hooks, plugin, session,
    telemetry, tools,
};

pub use mellea_macros::{backend, generation_hook};

/// Makes an `async fn` (free function or method) a tool the model can call.
///
/// - **Name**: the function's, or `#[tool(name = "...")]`. **Description**: its doc comment.
/// - **Arguments**: owned serde types (`Serialize + Deserialize + schemars::JsonSchema`); each
///   is a field of the JSON object the model sends. **Output**: `Result<T, E>` with `T` a
///   serde type and `E: Display + From<PluginViolation>` (a pre-invoke block is returned
///   through it).
/// - Next to `fn f` it defines `fn f_tool() -> ToolDefinition` (name, description, JSON schema
///   of the arguments, from `schemars`) and `async fn call_f(&ToolCall) -> Result<Message,
///   ToolError>`, which reads a model's call, runs `f` with the call's id and returns the
///   `tool` message answering it.
/// - Every run of `f` fires `tool_pre_invoke` (a patch replacing `model_tool_call` with a
///   [`ToolCall`](tools::ToolCall) of other arguments makes `f` run with those) and exactly one
///   `tool_post_invoke` (output, success, error, execution time; a patch replacing
///   `tool_output` changes what the caller gets) — also when `f` fails, panics or its future
///   is dropped. When no plugin listens, a call costs one atomic load.
///
/// ```
/// use mellea::tools::ToolCall;
///
/// #[derive(Debug, thiserror::Error)]
/// enum WeatherError {
///     #[error("unknown city {0}")]
///     UnknownCity(String),
///     #[error(transparent)]
///     Blocked(#[from] mellea::PluginViolation),
/// }
///
/// /// Current temperature of a city, in Celsius.
/// #[mellea::tool]
/// async fn get_weather(city: String) -> Result<f64, WeatherError> {
///     match city.as_str() {
///         "Paris" => Ok(21.5),
///         _ => Err(WeatherError::UnknownCity(city)),
///     }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let definition = get_weather_tool();
/// assert_eq!(definition.description, "Current temperature of a city, in Celsius.");
/// assert_eq!(definition.parameters["required"][0], "city");
/// let call = ToolCall::new("get_weather", r#"{"city":"Paris"}"#).with_id("call_1");
/// let answer = call_get_weather(&call).await.unwrap();
/// assert_eq!((answer.tool_call_id.as_deref(), answer.content.as_str()), (Some("call_1"), "21.5"));
/// # });
/// ```
pub use mellea_macros::tool;

/// Makes an `async fn` (free function or method) returning `Result<T, E>` an agent:
/// `#[agent(name = "...")]`, optionally `id = "..."`; its doc comment is its description.
///
/// - Each call is one invocation: `component_pre_execute` (component type `"Agent"`, with
///   the agent's name, id and description; a block is returned through
///   `E: From<PluginViolation>`), then exactly one of `component_post_success` /
///   `component_post_error` — also when the body panics or the future is dropped.
/// - One conversation: the invocation runs in the caller's session (see
///   [`session::in_session`]), else in a fresh one whose id is a UUID. Every generation and
///   tool call inside carries it, so `gen_ai.conversation.id` is the same on all their spans.
/// - The arguments that are `Serialize` are the invocation's input (`action`, a JSON object),
///   a `Serialize` output its result — read only while a plugin listens, recorded on spans only
///   with content capture on.
/// - With tracing set up, the `invoke_agent {name}` span is the parent of the chat and
///   `execute_tool` spans inside.
///
/// ```
/// #[derive(Debug, thiserror::Error)]
/// enum Error {
///     #[error(transparent)]
///     Blocked(#[from] mellea::PluginViolation),
/// }
///
/// /// Greets people.
/// #[mellea::agent(name = "greeter")]
/// async fn greeter(name: String) -> Result<String, Error> {
///     Ok(format!("Hello, {name}! (conversation {})", mellea::session::current_session_id().unwrap()))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let inside = mellea::session::in_session("conversation-7", greeter("Ada".into())).await.unwrap();
/// assert_eq!(inside, "Hello, Ada! (conversation conversation-7)");
/// # });
/// ```
pub use mellea_macros::agent;

/// Declares a plugin: implements [`Plugin`] for the type of an inherent impl block, with one
/// handler per method marked `#[hook("...")]`.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// use mellea::hooks::{GenerationPostCallPayload, SessionPreInitPatch, SessionPreInitPayload};
/// use mellea::{HookAction, HookContext, HookResult};
///
/// #[derive(Default)]
/// struct Quota {
///     generations: AtomicU64,
/// }
///
/// #[mellea::plugin(name = "quota", priority = 20)]
/// impl Quota {
///     /// Pins every session to one model.
///     #[hook("session_pre_init", mode = transform)]
///     async fn pin_model(
///         &self,
///         _payload: &SessionPreInitPayload,
///         _ctx: &HookContext,
///     ) -> HookResult<SessionPreInitPatch> {
///         Ok(HookAction::Modify(SessionPreInitPatch::new().with_model_id("granite4".into())))
///     }
///
///     /// Counts generations; observe-only hooks return plain `HookResult`.
///     #[hook("generation_post_call", mode = audit, priority = 90)]
///     async fn count(&self, _payload: &GenerationPostCallPayload, _ctx: &HookContext) -> HookResult {
///         self.generations.fetch_add(1, Ordering::Relaxed);
///         Ok(HookAction::Continue)
///     }
///
///     /// Methods without `#[hook]` stay ordinary methods.
///     fn generations(&self) -> u64 {
///         self.generations.load(Ordering::Relaxed)
///     }
/// }
///
/// let quota = std::sync::Arc::new(Quota::default());
/// let registration = mellea::register(quota.clone()).unwrap();
/// assert_eq!(registration.names(), ["quota.session_pre_init", "quota.generation_post_call"]);
/// assert_eq!(quota.generations(), 0);
/// # mellea::unregister(&registration);
/// ```
///
/// # Arguments
///
/// - `name = "..."` (required): the registry name. Each handler is registered as
///   `"{name}.{hook}"`, so a plugin has one handler per hook, and two plugins of the same name
///   cannot be registered at once.
/// - `priority = N` (optional): an `i32` literal, the priority of the handlers that set none.
///   Lower runs first; the default is 50.
///
/// # The impl block
///
/// It must be an inherent impl (`impl MyPlugin { .. }`, generics allowed). Its methods marked
/// `#[hook(...)]` (or `#[mellea::hook(...)]`) are the handlers; see [`macro@hook`] for their
/// arguments and signature. Every other item stays as written. The type must be
/// `Send + Sync + 'static`: one plugin value serves concurrent dispatches on any thread, so
/// handlers take `&self` and keep mutable state behind atomics or locks.
///
/// # Registering
///
/// A value of the type (or an `Arc` of it, to keep a handle on its state) goes to
/// [`register`], [`register_for_session`], [`scoped`] (unregistered when the guard drops), a
/// [`PluginRegistry`], or a [`PluginSet`].
#[doc(inline)]
pub use mellea_macros::plugin;

/// Declares a hook handler: a method inside a [`#[plugin]`](macro@plugin) impl, or a free
/// `async fn`.
///
/// ```
/// use mellea::hooks::{ToolPreInvokePatch, ToolPreInvokePayload};
/// use mellea::{HookAction, HookContext, HookResult, Violation};
///
/// /// Refuses tool calls while the kill switch is on.
/// #[mellea::hook("tool_pre_invoke", mode = concurrent, priority = 1)]
/// pub async fn kill_switch(
///     _payload: &ToolPreInvokePayload,
///     ctx: &HookContext,
/// ) -> HookResult<ToolPreInvokePatch> {
///     match ctx.get_state("kill_switch") {
///         Some(serde_json::Value::Bool(true)) => Ok(HookAction::Block(
///             Violation::new("tools are disabled").with_code("KILL_SWITCH"),
///         )),
///         _ => Ok(HookAction::Continue),
///     }
/// }
///
/// // `kill_switch` is still an ordinary async fn; `kill_switch_hook()` registers it.
/// let hook = kill_switch_hook();
/// assert_eq!(hook.name(), format!("{}::kill_switch", module_path!()));
/// let _registration = mellea::register(hook).unwrap();
/// ```
///
/// # Arguments
///
/// `#[hook("hook_name", mode = ..., priority = N)]`:
///
/// - the hook name (required, first): a string literal, one of the 27 names of
///   [`hooks::HookType`] (`"generation_pre_call"`, `"tool_post_invoke"`, ...). A name that is
///   not a hook is a compile error listing the hooks, with a suggestion for a near miss.
/// - `mode` (optional): a bare identifier, one of `sequential` (the default), `transform`,
///   `audit`, `concurrent`, `fire_and_forget`: the [`PluginMode`]s in snake case.
/// - `priority` (optional): an `i32` literal; lower runs first. The default is the plugin's
///   priority for methods and 50 for free functions.
///
/// # Signature
///
/// ```text
/// async fn name(&self, payload: &XPayload, ctx: &HookContext) -> HookResult<XPatch>  // writable hooks
/// async fn name(&self, payload: &XPayload, ctx: &HookContext) -> HookResult          // observe-only hooks
/// ```
///
/// where `X` is the hook's marker type in [`hooks`] (`"generation_pre_call"`:
/// `GenerationPreCallPayload`, `GenerationPreCallPatch`). The nine writable hooks are
/// `session_pre_init`, `component_pre_execute`, `generation_pre_call`,
/// `generation_batch_pre_call`, `validation_pre_check`, `validation_post_check`,
/// `sampling_loop_start`, `tool_pre_invoke` and `tool_post_invoke`; the handlers of every other
/// hook return `HookResult` (= `HookResult<NoPatch>`), which cannot carry a patch.
///
/// - The handler is an `async fn`; it is neither generic nor `unsafe`, and its future is
///   `Send` (handlers run on any worker thread).
/// - A method takes `&self` first; a free function takes no receiver.
/// - Then exactly two parameters, with any patterns: the payload by reference and the context.
/// - The types are checked as types, not as spellings: aliases and full paths are fine. A
///   mismatch is one compile error on the offending type, naming the expected one.
///
/// # On a free function
///
/// The function stays as written, callable and testable. `#[hook]` adds, with the same
/// visibility, `fn <name>_hook() -> HookFn`, whose handler is registered under the name
/// `<module path>::<name>`: `mellea::register(kill_switch_hook())`.
///
/// # On a method
///
/// Only inside a `#[plugin]` impl, which consumes the attribute; elsewhere it is a compile
/// error.
#[doc(inline)]
pub use mellea_macros::hook;

/// Ready-made HTTP backends, instrumented with `#[backend]`: `backends::openai` (feature
/// `openai`: OpenAI, vLLM, llama.cpp's server, LM Studio, Ollama's `/v1`) and
/// `backends::ollama` (feature `ollama`: Ollama's native API). Both features are on by
/// default.
#[cfg(any(feature = "openai", feature = "ollama"))]
#[doc(inline)]
pub use mellea_backends as backends;

// What the attributes' expansions name (`::mellea::__private::...` by default); not public API.
#[doc(hidden)]
pub use mellea_runtime::__private;

/// Registers an item in the process-wide registry for every dispatch.
pub fn register(
    item: impl Into<plugin::Registrable>,
) -> Result<plugin::Registration, RegistrationError> {
    global().register(item)
}

/// Registers an item in the process-wide registry for dispatches of one session only.
pub fn register_for_session(
    session_id: impl Into<String>,
    item: impl Into<plugin::Registrable>,
) -> Result<plugin::Registration, RegistrationError> {
    global().register_for_session(session_id, item)
}

/// Registers an item in the process-wide registry until the returned guard is dropped.
pub fn scoped(
    item: impl Into<plugin::Registrable>,
) -> Result<plugin::PluginScope<'static>, RegistrationError> {
    global().scoped(item)
}

/// Removes an item from the process-wide registry; unknown items are ignored.
pub fn unregister(target: impl Into<plugin::UnregisterTarget>) {
    global().unregister(target)
}

/// Removes every item registered for `session_id` from the process-wide registry.
pub fn unregister_session(session_id: &str) {
    global().unregister_session(session_id)
}

/// The README's examples, compiled and run as doctests so they stay correct.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
