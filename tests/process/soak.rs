//! Soak: many generations in flight at once on a multi-thread runtime with the tracing plugin,
//! a tenth of them dropped mid-call, one in twenty failing, one in a hundred meeting a plugin
//! that panics. Every generation must produce exactly one exported span with the right status,
//! and nothing per-call may stay alive.
//!
//! `soak_in_ci` runs a small version on every `cargo test`; the full run (100,000
//! generations, with 1 and 2 worker threads, reporting throughput and peak memory) is
//! `cargo test --release --test process soak -- --ignored --nocapture`.
//!
//! In the `process` binary, which runs its tests one at a time: it checks process-wide counters.

use crate::support::echo_backend;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use echo_backend::Echo;
use mellea::generation::{GenerationRequest, Message, live_generations};
use mellea::hooks::{GenerationPreCallPatch, GenerationPreCallPayload};
use mellea::session::in_session;
use mellea::telemetry::TelemetryBuilder;
use mellea::{HookAction, HookContext, HookResult};
use opentelemetry::trace::Status;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Tallies exported spans by outcome instead of keeping them (100,000 spans would be the
/// soak's largest memory user).
#[derive(Clone, Debug, Default)]
struct Tally(Arc<Mutex<BTreeMap<String, usize>>>);

impl SpanExporter for Tally {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut tally = self.0.lock().unwrap();
        for span in batch {
            let outcome = match &span.status {
                Status::Unset | Status::Ok => "ok".to_owned(),
                Status::Error { .. } => span
                    .attributes
                    .iter()
                    .find(|kv| kv.key.as_str() == "error.type")
                    .map_or("error".to_owned(), |kv| kv.value.to_string()),
            };
            *tally.entry(outcome).or_default() += 1;
        }
        Ok(())
    }
}

/// Panics in pre-call for requests that ask for it; the generation must not notice.
struct Panicky;

#[mellea::plugin(name = "soak_panicky")]
impl Panicky {
    #[hook("generation_pre_call")]
    async fn maybe_panic(
        &self,
        payload: &GenerationPreCallPayload,
        _ctx: &HookContext,
    ) -> HookResult<GenerationPreCallPatch> {
        if payload.model_options.contains_key("plugin_panic") {
            panic!("soak plugin panics on purpose");
        }
        Ok(HookAction::Continue)
    }
}

struct Report {
    generations: usize,
    elapsed: Duration,
    tally: BTreeMap<String, usize>,
    peak_rss_kib: Option<u64>,
}

/// Peak resident memory of this process so far (Linux), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Keeps the intended plugin panics out of the output; any other panic still reports.
fn quiet_intended_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let intended = info
                .payload()
                .downcast_ref::<&str>()
                .is_some_and(|message| message.contains("panics on purpose"));
            if !intended {
                default(info);
            }
        }));
    });
}

fn soak(generations: usize, workers: usize) -> Report {
    quiet_intended_panics();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    let session = format!("soak-{generations}-{workers}");
    let tally = Tally::default();
    let telemetry = TelemetryBuilder::new()
        .for_session(&session)
        .with_simple_exporter(tally.clone())
        .install()
        .unwrap();
    let panicky = mellea::register_for_session(&session, Panicky).unwrap();
    let echo = Arc::new(Echo::new());
    let started = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..generations)
            .map(|i| {
                let echo = echo.clone();
                let session = session.clone();
                tokio::spawn(in_session(session, async move {
                    let mut request = GenerationRequest::new([Message::user(format!("n{i}"))]);
                    match i % 100 {
                        // Dropped mid-call: the caller gives up before the backend answers.
                        0..10 => {
                            // (A body that never answers: however late a starved task is
                            // polled, the timeout is what ends it.)
                            request = request.with_option("hang", true);
                            let call = echo.generate(request);
                            let _ = tokio::time::timeout(Duration::from_millis(5), call).await;
                            return;
                        }
                        10..15 => request = request.with_option("fail", true),
                        15 => request = request.with_option("plugin_panic", true),
                        _ => {}
                    }
                    let _ = echo.generate(request.with_option("sleep_ms", 1)).await;
                }))
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        // Ends fired from a drop may finish on the runtime just after the drop.
        for _ in 0..1000 {
            if live_generations() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    let elapsed = started.elapsed();
    assert_eq!(live_generations(), 0, "no generation may stay live");
    let plugin = telemetry.backend_plugin().unwrap().clone();
    assert_eq!(plugin.open_spans(), 0, "no span may stay open");
    telemetry.force_flush().unwrap();
    mellea::unregister(&panicky);
    drop(telemetry);
    let tally = tally.0.lock().unwrap().clone();
    Report {
        generations,
        elapsed,
        tally,
        peak_rss_kib: peak_rss_kib(),
    }
}

fn check(report: &Report) {
    let n = report.generations;
    let count = |key: &str| report.tally.get(key).copied().unwrap_or(0);
    let spans: usize = report.tally.values().sum();
    assert_eq!(spans, n, "one span per generation: {:?}", report.tally);
    assert_eq!(count("cancelled"), n / 10, "{:?}", report.tally);
    assert_eq!(count("EchoError"), n / 20, "{:?}", report.tally);
    assert_eq!(count("ok"), n - n / 10 - n / 20, "{:?}", report.tally);
}

fn print(report: &Report, workers: usize) {
    println!(
        "{} generations, {workers} worker thread(s): {:.2?}, {:.0} generations/s, peak RSS {} MiB, spans {:?}",
        report.generations,
        report.elapsed,
        report.generations as f64 / report.elapsed.as_secs_f64(),
        report
            .peak_rss_kib
            .map_or("?".to_owned(), |k| (k / 1024).to_string()),
        report.tally,
    );
}

#[test]
fn soak_in_ci() {
    let _exclusive = crate::support::exclusive();
    let report = soak(5_000, 2);
    print(&report, 2);
    check(&report);
}

#[test]
#[ignore = "the full soak: cargo test --release --test process soak -- --ignored --nocapture"]
fn soak_full_100k_with_one_and_two_workers() {
    let _exclusive = crate::support::exclusive();
    for workers in [1, 2] {
        let report = soak(100_000, workers);
        print(&report, workers);
        check(&report);
    }
}
