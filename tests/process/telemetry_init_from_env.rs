//! `init_from_env` reads the process environment, registers the plugin once, and tears down
//! with its last guard.
//!
//! In the `process` binary, which runs its tests one at a time: it sets process environment
//! variables.

use mellea::telemetry::init_from_env;

fn tracing_handlers() -> Vec<String> {
    mellea::global()
        .handler_names()
        .into_iter()
        .filter(|n| n.starts_with("backend_tracing."))
        .collect()
}

#[test]
fn init_from_env_follows_the_environment_and_registers_once() {
    let _exclusive = crate::support::exclusive();
    // SAFETY: the only test of this binary; no other thread reads the environment meanwhile.
    unsafe {
        std::env::remove_var("MELLEA_TRACES_ENABLED");
        std::env::remove_var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        std::env::remove_var("OTEL_EXPORTER_OTLP_ENDPOINT");
    }
    let off = init_from_env().unwrap();
    assert!(!off.is_enabled());
    assert!(tracing_handlers().is_empty());
    drop(off);

    // SAFETY: as above.
    unsafe {
        std::env::set_var("MELLEA_TRACES_ENABLED", "true");
        std::env::set_var("MELLEA_TRACES_OTLP", "1");
        std::env::set_var("OTEL_SERVICE_NAME", "env-test");
    }
    let first = init_from_env().unwrap();
    assert!(first.is_enabled());
    assert_eq!(first.config().service_name, "env-test");
    assert_eq!(first.warnings().len(), 1, "{:?}", first.warnings());
    assert!(first.warnings()[0].contains("no endpoint is configured"));
    let second = init_from_env().unwrap();
    assert_eq!(
        tracing_handlers()
            .iter()
            .filter(|n| n.as_str() == "backend_tracing.generation_pre_call")
            .count(),
        1
    );
    drop(first);
    assert!(!tracing_handlers().is_empty());
    drop(second);
    assert!(tracing_handlers().is_empty());
}
