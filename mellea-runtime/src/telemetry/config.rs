//! Tracing configuration read from the environment.
//!
//! Every variable is read through a lookup function, so tests and embedders can supply their
//! own environment without touching the process's ([`TracingConfig::from_lookup`]).

use super::attributes::{
    ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV, DEFAULT_CONTENT_VALUE_LIMIT,
    SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV,
};

/// Umbrella switch: without it nothing is set up and nothing is registered.
pub const TRACES_ENABLED_ENV: &str = "MELLEA_TRACES_ENABLED";
/// Adds OTLP/HTTP (protobuf) export behind a batch span processor.
pub const TRACES_OTLP_ENV: &str = "MELLEA_TRACES_OTLP";
/// Adds export to standard output behind a batch span processor.
pub const TRACES_CONSOLE_ENV: &str = "MELLEA_TRACES_CONSOLE";
/// Records prompt and completion content on backend spans (may contain PII).
pub const TRACES_CONTENT_ENV: &str = "MELLEA_TRACES_CONTENT";
/// The OpenTelemetry-wide switch for message content capture; same effect as
/// [`TRACES_CONTENT_ENV`].
pub const CAPTURE_MESSAGE_CONTENT_ENV: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";
/// OTLP endpoint for traces, used as given (e.g. `http://localhost:4318/v1/traces`).
pub const OTLP_TRACES_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// OTLP base endpoint for all signals; `/v1/traces` is appended for traces.
pub const OTLP_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// OTLP protocol for traces; only `http/protobuf` is supported.
pub const OTLP_TRACES_PROTOCOL_ENV: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
/// OTLP protocol for all signals; only `http/protobuf` is supported.
pub const OTLP_PROTOCOL_ENV: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// `service.name` of the exported resource.
pub const SERVICE_NAME_ENV: &str = "OTEL_SERVICE_NAME";

/// `service.name` when [`SERVICE_NAME_ENV`] is unset or empty.
pub const DEFAULT_SERVICE_NAME: &str = "mellea";

/// The only OTLP protocol this crate exports with.
pub const OTLP_PROTOCOL_HTTP_PROTOBUF: &str = "http/protobuf";

/// Whether an environment value switches a flag on: `1`, `true` or `yes` in any case.
///
/// As in the Python original, the value is not trimmed: `" true"` and `"on"` are off, and so
/// is an unset variable.
///
/// ```
/// use mellea_runtime::telemetry::truthy;
/// assert!(truthy(Some("TRUE")) && truthy(Some("1")) && truthy(Some("Yes")));
/// assert!(!truthy(Some("on")) && !truthy(Some(" true")) && !truthy(None));
/// ```
pub fn truthy(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        v.eq_ignore_ascii_case("1")
            || v.eq_ignore_ascii_case("true")
            || v.eq_ignore_ascii_case("yes")
    })
}

/// What tracing should do, as read from the environment.
///
/// ```
/// use mellea_runtime::telemetry::TracingConfig;
/// let env = [("MELLEA_TRACES_ENABLED", "1"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")];
/// let config = TracingConfig::from_lookup(|name| {
///     env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
/// });
/// assert!(config.enabled && !config.otlp);
/// assert_eq!(config.otlp_endpoint.as_deref(), Some("http://collector:4318/v1/traces"));
/// assert_eq!(config.service_name, "mellea");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TracingConfig {
    /// [`TRACES_ENABLED_ENV`]: set up tracing at all.
    pub enabled: bool,
    /// [`TRACES_OTLP_ENV`]: export by OTLP.
    pub otlp: bool,
    /// Where OTLP export goes: [`OTLP_TRACES_ENDPOINT_ENV`] as given, otherwise
    /// [`OTLP_ENDPOINT_ENV`] with `/v1/traces` appended; `None` if neither is set (empty
    /// values count as unset).
    pub otlp_endpoint: Option<String>,
    /// The OTLP protocol asked for ([`OTLP_TRACES_PROTOCOL_ENV`], then
    /// [`OTLP_PROTOCOL_ENV`]), if any; anything but `http/protobuf` draws a warning.
    pub otlp_protocol: Option<String>,
    /// [`TRACES_CONSOLE_ENV`]: print finished spans to standard output.
    pub console: bool,
    /// [`SERVICE_NAME_ENV`], or [`DEFAULT_SERVICE_NAME`].
    pub service_name: String,
    /// [`TRACES_CONTENT_ENV`] or [`CAPTURE_MESSAGE_CONTENT_ENV`]: record prompts and
    /// completions (`gen_ai.input.messages` / `gen_ai.output.messages`).
    pub capture_content: bool,
    /// The longest captured content attribute, in characters:
    /// [`SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV`], then [`ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV`],
    /// then [`DEFAULT_CONTENT_VALUE_LIMIT`] (a value that is not a whole number counts as
    /// unset).
    pub content_value_limit: usize,
}

impl Default for TracingConfig {
    /// Everything off; service name [`DEFAULT_SERVICE_NAME`].
    fn default() -> Self {
        Self {
            enabled: false,
            otlp: false,
            otlp_endpoint: None,
            otlp_protocol: None,
            console: false,
            service_name: DEFAULT_SERVICE_NAME.to_owned(),
            capture_content: false,
            content_value_limit: DEFAULT_CONTENT_VALUE_LIMIT,
        }
    }
}

impl TracingConfig {
    /// Reads the process environment. Values that are not valid Unicode count as unset.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (name → value), never the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let flag = |name: &str| truthy(lookup(name).as_deref());
        let otlp_endpoint = non_empty(OTLP_TRACES_ENDPOINT_ENV).or_else(|| {
            non_empty(OTLP_ENDPOINT_ENV)
                .map(|base| format!("{}/v1/traces", base.trim().trim_end_matches('/')))
        });
        Self {
            enabled: flag(TRACES_ENABLED_ENV),
            otlp: flag(TRACES_OTLP_ENV),
            otlp_endpoint,
            otlp_protocol: non_empty(OTLP_TRACES_PROTOCOL_ENV)
                .or_else(|| non_empty(OTLP_PROTOCOL_ENV)),
            console: flag(TRACES_CONSOLE_ENV),
            service_name: non_empty(SERVICE_NAME_ENV)
                .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned()),
            capture_content: flag(TRACES_CONTENT_ENV) || flag(CAPTURE_MESSAGE_CONTENT_ENV),
            content_value_limit: [
                SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV,
                ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV,
            ]
            .into_iter()
            .find_map(|name| non_empty(name)?.trim().parse().ok())
            .unwrap_or(DEFAULT_CONTENT_VALUE_LIMIT),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(env: &[(&str, &str)]) -> TracingConfig {
        TracingConfig::from_lookup(|name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn truthy_accepts_one_true_yes_in_any_case_and_nothing_else() {
        for on in ["1", "true", "TRUE", "True", "yes", "YES"] {
            assert!(truthy(Some(on)), "{on:?}");
        }
        for off in ["", "0", "false", "no", "on", " true", "true ", "2", "y"] {
            assert!(!truthy(Some(off)), "{off:?}");
        }
        assert!(!truthy(None));
    }

    #[test]
    fn the_traces_endpoint_wins_and_is_used_verbatim() {
        let c = config(&[
            (OTLP_TRACES_ENDPOINT_ENV, "http://a:4318/custom"),
            (OTLP_ENDPOINT_ENV, "http://b:4318"),
        ]);
        assert_eq!(c.otlp_endpoint.as_deref(), Some("http://a:4318/custom"));
    }

    #[test]
    fn an_empty_traces_endpoint_falls_through_to_the_general_one_with_the_traces_path() {
        let c = config(&[
            (OTLP_TRACES_ENDPOINT_ENV, ""),
            (OTLP_ENDPOINT_ENV, "http://b:4318/"),
        ]);
        assert_eq!(c.otlp_endpoint.as_deref(), Some("http://b:4318/v1/traces"));
    }

    #[test]
    fn the_service_name_defaults_to_mellea() {
        assert_eq!(config(&[]).service_name, "mellea");
        assert_eq!(config(&[(SERVICE_NAME_ENV, "")]).service_name, "mellea");
        assert_eq!(config(&[(SERVICE_NAME_ENV, "svc")]).service_name, "svc");
    }

    #[test]
    fn the_content_limit_prefers_the_span_variable_then_the_general_one_then_the_default() {
        assert_eq!(config(&[]).content_value_limit, DEFAULT_CONTENT_VALUE_LIMIT);
        let both = config(&[
            (SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV, "100"),
            (ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV, "200"),
        ]);
        assert_eq!(both.content_value_limit, 100);
        let general = config(&[(ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV, " 200 ")]);
        assert_eq!(general.content_value_limit, 200);
        let bad = config(&[(SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV, "lots")]);
        assert_eq!(bad.content_value_limit, DEFAULT_CONTENT_VALUE_LIMIT);
    }

    #[test]
    fn the_protocol_prefers_the_traces_variable() {
        let c = config(&[
            (OTLP_TRACES_PROTOCOL_ENV, "grpc"),
            (OTLP_PROTOCOL_ENV, "http/protobuf"),
        ]);
        assert_eq!(c.otlp_protocol.as_deref(), Some("grpc"));
        assert_eq!(config(&[]).otlp_protocol, None);
    }
}
