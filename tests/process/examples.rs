//! The examples run and do what they say.
//!
//! Each example is compiled into this test as a module and its `run` function is called, so
//! `cargo test` checks the same code `cargo run --example ...` runs, without spawning cargo.

#[allow(dead_code)] // `main` is the example's entry point, unused here.
#[path = "../../examples/quickstart.rs"]
mod quickstart;

use mellea::hooks::HookType;

/// The quickstart registers process-wide plugins by name: its runs must not overlap.
static QUICKSTART: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn quickstart_patches_one_generation_blocks_the_other_and_cleans_up() {
    let _exclusive = crate::support::exclusive();
    let _one_at_a_time = QUICKSTART.lock().await;
    let lines = quickstart::run().await.lines();

    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert_eq!(lines[0], "guardrails: pinning temperature to 0");
    assert!(
        lines[1].starts_with("latency_logger: echo-1 answered in "),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[2],
        "reply: echo (temperature 0.0): Write a haiku about Rust"
    );
    assert_eq!(
        lines[3],
        "guardrails: blocking a prompt that mentions a password"
    );
    assert_eq!(
        lines[4],
        "error: Plugin blocked generation_pre_call: [SECRET] prompt mentions a password"
    );
    assert!(!mellea::has_listeners(HookType::GenerationPreCall));
    assert!(!mellea::has_listeners(HookType::GenerationPostCall));
}

#[tokio::test]
async fn quickstart_prints_the_generation_span_beneath_the_application_span() {
    let _exclusive = crate::support::exclusive();
    let _one_at_a_time = QUICKSTART.lock().await;
    let tree = quickstart::run_traced().await.unwrap();
    let lines: Vec<&str> = tree.lines().collect();
    assert!(lines[0].starts_with("quickstart [Internal"), "{tree}");
    assert!(lines[1].starts_with("  chat echo-1 [Internal"), "{tree}");
    assert!(lines[1].contains("gen_ai.request.model=echo-1"), "{tree}");
    assert!(lines[1].contains("gen_ai.usage.output_tokens="), "{tree}");
    assert_eq!(
        lines.len(),
        2,
        "the blocked generation never began a span: {tree}"
    );
}
