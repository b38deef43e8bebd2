//! Failure policies (`on_error`): each policy × each failure kind (error, panic, timeout) ×
//! each mode it applies to, through the registry's dispatch and through generations.

use crate::support::echo_backend;
use crate::support::plugins as support;

use std::fmt::Debug;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use echo_backend::{Echo, EchoError};
use mellea::generation::{GenerationRequest, Message};
use mellea::hooks::{GenerationPreCall, SessionPostInit, SessionPreInit, SessionPreInitPatch};
use mellea::plugin::{
    HandlerOptions, HookAction, HookFn, HookResult, OnError, Plugin, PluginHooks, PluginMode,
    PluginRegistry, PluginStats, Registration,
};
use mellea::session::in_session;
use mellea::{HandlerFailure, PluginViolation, RegistrationError};
use support::{Log, block, dispatch_post_init, dispatch_pre_init, logging, pre_init};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use PluginMode::{Audit, Concurrent, FireAndForget, Sequential, Transform};

const TIMEOUT: Duration = Duration::from_millis(50);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Error,
    Panic,
    Timeout,
}

const KINDS: [Kind; 3] = [Kind::Error, Kind::Panic, Kind::Timeout];

impl Kind {
    fn failure(self) -> HandlerFailure {
        match self {
            Kind::Error => HandlerFailure::Error,
            Kind::Panic => HandlerFailure::Panic,
            Kind::Timeout => HandlerFailure::Timeout,
        }
    }

    /// The counter this kind of failure increments.
    fn counted(self, stats: PluginStats) -> u64 {
        match self {
            Kind::Error => stats.handler_errors,
            Kind::Panic => stats.handler_panics,
            Kind::Timeout => stats.handler_timeouts,
        }
    }

    async fn fail(self) -> HookResult<SessionPreInitPatch> {
        match self {
            Kind::Error => Err("policy service unreachable".into()),
            Kind::Panic => panic!("guard bug"),
            Kind::Timeout => {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(HookAction::Continue)
            }
        }
    }
}

/// A plugin whose `session_pre_init` handler fails in the given way, and whose
/// `session_post_init` handler works (to see that `disable` removes only the failing one).
struct Flaky {
    kind: Kind,
    mode: PluginMode,
    own: Option<OnError>,
    plugin_default: OnError,
    calls: Arc<AtomicU32>,
    post_calls: Arc<AtomicU32>,
}

impl Flaky {
    fn new(kind: Kind, mode: PluginMode, own: Option<OnError>) -> Self {
        Self {
            kind,
            mode,
            own,
            plugin_default: OnError::Ignore,
            calls: Arc::default(),
            post_calls: Arc::default(),
        }
    }

    async fn pre_init(&self) -> HookResult<SessionPreInitPatch> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.kind.fail().await
    }

    async fn post_init(&self) -> HookResult {
        self.post_calls.fetch_add(1, Ordering::SeqCst);
        Ok(HookAction::Continue)
    }
}

impl Plugin for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }

    fn on_error(&self) -> OnError {
        self.plugin_default
    }

    fn hooks(self: Arc<Self>, hooks: &mut PluginHooks) {
        let mut options = HandlerOptions::new(self.mode).with_priority(1);
        if let Some(own) = self.own {
            options = options.with_on_error(own);
        }
        hooks.method_with::<SessionPreInit, _, _>(options, self.clone(), |this, _p, _c| {
            Box::pin(this.pre_init())
        });
        hooks.method::<SessionPostInit, _, _>(Sequential, None, self.clone(), |this, _p, _c| {
            Box::pin(this.post_init())
        });
    }
}

/// One registry with a failing plugin and a SEQUENTIAL handler `next` that runs after it.
struct Case {
    registry: PluginRegistry,
    registration: Registration,
    calls: Arc<AtomicU32>,
    post_calls: Arc<AtomicU32>,
    log: Log,
}

fn case(flaky: Flaky) -> Case {
    let registry = PluginRegistry::new();
    registry.set_handler_timeout(Some(TIMEOUT));
    let (calls, post_calls) = (flaky.calls.clone(), flaky.post_calls.clone());
    let registration = registry.register(flaky).unwrap();
    let log = Log::default();
    let _next = registry
        .register(logging("next", &log, Sequential).with_priority(99))
        .unwrap();
    Case {
        registry,
        registration,
        calls,
        post_calls,
        log,
    }
}

impl Case {
    /// Dispatches `session_pre_init` and waits for FIRE_AND_FORGET handlers.
    async fn dispatch(&self) -> Result<(), PluginViolation> {
        let mut dispatched = dispatch_pre_init(&self.registry, pre_init("a", "b")).await?;
        dispatched.wait_for_background_tasks().await;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn fail_blocks_the_dispatch_with_plugin_failed_in_sequential_and_concurrent_modes() {
    for mode in [Sequential, Concurrent] {
        for kind in KINDS {
            let what = format!("{mode} × {kind:?}");
            let case = case(Flaky::new(kind, mode, Some(OnError::Fail)));

            let violation = case.dispatch().await.expect_err(&what);

            assert_eq!(violation.code, PluginViolation::PLUGIN_FAILED, "{what}");
            assert_eq!(violation.code, "plugin_failed", "{what}");
            assert_eq!(violation.plugin_name, "flaky.session_pre_init", "{what}");
            assert_eq!(violation.failure, Some(kind.failure()), "{what}");
            assert!(
                violation.reason.contains("flaky.session_pre_init"),
                "{what}: {}",
                violation.reason
            );
            assert!(
                !violation.reason.contains("guard bug")
                    && !violation.reason.contains("unreachable"),
                "the handler's own message stays out of the violation: {}",
                violation.reason
            );
            if mode == Sequential {
                assert!(case.log.entries().is_empty(), "{what}: later handlers ran");
            }
            let stats = case.registry.stats();
            assert_eq!(kind.counted(stats), 1, "{what}: {stats:?}");
            assert_eq!(stats.failed_closed, 1, "{what}");
            assert_eq!(case.registry.plugin_stats("flaky"), Some(stats), "{what}");
            assert_eq!(case.registration.stats(), stats, "{what}");
            // `fail` never unregisters: the next dispatch is blocked again.
            assert!(case.dispatch().await.is_err(), "{what}");
            assert_eq!(case.calls.load(Ordering::SeqCst), 2, "{what}");
            assert_eq!(case.registry.stats().failed_closed, 2, "{what}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn ignore_logs_counts_and_goes_on_in_every_mode() {
    for mode in PluginMode::ALL {
        for kind in KINDS {
            for own in [None, Some(OnError::Ignore)] {
                let what = format!("{mode} × {kind:?} × {own:?}");
                let case = case(Flaky::new(kind, mode, own));

                case.dispatch().await.expect(&what);
                case.dispatch().await.expect(&what);

                assert_eq!(case.log.entries(), ["next", "next"], "{what}");
                assert_eq!(
                    case.calls.load(Ordering::SeqCst),
                    2,
                    "{what}: still registered"
                );
                let stats = case.registry.stats();
                assert_eq!(kind.counted(stats), 2, "{what}: {stats:?}");
                assert_eq!(stats.failed_closed, 0, "{what}");
                assert_eq!(stats.disabled_handlers, 0, "{what}");
                assert_eq!(case.registration.stats(), stats, "{what}");
                assert_eq!(
                    case.registry.handler_names(),
                    ["flaky.session_post_init", "flaky.session_pre_init", "next"],
                    "{what}"
                );
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn disable_removes_exactly_the_failing_handler_after_its_first_failure_in_every_mode() {
    for mode in PluginMode::ALL {
        for kind in KINDS {
            let what = format!("{mode} × {kind:?}");
            let case = case(Flaky::new(kind, mode, Some(OnError::Disable)));

            case.dispatch().await.expect(&what);

            assert_eq!(
                case.registry.handler_names(),
                ["flaky.session_post_init", "next"],
                "{what}: exactly the failing handler is gone"
            );
            case.dispatch().await.expect(&what);
            let _ = dispatch_post_init(&case.registry).await.expect(&what);
            assert_eq!(case.calls.load(Ordering::SeqCst), 1, "{what}: ran again");
            assert_eq!(case.post_calls.load(Ordering::SeqCst), 1, "{what}");
            assert_eq!(case.log.entries(), ["next", "next"], "{what}");
            let stats = case.registry.stats();
            assert_eq!(kind.counted(stats), 1, "{what}: {stats:?}");
            assert_eq!(stats.disabled_handlers, 1, "{what}");
            assert_eq!(stats.failed_closed, 0, "{what}");
            // The plugin still has a handler, so its counters are still in the registry; the
            // registration handle keeps them in any case.
            assert_eq!(case.registry.plugin_stats("flaky"), Some(stats), "{what}");
            assert_eq!(case.registration.stats(), stats, "{what}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_handlers_own_policy_wins_over_its_plugins() {
    let mut lax = Flaky::new(Kind::Panic, Sequential, Some(OnError::Ignore));
    lax.plugin_default = OnError::Fail;
    let case_lax = case(lax);
    case_lax
        .dispatch()
        .await
        .expect("the handler's ignore wins");

    let mut strict = Flaky::new(Kind::Panic, Sequential, None);
    strict.plugin_default = OnError::Fail;
    let case_strict = case(strict);
    let violation = case_strict.dispatch().await.unwrap_err();
    assert_eq!(violation.code, PluginViolation::PLUGIN_FAILED);
}

#[tokio::test(start_paused = true)]
async fn a_deliberate_block_keeps_its_own_code_under_fail() {
    let registry = PluginRegistry::new();
    let _guard = registry
        .register(
            HookFn::new::<SessionPreInit, _>("guard", |_, _| Box::pin(async { block("no") }))
                .with_on_error(OnError::Fail),
        )
        .unwrap();
    let violation = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap_err();
    assert_eq!(violation.code, "");
    assert_eq!(violation.failure, None);
    assert_eq!(registry.stats().failed_closed, 0);
}

// ---------------------------------------------------------------------------------------------
// Registration refuses `fail` where a failure could not block

#[test]
fn fail_in_a_mode_that_cannot_block_is_a_typed_registration_error() {
    for mode in [Transform, Audit, FireAndForget] {
        let registry = PluginRegistry::new();
        let handler = logging("audit", &Log::default(), mode).with_on_error(OnError::Fail);
        assert_eq!(
            registry.register(handler),
            Err(RegistrationError::FailCannotBlock {
                name: "audit".into(),
                mode
            })
        );
        assert!(
            registry.handler_names().is_empty(),
            "{mode}: nothing registered"
        );

        // A plugin-wide `fail` reaching a handler in that mode is refused the same way, and
        // nothing of the plugin is registered.
        let mut plugin = Flaky::new(Kind::Error, mode, None);
        plugin.plugin_default = OnError::Fail;
        let error = registry.register(plugin).unwrap_err();
        assert_eq!(
            error,
            RegistrationError::FailCannotBlock {
                name: "flaky.session_pre_init".into(),
                mode
            }
        );
        assert!(
            error.to_string().contains("sequential and concurrent"),
            "{error}"
        );
        assert!(
            registry.handler_names().is_empty(),
            "{mode}: nothing registered"
        );

        // Overriding the plugin's policy on that handler makes it acceptable.
        let mut plugin = Flaky::new(Kind::Error, mode, Some(OnError::Disable));
        plugin.plugin_default = OnError::Fail;
        let _plugin = registry.register(plugin).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Warnings: one per failure, and what a timeout says about yielding

#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl Warnings {
    fn messages(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

struct MessageField(String);

impl Visit for MessageField {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() == Level::WARN {
            let mut message = MessageField(String::new());
            event.record(&mut message);
            self.0.lock().unwrap().push(message.0);
        }
    }
}

/// Collects the WARN events of this thread while the guard lives (tests run on a
/// current-thread runtime).
fn capture_warnings() -> (Warnings, tracing::subscriber::DefaultGuard) {
    let warnings = Warnings::default();
    let subscriber = tracing_subscriber::registry().with(warnings.clone());
    (warnings, tracing::subscriber::set_default(subscriber))
}

#[tokio::test(start_paused = true)]
async fn disable_warns_once_naming_the_handler() {
    let (warnings, _guard) = capture_warnings();
    let case = case(Flaky::new(Kind::Error, Sequential, Some(OnError::Disable)));
    for _ in 0..3 {
        case.dispatch().await.unwrap();
    }
    let messages = warnings.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("flaky.session_pre_init"),
        "{}",
        messages[0]
    );
    assert!(
        messages[0].contains("on_error = disable"),
        "{}",
        messages[0]
    );
    assert!(messages[0].contains("unregistered"), "{}", messages[0]);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_of_a_handler_that_yielded_says_so() {
    let (warnings, _guard) = capture_warnings();
    let registry = PluginRegistry::new();
    // The default 5 s: a poll of this handler cannot take that long in real time.
    let slow = HookFn::new::<SessionPreInit, _>("slow", |_, _| {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(HookAction::Continue)
        })
    });
    let _slow = registry.register(slow).unwrap();
    let _ = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap();
    let messages = warnings.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("timed out after 5s"),
        "{}",
        messages[0]
    );
    assert!(messages[0].contains("it had yielded"), "{}", messages[0]);
    assert_eq!(registry.stats().handler_timeouts, 1);
}

#[tokio::test]
async fn a_timeout_of_a_handler_that_blocked_its_thread_says_it_did_not_yield() {
    let (warnings, _guard) = capture_warnings();
    let registry = PluginRegistry::new();
    registry.set_handler_timeout(Some(TIMEOUT));
    // Blocks the thread three times the timeout, then waits forever: the timer can only fire
    // once the blocking poll returns.
    let blocking = HookFn::new::<SessionPreInit, _>("blocking", |_, _| {
        Box::pin(async {
            std::thread::sleep(TIMEOUT * 3);
            std::future::pending::<()>().await;
            Ok(HookAction::Continue)
        })
    })
    .with_on_error(OnError::Fail);
    let _blocking = registry.register(blocking).unwrap();

    let violation = dispatch_pre_init(&registry, pre_init("a", "b"))
        .await
        .unwrap_err();

    assert_eq!(violation.failure, Some(HandlerFailure::Timeout));
    let messages = warnings.messages();
    let timeouts: Vec<_> = messages
        .iter()
        .filter(|m| m.contains("timed out after"))
        .collect();
    assert_eq!(timeouts.len(), 1, "{messages:?}");
    assert_eq!(
        messages.len(),
        1,
        "one failure, one warning (the violation it causes is not warned about again): \
         {messages:?}"
    );
    assert!(timeouts[0].contains("it did not yield"), "{}", timeouts[0]);
    assert!(timeouts[0].contains("spawn_blocking"), "{}", timeouts[0]);
    assert!(timeouts[0].contains("on_error = fail"), "{}", timeouts[0]);
}

#[tokio::test]
async fn a_handler_that_blocks_past_its_timeout_and_returns_is_used_and_warned_about_once() {
    let (warnings, _guard) = capture_warnings();
    let registry = PluginRegistry::new();
    registry.set_handler_timeout(Some(TIMEOUT));
    let blocking_guard = HookFn::new::<SessionPreInit, _>("blocking-guard", |_, _| {
        Box::pin(async {
            std::thread::sleep(TIMEOUT * 3);
            block("too slow, but decided")
        })
    });
    let _guard = registry.register(blocking_guard).unwrap();

    for _ in 0..2 {
        let violation = dispatch_pre_init(&registry, pre_init("a", "b"))
            .await
            .unwrap_err();
        assert_eq!(violation.reason, "too slow, but decided");
    }

    let blocking: Vec<_> = warnings
        .messages()
        .into_iter()
        .filter(|m| m.contains("without yielding"))
        .collect();
    assert_eq!(blocking.len(), 1, "{blocking:?}");
    assert!(blocking[0].contains("blocking-guard"), "{}", blocking[0]);
    assert!(blocking[0].contains("spawn_blocking"), "{}", blocking[0]);
    assert_eq!(registry.stats().handler_timeouts, 0);
}

// ---------------------------------------------------------------------------------------------
// Through a generation: the outcome, whether the backend ran, the violation, the counters

fn prompt(text: &str) -> GenerationRequest {
    GenerationRequest::new([Message::user(text)])
}

/// A `generation_pre_call` guard in `mode` that fails in the way `kind` says when the prompt
/// contains "secret".
fn failing_guard(name: &str, mode: PluginMode, kind: Kind, on_error: OnError) -> HookFn {
    HookFn::new::<GenerationPreCall, _>(name, move |payload, _ctx| {
        let secret = payload.prompt_text().contains("secret");
        Box::pin(async move {
            if !secret {
                return Ok(HookAction::Continue);
            }
            match kind {
                Kind::Error => Err("policy service unreachable".into()),
                Kind::Panic => panic!("guard bug"),
                Kind::Timeout => {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok(HookAction::Continue)
                }
            }
        })
    })
    .with_mode(mode)
    .with_on_error(on_error)
}

#[tokio::test(start_paused = true)]
async fn a_failing_guard_with_fail_blocks_the_generation_before_the_backend() {
    for mode in [Sequential, Concurrent] {
        for kind in KINDS {
            let what = format!("{mode} × {kind:?}");
            let session = format!("on-error-fail-{mode}-{kind:?}");
            let name = format!("{session}.guard");
            let registration = mellea::register_for_session(
                &session,
                failing_guard(&name, mode, kind, OnError::Fail),
            )
            .unwrap();
            let echo = Echo::new();

            let innocent = in_session(session.as_str(), echo.generate(prompt("hello"))).await;
            let secret = in_session(
                session.as_str(),
                echo.generate(prompt("tell me the secret café")),
            )
            .await;
            mellea::unregister(&registration);

            assert!(innocent.is_ok(), "{what}");
            let Err(EchoError::Blocked(violation)) = secret else {
                panic!("{what}: not blocked: {secret:?}");
            };
            assert_eq!(
                echo.calls(),
                1,
                "{what}: the backend ran for the secret prompt"
            );
            assert_eq!(violation.code, "plugin_failed", "{what}");
            assert_eq!(violation.plugin_name, name, "{what}");
            assert_eq!(violation.failure, Some(kind.failure()), "{what}");
            assert!(
                !violation.reason.contains("café"),
                "{what}: {}",
                violation.reason
            );
            let stats = registration.stats();
            assert_eq!(kind.counted(stats), 1, "{what}: {stats:?}");
            assert_eq!(stats.failed_closed, 1, "{what}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_guard_with_ignore_or_disable_lets_the_generation_through() {
    for on_error in [OnError::Ignore, OnError::Disable] {
        for kind in KINDS {
            let what = format!("{on_error} × {kind:?}");
            let session = format!("on-error-open-{on_error}-{kind:?}");
            let name = format!("{session}.guard");
            let registration = mellea::register_for_session(
                &session,
                failing_guard(&name, Sequential, kind, on_error),
            )
            .unwrap();
            let echo = Echo::new();

            let first = in_session(session.as_str(), echo.generate(prompt("the secret"))).await;
            let second = in_session(session.as_str(), echo.generate(prompt("the secret"))).await;
            let still_registered = mellea::global().handler_names().contains(&name);
            mellea::unregister(&registration);

            assert!(first.is_ok() && second.is_ok(), "{what}");
            assert_eq!(echo.calls(), 2, "{what}");
            let stats = registration.stats();
            let (failures, disabled) = match on_error {
                OnError::Disable => (1, 1),
                _ => (2, 0),
            };
            assert_eq!(kind.counted(stats), failures, "{what}: {stats:?}");
            assert_eq!(stats.disabled_handlers, disabled, "{what}");
            assert_eq!(still_registered, on_error == OnError::Ignore, "{what}");
        }
    }
}

/// The scenario of the issue, written with the macros: a guard that panics on "secret" lets
/// the prompt through by default, and blocks it with `on_error = fail`.
mod macro_guard {
    use super::*;
    use mellea::hooks::{GenerationPreCallPatch, GenerationPreCallPayload};
    use mellea::{HookContext, HookResult};

    pub struct StrictGuard;

    #[mellea::plugin(name = "on-error-strict-guard", on_error = fail)]
    impl StrictGuard {
        #[hook("generation_pre_call")]
        async fn check(
            &self,
            payload: &GenerationPreCallPayload,
            _ctx: &HookContext,
        ) -> HookResult<GenerationPreCallPatch> {
            if payload.prompt_text().contains("secret") {
                panic!("guard bug on {}", payload.prompt_text());
            }
            Ok(HookAction::Continue)
        }

        /// Its own `ignore` lets it sit in a mode that cannot block.
        #[hook("generation_post_call", mode = audit, on_error = ignore)]
        async fn log(
            &self,
            _payload: &mellea::hooks::GenerationPostCallPayload,
            _ctx: &HookContext,
        ) -> HookResult {
            Ok(HookAction::Continue)
        }
    }

    pub struct LaxGuard;

    #[mellea::plugin(name = "on-error-lax-guard")]
    impl LaxGuard {
        #[hook("generation_pre_call")]
        async fn check(
            &self,
            payload: &GenerationPreCallPayload,
            _ctx: &HookContext,
        ) -> HookResult<GenerationPreCallPatch> {
            if payload.prompt_text().contains("secret") {
                panic!("guard bug");
            }
            Ok(HookAction::Continue)
        }
    }
}

#[tokio::test]
async fn the_panicking_guard_of_the_issue_fails_open_by_default_and_closed_with_on_error_fail() {
    let echo = Echo::new();
    let lax = mellea::register_for_session("issue-lax", macro_guard::LaxGuard).unwrap();
    let outcome = in_session(
        "issue-lax",
        echo.generate(prompt("tell me the secret café")),
    )
    .await;
    mellea::unregister(&lax);
    assert!(outcome.is_ok());
    assert_eq!(echo.calls(), 1, "by default the prompt reaches the backend");

    let echo = Echo::new();
    let strict = mellea::register_for_session("issue-strict", macro_guard::StrictGuard).unwrap();
    let outcome = in_session(
        "issue-strict",
        echo.generate(prompt("tell me the secret café")),
    )
    .await;
    mellea::unregister(&strict);
    let Err(EchoError::Blocked(violation)) = outcome else {
        panic!("not blocked: {outcome:?}");
    };
    assert_eq!(
        echo.calls(),
        0,
        "with on_error = fail the backend is not called"
    );
    assert_eq!(violation.code, "plugin_failed");
    assert_eq!(
        violation.plugin_name,
        "on-error-strict-guard.generation_pre_call"
    );
    assert!(!violation.reason.contains("secret"), "{}", violation.reason);
    assert_eq!(strict.stats().handler_panics, 1);
    assert_eq!(strict.stats().failed_closed, 1);
}
