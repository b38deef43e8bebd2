//! Reading and checking the standard `OTEL_EXPORTER_OTLP_*` and `OTEL_BSP_*` variables.
//!
//! The OpenTelemetry crates read some of these themselves, from the process environment only,
//! and skip a malformed value without a word. Reading them here, through the same lookup as
//! the rest of [`TracingConfig`](super::TracingConfig), lets every malformed value be named
//! and makes a supplied environment behave exactly like the process's; the values read are
//! then passed to the SDK explicitly.

use std::time::Duration;

use super::config::{
    BSP_EXPORT_TIMEOUT_ENV, BSP_MAX_EXPORT_BATCH_SIZE_ENV, BSP_MAX_QUEUE_SIZE_ENV,
    BSP_SCHEDULE_DELAY_ENV, BatchConfigFromEnv, OTLP_COMPRESSION_ENV, OTLP_ENDPOINT_ENV,
    OTLP_HEADERS_ENV, OTLP_PROTOCOL_ENV, OTLP_TIMEOUT_ENV, OtlpProtocol,
};
use super::redact::redact_userinfo;
use super::signal::Signal;

/// The OTLP settings of one signal read from the environment.
pub(super) struct OtlpEnv {
    pub(super) protocol_given: Option<String>,
    pub(super) protocol: OtlpProtocol,
    pub(super) endpoint: Option<String>,
    pub(super) headers: Vec<(String, String)>,
    pub(super) timeout: Option<Duration>,
    pub(super) gzip: bool,
}

/// Reads the OTLP variables of `signal` through `non_empty` (unset and blank values are
/// `None`), adding one line to `problems` per malformed value.
pub(super) fn read(
    signal: Signal,
    non_empty: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> OtlpEnv {
    let vars = signal.vars();
    // The signal's variable wins over the general one, as the specification says.
    let either = |specific: &'static str, general: &'static str| {
        non_empty(specific)
            .map(|v| (specific, v))
            .or_else(|| non_empty(general).map(|v| (general, v)))
    };

    let protocol_given = either(vars.protocol, OTLP_PROTOCOL_ENV);
    let protocol = match &protocol_given {
        None => OtlpProtocol::HttpProtobuf,
        Some((name, value)) => match value.trim().to_ascii_lowercase().as_str() {
            "http/protobuf" => OtlpProtocol::HttpProtobuf,
            "grpc" => OtlpProtocol::Grpc,
            "http/json" => OtlpProtocol::HttpJson,
            _ => {
                problems.push(format!(
                    "{name}=`{value}` is not an OTLP protocol (grpc, http/protobuf or \
                     http/json); exporting with http/protobuf"
                ));
                OtlpProtocol::HttpProtobuf
            }
        },
    };

    let endpoint = endpoint(signal, non_empty, protocol, problems);

    let headers = match either(vars.headers, OTLP_HEADERS_ENV) {
        Some((name, value)) => headers(name, &value, problems),
        None => Vec::new(),
    };

    let timeout = either(vars.timeout, OTLP_TIMEOUT_ENV)
        .and_then(|(name, value)| millis(name, &value, "10000 (10 s)", false, problems));

    let gzip = match either(vars.compression, OTLP_COMPRESSION_ENV) {
        None => false,
        Some((name, value)) => match value.trim().to_ascii_lowercase().as_str() {
            "gzip" => true,
            "none" => false,
            _ => {
                problems.push(format!(
                    "{name}=`{value}` is not a supported compression (gzip or none); sending \
                     uncompressed"
                ));
                false
            }
        },
    };

    OtlpEnv {
        protocol_given: protocol_given.map(|(_, v)| v),
        protocol,
        endpoint,
        headers,
        timeout,
        gzip,
    }
}

/// Reads the batch span processor variables (`OTEL_BSP_*`).
pub(super) fn read_batch(
    non_empty: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> BatchConfigFromEnv {
    let count = |name: &'static str, default: &str, problems: &mut Vec<String>| {
        let value = non_empty(name)?;
        match value.trim().parse::<usize>() {
            Ok(0) => {
                problems.push(format!(
                    "{name}=`{value}` must be at least 1; using the default {default}"
                ));
                None
            }
            Ok(n) => Some(n),
            Err(_) => {
                problems.push(format!(
                    "{name}=`{value}` is not a whole number; using the default {default}"
                ));
                None
            }
        }
    };
    let mut batch = BatchConfigFromEnv {
        max_queue_size: count(BSP_MAX_QUEUE_SIZE_ENV, "2048", problems),
        scheduled_delay: non_empty(BSP_SCHEDULE_DELAY_ENV).and_then(|value| {
            millis(
                BSP_SCHEDULE_DELAY_ENV,
                &value,
                "5000 (5 s)",
                false,
                problems,
            )
        }),
        max_export_batch_size: count(BSP_MAX_EXPORT_BATCH_SIZE_ENV, "512", problems),
        export_timeout: non_empty(BSP_EXPORT_TIMEOUT_ENV).and_then(|value| {
            millis(
                BSP_EXPORT_TIMEOUT_ENV,
                &value,
                "of the OTLP timeout",
                false,
                problems,
            )
        }),
    };
    let queue = batch.max_queue_size.unwrap_or(2048);
    if let Some(size) = batch.max_export_batch_size.filter(|size| *size > queue) {
        problems.push(format!(
            "{BSP_MAX_EXPORT_BATCH_SIZE_ENV}=`{size}` is larger than the queue ({queue}); \
             using {queue}"
        ));
        batch.max_export_batch_size = Some(queue);
    }
    batch
}

/// A duration in milliseconds; `None` (and a problem) if malformed, or zero when `positive`.
pub(super) fn millis(
    name: &str,
    value: &str,
    default: &str,
    positive: bool,
    problems: &mut Vec<String>,
) -> Option<Duration> {
    match value.trim().parse::<u64>() {
        Ok(0) if positive => {
            problems.push(format!(
                "{name}=`{value}` must be at least 1 millisecond; using the default {default}"
            ));
            None
        }
        Ok(ms) => Some(Duration::from_millis(ms)),
        Err(_) => {
            problems.push(format!(
                "{name}=`{value}` is not a whole number of milliseconds; using the default \
                 {default}"
            ));
            None
        }
    }
}

/// The signal's endpoint: its own variable as given, or the general one with the signal's
/// path appended (HTTP) or as given (gRPC, whose path is fixed by the service).
fn endpoint(
    signal: Signal,
    non_empty: &dyn Fn(&str) -> Option<String>,
    protocol: OtlpProtocol,
    problems: &mut Vec<String>,
) -> Option<String> {
    let usable = |name: &str, problems: &mut Vec<String>| {
        let value = non_empty(name)?;
        let value = value.trim().to_owned();
        if is_http_url(&value) {
            Some(value)
        } else {
            problems.push(format!(
                "{name}=`{}` is not an http:// or https:// URL with a host; ignored",
                redact_userinfo(&value)
            ));
            None
        }
    };
    let specific = signal.vars().endpoint;
    if let Some(given) = usable(specific, problems) {
        return Some(given);
    }
    let base = usable(OTLP_ENDPOINT_ENV, problems)?;
    let base = base.trim_end_matches('/');
    if protocol == OtlpProtocol::Grpc {
        return Some(base.to_owned());
    }
    let path = signal.path();
    if base.ends_with(path) {
        problems.push(format!(
            "{OTLP_ENDPOINT_ENV}=`{}` already ends in {path}, but it is the base URL that \
             {path} is appended to; did you mean {specific}? Exporting to it as given",
            redact_userinfo(base)
        ));
        return Some(base.to_owned());
    }
    Some(format!("{base}{path}"))
}

/// Adds the OTLP fields of a configuration (`TracingConfig` and `MetricsConfig` name them
/// alike) to its `Debug`: the endpoint without credentials and only the names of the headers,
/// whose values may be credentials.
macro_rules! debug_otlp_fields {
    ($d:expr, $config:expr) => {{
        let header_names: Vec<&str> = $config
            .otlp_headers
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        $d.field(
            "otlp_endpoint",
            &$config
                .otlp_endpoint
                .as_deref()
                .map($crate::telemetry::redact_userinfo),
        )
        .field("otlp_transport", &$config.otlp_transport)
        .field("otlp_header_names", &header_names)
        .field("otlp_timeout", &$config.otlp_timeout)
        .field("otlp_gzip", &$config.otlp_gzip);
    }};
}
pub(super) use debug_otlp_fields;

/// Whether `value` is `http://` or `https://` followed by a host.
pub(super) fn is_http_url(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"));
    rest.is_some_and(|rest| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit('@').next().unwrap_or_default();
        !host.is_empty() && !host.starts_with(':') && !host.contains(char::is_whitespace)
    })
}

/// `key=value` pairs separated by commas; values percent-decoded. Malformed entries are
/// skipped with a problem that names the key but never shows a value (it is often a token).
pub(super) fn headers(
    name: &str,
    value: &str,
    problems: &mut Vec<String>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (index, entry) in value.split(',').map(str::trim).enumerate() {
        if entry.is_empty() {
            continue;
        }
        let position = index + 1;
        let Some((key, raw)) = entry.split_once('=') else {
            problems.push(format!(
                "{name}: entry {position} ({} characters) is not `key=value`; skipped",
                entry.chars().count()
            ));
            continue;
        };
        let key = key.trim();
        if key.is_empty() || !key.bytes().all(is_token_byte) {
            problems.push(format!(
                "{name}: entry {position} has no valid header name before `=`; skipped"
            ));
            continue;
        }
        match percent_decode(raw.trim()) {
            Some(decoded)
                if decoded
                    .bytes()
                    .all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) =>
            {
                out.push((key.to_ascii_lowercase(), decoded));
            }
            _ => problems.push(format!(
                "{name}: the value of `{key}` is not valid percent-encoded visible ASCII; the \
                 header is not sent"
            )),
        }
    }
    out
}

/// HTTP token characters (RFC 9110), which header names and gRPC metadata keys are made of.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_env(pairs: &[(&str, &str)]) -> (OtlpEnv, Vec<String>) {
        let lookup = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
                .filter(|v| !v.trim().is_empty())
        };
        let mut problems = Vec::new();
        let env = read(Signal::Traces, &lookup, &mut problems);
        (env, problems)
    }

    #[test]
    fn grpc_keeps_the_base_endpoint_and_http_appends_the_traces_path() {
        let (env, problems) = read_env(&[
            (OTLP_PROTOCOL_ENV, "grpc"),
            (OTLP_ENDPOINT_ENV, "http://c:4317/"),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(env.protocol, OtlpProtocol::Grpc);
        assert_eq!(env.endpoint.as_deref(), Some("http://c:4317"));
        let (env, _) = read_env(&[(OTLP_ENDPOINT_ENV, "http://c:4318")]);
        assert_eq!(env.endpoint.as_deref(), Some("http://c:4318/v1/traces"));
    }

    #[test]
    fn headers_are_percent_decoded_and_bad_entries_named_without_their_values() {
        let (env, problems) = read_env(&[(
            OTLP_HEADERS_ENV,
            "x-mlflow-experiment-id=1,Authorization=Bearer%20tok,secret-token-without-equals,=v,k=%zz",
        )]);
        assert_eq!(
            env.headers,
            vec![
                ("x-mlflow-experiment-id".to_owned(), "1".to_owned()),
                ("authorization".to_owned(), "Bearer tok".to_owned())
            ]
        );
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().all(|p| !p.contains("secret-token")));
        assert!(problems[0].contains("entry 3"));
        assert!(problems[2].contains("`k`"));
    }

    #[test]
    fn urls_need_an_http_scheme_and_a_host() {
        for good in ["http://h", "https://u:p@h:1/x", "HTTP://H:4318"] {
            assert!(is_http_url(good), "{good}");
        }
        for bad in [
            "ftp://h",
            "localhost:4318",
            "http://",
            "http://:4318",
            "http:// h",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }
}
