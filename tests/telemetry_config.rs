//! Setup from the environment (reference: mellea-tracing.md §1 and §9 cases 1–6): the variables
//! are read through a lookup function, so no test touches the process environment, and every
//! installation here is scoped to its own session.

use mellea::telemetry::{TelemetryBuilder, TracingConfig, truthy};

fn config(pairs: &[(&str, &str)]) -> TracingConfig {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    TracingConfig::from_lookup(move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
}

fn no_endpoint_warnings(warnings: &[String]) -> usize {
    warnings
        .iter()
        .filter(|w| w.contains("no endpoint is configured"))
        .count()
}

#[test]
fn tracing_is_disabled_when_mellea_traces_enabled_is_unset() {
    let c = config(&[]);
    assert!(!c.enabled);
    let telemetry = TelemetryBuilder::from_config(c)
        .for_session("cfg-off")
        .install()
        .unwrap();
    assert!(!telemetry.is_enabled());
    assert!(telemetry.tracer_provider().is_none() && telemetry.backend_plugin().is_none());
    assert!(
        !mellea::global()
            .handler_names()
            .iter()
            .any(|n| n.starts_with("backend_tracing")),
        "nothing registered"
    );
}

#[test]
fn mellea_traces_enabled_true_sets_up_tracers_and_the_plugin() {
    for value in ["true", "1", "YES"] {
        let c = config(&[("MELLEA_TRACES_ENABLED", value)]);
        assert!(c.enabled, "{value}");
        let session = format!("cfg-on-{value}");
        let telemetry = TelemetryBuilder::from_config(c)
            .for_session(session.clone())
            .install()
            .unwrap();
        assert!(telemetry.is_enabled());
        assert!(telemetry.tracer_provider().is_some());
        assert!(mellea::global().handler_names().contains(&format!(
            "backend_tracing.session.{session}.generation_pre_call"
        )));
    }
}

#[test]
fn content_capture_is_off_unless_either_variable_turns_it_on() {
    assert!(!config(&[]).capture_content);
    assert!(config(&[("MELLEA_TRACES_CONTENT", "true")]).capture_content);
    assert!(
        config(&[("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")]).capture_content
    );
    assert!(!config(&[("MELLEA_TRACES_CONTENT", "false")]).capture_content);
    let telemetry = TelemetryBuilder::from_config(config(&[
        ("MELLEA_TRACES_ENABLED", "1"),
        ("MELLEA_TRACES_CONTENT", "1"),
    ]))
    .for_session("cfg-content")
    .install()
    .unwrap();
    assert!(telemetry.backend_plugin().unwrap().captures_content());
}

#[test]
fn otlp_with_a_traces_endpoint_sets_up_the_backend_tracer_without_warnings() {
    let telemetry = TelemetryBuilder::from_config(config(&[
        ("MELLEA_TRACES_ENABLED", "true"),
        ("MELLEA_TRACES_OTLP", "true"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://localhost:4318/v1/traces",
        ),
    ]))
    .for_session("cfg-otlp")
    .install()
    .unwrap();
    assert!(telemetry.is_enabled() && telemetry.backend_plugin().is_some());
    assert!(
        telemetry.warnings().is_empty(),
        "{:?}",
        telemetry.warnings()
    );
}

#[test]
fn otlp_without_any_endpoint_warns_exactly_once() {
    let telemetry = TelemetryBuilder::from_config(config(&[
        ("MELLEA_TRACES_ENABLED", "true"),
        ("MELLEA_TRACES_OTLP", "true"),
    ]))
    .for_session("cfg-no-endpoint")
    .install()
    .unwrap();
    assert_eq!(no_endpoint_warnings(telemetry.warnings()), 1);
    assert_eq!(telemetry.warnings().len(), 1, "{:?}", telemetry.warnings());
    assert!(telemetry.warnings()[0].contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
    assert!(
        telemetry.is_enabled(),
        "tracing still works without the exporter"
    );
}

#[test]
fn otlp_with_only_the_general_endpoint_does_not_warn() {
    let c = config(&[
        ("MELLEA_TRACES_ENABLED", "true"),
        ("MELLEA_TRACES_OTLP", "true"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318"),
    ]);
    assert_eq!(
        c.otlp_endpoint.as_deref(),
        Some("http://localhost:4318/v1/traces")
    );
    let telemetry = TelemetryBuilder::from_config(c)
        .for_session("cfg-general")
        .install()
        .unwrap();
    assert_eq!(no_endpoint_warnings(telemetry.warnings()), 0);
    assert!(
        telemetry.warnings().is_empty(),
        "{:?}",
        telemetry.warnings()
    );
}

#[test]
fn an_unusable_endpoint_warns_and_leaves_tracing_working() {
    let telemetry = TelemetryBuilder::from_config(config(&[
        ("MELLEA_TRACES_ENABLED", "true"),
        ("MELLEA_TRACES_OTLP", "true"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://exa mple:4318/v1/traces",
        ),
    ]))
    .for_session("cfg-bad-endpoint")
    .install()
    .unwrap();
    assert_eq!(telemetry.warnings().len(), 1, "{:?}", telemetry.warnings());
    assert!(
        telemetry.warnings()[0].starts_with("Failed to initialize OTLP trace exporter"),
        "{:?}",
        telemetry.warnings()
    );
    assert!(telemetry.is_enabled());
}

#[test]
fn a_grpc_protocol_request_warns_that_http_protobuf_is_used() {
    let telemetry = TelemetryBuilder::from_config(config(&[
        ("MELLEA_TRACES_ENABLED", "true"),
        ("MELLEA_TRACES_OTLP", "true"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4317"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ]))
    .for_session("cfg-grpc")
    .install()
    .unwrap();
    assert_eq!(telemetry.warnings().len(), 1, "{:?}", telemetry.warnings());
    assert!(telemetry.warnings()[0].contains("`grpc` is not supported"));
}

#[test]
fn bad_values_never_panic_and_read_as_off() {
    let weird = [
        "", " ", "on", "enabled", "truee", " 1", "\u{0}", "🦀", "-1", "true\n",
    ];
    for value in weird {
        assert!(!truthy(Some(value)), "{value:?}");
        let mut c = config(&[
            ("MELLEA_TRACES_ENABLED", value),
            ("MELLEA_TRACES_OTLP", value),
            ("MELLEA_TRACES_CONSOLE", value),
            ("MELLEA_TRACES_CONTENT", value),
            ("OTEL_SERVICE_NAME", value),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", value),
        ]);
        assert!(
            !c.enabled && !c.otlp && !c.console && !c.capture_content,
            "{value:?}"
        );
        // Forced on, the odd endpoint and service name must not panic either.
        c.enabled = true;
        let telemetry = TelemetryBuilder::from_config(c)
            .with_service_name(value)
            .with_otlp_endpoint(format!("{value}/v1/traces"))
            .for_session(format!("cfg-weird-{}", value.escape_default()))
            .install()
            .expect("odd values never fail setup");
        assert!(telemetry.is_enabled());
        telemetry.shutdown().expect("nothing to export");
    }
}

#[test]
fn the_service_name_comes_from_otel_service_name_with_mellea_as_default() {
    assert_eq!(config(&[]).service_name, "mellea");
    assert_eq!(
        config(&[("OTEL_SERVICE_NAME", "ticket-bot")]).service_name,
        "ticket-bot"
    );
}
