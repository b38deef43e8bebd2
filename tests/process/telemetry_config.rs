//! Setup from the environment (reference: mellea-tracing.md §1 and §9 cases 1–6): the variables
//! are read through a lookup function, so no test touches the process environment, and every
//! installation here is scoped to its own session.

use mellea::telemetry::{MetricsConfig, OtlpProtocol, TelemetryBuilder, TracingConfig, truthy};

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
    let _exclusive = crate::support::exclusive();
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
    let _exclusive = crate::support::exclusive();
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
    let _exclusive = crate::support::exclusive();
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
    let _exclusive = crate::support::exclusive();
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
    let _exclusive = crate::support::exclusive();
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
    let _exclusive = crate::support::exclusive();
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
fn an_unusable_endpoint_is_named_and_the_default_used_instead() {
    let _exclusive = crate::support::exclusive();
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
    let warnings = telemetry.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=`http://exa mple:4318/v1/traces` is not an \
             http:// or https:// URL with a host; ignored"
        ),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("exporting to the default http://localhost:4318/v1/traces"),
        "{warnings:?}"
    );
    assert!(telemetry.is_enabled());
}

#[test]
fn an_endpoint_set_in_code_that_is_not_a_url_is_not_exported_to() {
    let _exclusive = crate::support::exclusive();
    let telemetry = TelemetryBuilder::new()
        .with_otlp_endpoint("localhost:4318")
        .for_session("cfg-code-endpoint")
        .install()
        .unwrap();
    assert_eq!(telemetry.warnings().len(), 1, "{:?}", telemetry.warnings());
    assert!(
        telemetry.warnings()[0].starts_with("Failed to initialize OTLP trace exporter"),
        "{:?}",
        telemetry.warnings()
    );
    assert_eq!(format!("{:?}", telemetry).matches("Pipeline").count(), 0);
}

#[test]
fn grpc_is_a_supported_protocol_with_its_own_default_endpoint() {
    let _exclusive = crate::support::exclusive();
    let c = config(&[
        ("MELLEA_TRACES_ENABLED", "true"),
        ("MELLEA_TRACES_OTLP", "true"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ]);
    assert_eq!(c.otlp_transport, OtlpProtocol::Grpc);
    assert_eq!(c.otlp_endpoint, None);
    let telemetry = TelemetryBuilder::from_config(c)
        .for_session("cfg-grpc")
        .install()
        .unwrap();
    assert_eq!(telemetry.warnings().len(), 1, "{:?}", telemetry.warnings());
    assert!(
        telemetry.warnings()[0].contains("no endpoint is configured")
            && telemetry.warnings()[0].contains("the default http://localhost:4317 "),
        "{:?}",
        telemetry.warnings()
    );
    let c = config(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
    ]);
    assert_eq!(c.otlp_endpoint.as_deref(), Some("http://collector:4317"));
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
}

/// Each malformed or unsupported value gives exactly one warning naming the variable, the
/// value and what was done instead.
#[test]
fn every_malformed_variable_is_named_once_with_what_was_done() {
    let _exclusive = crate::support::exclusive();
    let cases: &[(&str, &str, &str)] = &[
        ("MELLEA_TRACES_ENABLED", "on", "treated as off"),
        ("MELLEA_TRACES_OTLP", " t rue", "treated as off"),
        ("MELLEA_TRACES_CONSOLE", "enabled", "treated as off"),
        ("MELLEA_TRACES_CONTENT", "2", "treated as off"),
        (
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
            "y",
            "treated as off",
        ),
        (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "http/xml",
            "exporting with http/protobuf",
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "udp",
            "exporting with http/protobuf",
        ),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "ftp://collector:21",
            "ignored",
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "collector:4318",
            "ignored",
        ),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://localhost:6006/v1/traces",
            "did you mean OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?",
        ),
        (
            "OTEL_EXPORTER_OTLP_TIMEOUT",
            "abc",
            "using the default 10000",
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "1.5s",
            "using the default 10000",
        ),
        ("OTEL_EXPORTER_OTLP_HEADERS", "novalue", "skipped"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "bad key=v", "skipped"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "k=%GG", "not sent"),
        (
            "OTEL_EXPORTER_OTLP_COMPRESSION",
            "zstd",
            "sending uncompressed",
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
            "brotli",
            "sending uncompressed",
        ),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "lots", "using the default 2048"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "0", "using the default 2048"),
        ("OTEL_BSP_SCHEDULE_DELAY", "5s", "using the default 5000"),
        (
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            "-1",
            "using the default 512",
        ),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4096", "using 2048"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "soon", "using the default"),
    ];
    for (name, value, done) in cases {
        let c = config(&[(name, value)]);
        let warnings = c.warnings();
        assert_eq!(warnings.len(), 1, "{name}={value}: {warnings:?}");
        assert!(warnings[0].contains(name), "{name}: {}", warnings[0]);
        if !name.ends_with("HEADERS") {
            assert!(
                warnings[0].contains(value.trim()),
                "{value}: {}",
                warnings[0]
            );
        }
        assert!(warnings[0].contains(done), "{done}: {}", warnings[0]);
    }
    // Good values draw no warning.
    let c = config(&[
        ("MELLEA_TRACES_ENABLED", "0"),
        ("MELLEA_TRACES_OTLP", "no"),
        ("MELLEA_TRACES_CONSOLE", ""),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "20000"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "a=1, b=2"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "50"),
        ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "30000"),
    ]);
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    assert_eq!(c.batch.max_queue_size, Some(100));
    assert_eq!(c.otlp_timeout, Some(std::time::Duration::from_secs(20)));
}

#[test]
fn a_mistyped_switch_is_warned_about_even_though_tracing_stays_off() {
    let _exclusive = crate::support::exclusive();
    let telemetry = TelemetryBuilder::from_config(config(&[("MELLEA_TRACES_ENABLED", "on")]))
        .install()
        .unwrap();
    assert!(!telemetry.is_enabled());
    assert_eq!(telemetry.warnings().len(), 1, "{:?}", telemetry.warnings());
    assert!(telemetry.warnings()[0].starts_with("MELLEA_TRACES_ENABLED=`on`"));
}

#[test]
fn no_debug_or_warning_shows_userinfo_or_header_values() {
    let _exclusive = crate::support::exclusive();
    let c = config(&[
        ("MELLEA_TRACES_ENABLED", "1"),
        ("MELLEA_TRACES_OTLP", "1"),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "https://user:pa55@collector:4318",
        ),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer%20s3cr3t,oops",
        ),
    ]);
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("pa55") && !shown.contains("user:"),
        "{shown}"
    );
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(
        shown.contains("https://collector:4318/v1/traces"),
        "{shown}"
    );
    let builder = TelemetryBuilder::from_config(c.clone());
    assert!(!format!("{builder:?}").contains("pa55"));
    let telemetry = builder.for_session("cfg-userinfo").install().unwrap();
    let shown = format!("{telemetry:?}");
    assert!(
        !shown.contains("pa55") && !shown.contains("s3cr3t"),
        "{shown}"
    );
    for warning in telemetry.warnings() {
        assert!(
            !warning.contains("pa55") && !warning.contains("s3cr3t"),
            "{warning}"
        );
    }
    let bad = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://user:pa55@host")]);
    assert!(!bad.warnings()[0].contains("pa55"), "{:?}", bad.warnings());
}

#[test]
fn bad_values_never_panic_and_read_as_off() {
    let _exclusive = crate::support::exclusive();
    let weird = [
        "", " ", "on", "enabled", "truee", " 1 0", "\u{0}", "🦀", "-1", "t\nrue",
    ];
    // One whitespace rule for every flag: surrounding whitespace is ignored.
    for padded in [" 1", "true\n", " Yes "] {
        assert!(truthy(Some(padded)), "{padded:?}");
        assert!(
            config(&[("MELLEA_TRACES_ENABLED", padded)]).enabled,
            "{padded:?}"
        );
        assert!(
            MetricsConfig::from_lookup(
                |name| (name == "MELLEA_METRICS_ENABLED").then(|| padded.to_owned())
            )
            .enabled,
            "{padded:?}"
        );
    }
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
    let _exclusive = crate::support::exclusive();
    assert_eq!(config(&[]).service_name, "mellea");
    assert_eq!(
        config(&[("OTEL_SERVICE_NAME", "ticket-bot")]).service_name,
        "ticket-bot"
    );
}
