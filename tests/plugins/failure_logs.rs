//! What a failing handler leaves in the logs: one WARN naming the plugin, the hook and the
//! failure class, never the handler's own words (they may quote the prompt), whatever the
//! failure policy, at most once a minute per handler; its message only at DEBUG and only when
//! the registry opts in. The same for a block: WARN without the reason, which the caller gets.

use crate::support::plugins as support;

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use mellea::hooks::SessionPreInit;
use mellea::plugin::{HookFn, OnError, PluginMode, PluginRegistry};
use support::{dispatch_pre_init, pre_init};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Text a handler fails with; it stands for a quoted prompt.
const CANARY: &str = "CANARY-prompt-text-4711";

/// Every event of this thread: its level and all its fields, rendered.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<(Level, String)>>>);

impl Events {
    fn at(&self, level: Level) -> Vec<String> {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|(l, _)| *l == level)
            .map(|(_, text)| text.clone())
            .collect()
    }
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl<S: Subscriber> Layer<S> for Events {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), fields.0));
    }
}

fn capture() -> (Events, tracing::subscriber::DefaultGuard) {
    let events = Events::default();
    let subscriber = tracing_subscriber::registry().with(events.clone());
    (events, tracing::subscriber::set_default(subscriber))
}

#[derive(Clone, Copy, Debug)]
enum Failing {
    Error,
    Panic,
}

fn failing(kind: Failing, on_error: OnError) -> HookFn {
    HookFn::new::<SessionPreInit, _>("leaky", move |_, _| {
        Box::pin(async move {
            match kind {
                Failing::Error => Err(format!("could not check {CANARY}").into()),
                Failing::Panic => panic!("bug while reading {CANARY}"),
            }
        })
    })
    .with_mode(PluginMode::Sequential)
    .with_on_error(on_error)
}

#[tokio::test]
async fn a_failing_handler_is_warned_about_once_without_its_message() {
    for on_error in [OnError::Ignore, OnError::Fail, OnError::Disable] {
        for kind in [Failing::Error, Failing::Panic] {
            let what = format!("{on_error} × {kind:?}");
            let registry = PluginRegistry::new();
            let _leaky = registry.register(failing(kind, on_error)).unwrap();
            let (events, guard) = capture();
            let outcome = dispatch_pre_init(&registry, pre_init("a", "b")).await;
            drop(guard);
            assert_eq!(outcome.is_err(), on_error == OnError::Fail, "{what}");

            let warnings = events.at(Level::WARN);
            assert_eq!(
                warnings.len(),
                1,
                "{what}: one failure, one WARN: {warnings:?}"
            );
            let warning = &warnings[0];
            assert!(
                warning.contains("leaky"),
                "{what}: names the handler: {warning}"
            );
            assert!(
                warning.contains("session_pre_init"),
                "{what}: names the hook: {warning}"
            );
            let class = match kind {
                Failing::Error => "returned an error",
                Failing::Panic => "panicked",
            };
            assert!(
                warning.contains(class),
                "{what}: says what happened: {warning}"
            );
            let everything = format!("{:?}", events.0.lock().unwrap());
            assert!(
                !everything.contains(CANARY),
                "{what}: the handler's message reached the logs: {everything}"
            );
        }
    }
}

#[tokio::test]
async fn an_opted_in_registry_logs_the_message_at_debug_only() {
    for kind in [Failing::Error, Failing::Panic] {
        let registry = PluginRegistry::new();
        registry.set_log_handler_messages(true);
        let _leaky = registry.register(failing(kind, OnError::Ignore)).unwrap();
        let (events, guard) = capture();
        let dispatched = dispatch_pre_init(&registry, pre_init("a", "b")).await;
        drop(guard);
        assert!(dispatched.is_ok(), "ignore lets the dispatch through");

        let debug: Vec<_> = events
            .at(Level::DEBUG)
            .into_iter()
            .filter(|e| e.contains(CANARY))
            .collect();
        assert_eq!(debug.len(), 1, "{kind:?}: {debug:?}");
        assert!(debug[0].contains("leaky"), "{}", debug[0]);
        let warnings = events.at(Level::WARN);
        assert_eq!(warnings.len(), 1, "{kind:?}: {warnings:?}");
        assert!(!warnings[0].contains(CANARY), "{}", warnings[0]);
    }
}

#[tokio::test]
async fn a_handler_failing_on_every_call_is_warned_about_once_a_minute_and_counted_each_time() {
    let registry = PluginRegistry::new();
    let _leaky = registry
        .register(failing(Failing::Panic, OnError::Ignore))
        .unwrap();
    let (events, guard) = capture();
    for _ in 0..5 {
        assert!(
            dispatch_pre_init(&registry, pre_init("a", "b"))
                .await
                .is_ok()
        );
    }
    drop(guard);
    let warnings = events.at(Level::WARN);
    assert_eq!(warnings.len(), 1, "five failures, one WARN: {warnings:?}");
    assert_eq!(
        registry.stats().handler_panics,
        5,
        "every failure is counted"
    );
}

fn blocking(mode: PluginMode) -> HookFn {
    HookFn::new::<SessionPreInit, _>("guard", |_, _| {
        Box::pin(async {
            Ok(mellea::HookAction::Block(
                mellea::plugin::Violation::new(format!("the prompt quotes {CANARY}"))
                    .with_code("PII"),
            ))
        })
    })
    .with_mode(mode)
}

#[tokio::test]
async fn a_block_is_warned_about_without_its_reason_which_the_caller_gets() {
    for mode in [PluginMode::Sequential, PluginMode::Transform] {
        let registry = PluginRegistry::new();
        let _guard = registry.register(blocking(mode)).unwrap();
        let (events, guard) = capture();
        let outcome = dispatch_pre_init(&registry, pre_init("a", "b")).await;
        let _ = dispatch_pre_init(&registry, pre_init("a", "b")).await;
        drop(guard);
        if mode == PluginMode::Sequential {
            let violation = outcome.expect_err("a sequential block stops the dispatch");
            assert!(
                violation.reason.contains(CANARY),
                "the caller gets the reason"
            );
        } else {
            assert!(outcome.is_ok(), "a transform block is ignored");
        }
        let warnings = events.at(Level::WARN);
        assert_eq!(
            warnings.len(),
            1,
            "{mode}: two blocks, one WARN: {warnings:?}"
        );
        assert!(
            warnings[0].contains("guard") && warnings[0].contains("session_pre_init"),
            "{mode}: names the plugin and the hook: {}",
            warnings[0]
        );
        let everything = format!("{:?}", events.0.lock().unwrap());
        assert!(
            !everything.contains(CANARY),
            "{mode}: the block's reason reached the logs: {everything}"
        );
    }
}

#[tokio::test]
async fn an_opted_in_registry_logs_a_blocks_reason_at_debug_only() {
    let registry = PluginRegistry::new();
    registry.set_log_handler_messages(true);
    let _guard = registry.register(blocking(PluginMode::Sequential)).unwrap();
    let (events, guard) = capture();
    assert!(
        dispatch_pre_init(&registry, pre_init("a", "b"))
            .await
            .is_err()
    );
    drop(guard);
    let debug: Vec<_> = events
        .at(Level::DEBUG)
        .into_iter()
        .filter(|e| e.contains(CANARY))
        .collect();
    assert_eq!(debug.len(), 1, "{debug:?}");
    assert!(events.at(Level::WARN).iter().all(|w| !w.contains(CANARY)));
}
