//! The instruments of the `mellea.metrics` meter: names, units, kinds and advisory bucket
//! boundaries as the OpenTelemetry GenAI semantic conventions v1.41.1 define them
//! (`model/gen-ai/metrics.yaml`, `docs/gen-ai/gen-ai-metrics.md`), plus mellea's own error and
//! cost counters.

use opentelemetry::InstrumentationScope;
use opentelemetry::metrics::{Counter, Histogram, Meter, MeterProvider};

/// The meter every instrument belongs to.
pub const METER_NAME: &str = "mellea.metrics";

/// Histogram of input and output tokens per generation (`{token}`), told apart by
/// [`GEN_AI_TOKEN_TYPE`].
pub const GEN_AI_CLIENT_TOKEN_USAGE: &str = "gen_ai.client.token.usage";
/// Histogram of generation durations in seconds, successful or not.
pub const GEN_AI_CLIENT_OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
/// Histogram of the time from the request to the first streamed chunk, in seconds.
pub const GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK: &str =
    "gen_ai.client.operation.time_to_first_chunk";
/// Histogram of the time between consecutive streamed chunks after the first, in seconds.
pub const GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK: &str =
    "gen_ai.client.operation.time_per_output_chunk";
/// Counter of failed generations (mellea's own, as in the Python original).
pub const MELLEA_LLM_ERRORS: &str = "mellea.llm.errors";
/// Counter of the cost of generations in US dollars, from user-supplied prices.
pub const MELLEA_LLM_COST_USD: &str = "mellea.llm.cost.usd";

/// `gen_ai.token.type`: `input` or `output`.
pub const GEN_AI_TOKEN_TYPE: &str = "gen_ai.token.type";
/// The error category of [`MELLEA_LLM_ERRORS`] (`rate_limit`, `timeout`, ...).
pub const MELLEA_ERROR_CATEGORY: &str = "mellea.error.category";
/// `gen_ai.token.type` of prompt tokens.
pub const TOKEN_TYPE_INPUT: &str = "input";
/// `gen_ai.token.type` of completion tokens.
pub const TOKEN_TYPE_OUTPUT: &str = "output";
/// The value of a model or provider label when the generation does not say.
pub const UNKNOWN: &str = "unknown";

/// Advisory boundaries of `gen_ai.client.token.usage` (powers of 4 up to 4^13).
pub const TOKEN_USAGE_BOUNDARIES: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
/// Advisory boundaries of the duration and chunk-timing histograms, in seconds.
pub const DURATION_BOUNDARIES: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// Every instrument, created once per plugin.
#[derive(Clone, Debug)]
pub(super) struct Instruments {
    pub(super) token_usage: Histogram<u64>,
    pub(super) duration: Histogram<f64>,
    pub(super) time_to_first_chunk: Histogram<f64>,
    pub(super) time_per_output_chunk: Histogram<f64>,
    pub(super) errors: Counter<u64>,
    pub(super) cost: Counter<f64>,
}

/// The `mellea.metrics` meter of `provider`.
pub fn mellea_meter(provider: &impl MeterProvider) -> Meter {
    provider.meter_with_scope(
        InstrumentationScope::builder(METER_NAME)
            .with_version(env!("CARGO_PKG_VERSION"))
            .build(),
    )
}

impl Instruments {
    pub(super) fn new(meter: &Meter) -> Self {
        let seconds = |name: &'static str, description: &'static str| {
            meter
                .f64_histogram(name)
                .with_unit("s")
                .with_description(description)
                .with_boundaries(DURATION_BOUNDARIES.to_vec())
                .build()
        };
        Self {
            token_usage: meter
                .u64_histogram(GEN_AI_CLIENT_TOKEN_USAGE)
                .with_unit("{token}")
                .with_description("Number of input and output tokens used.")
                .with_boundaries(TOKEN_USAGE_BOUNDARIES.to_vec())
                .build(),
            duration: seconds(
                GEN_AI_CLIENT_OPERATION_DURATION,
                "GenAI operation duration.",
            ),
            time_to_first_chunk: seconds(
                GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
                "Time to receive the first chunk, measured from when the client issues the \
                 generation request to when the first chunk is received in the response stream.",
            ),
            time_per_output_chunk: seconds(
                GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK,
                "Time per output chunk, recorded for each chunk received after the first one.",
            ),
            errors: meter
                .u64_counter(MELLEA_LLM_ERRORS)
                .with_unit("{error}")
                .with_description("Failed generations, by error category.")
                .build(),
            cost: meter
                .f64_counter(MELLEA_LLM_COST_USD)
                .with_unit("USD")
                .with_description("Cost of generations from the configured prices.")
                .build(),
        }
    }
}

/// The category of a backend error class (`error.type`) for [`MELLEA_ERROR_CATEGORY`].
///
/// ```
/// use mellea_runtime::telemetry::metrics::error_category;
/// assert_eq!(error_category("rate_limit"), "rate_limit");
/// assert_eq!(error_category("transport"), "transport_error");
/// assert_eq!(error_category("BackendError"), "unknown");
/// ```
pub fn error_category(error_type: &str) -> &'static str {
    match error_type {
        "rate_limit" | "rate_limited" | "RateLimitError" => "rate_limit",
        "timeout" | "TimeoutError" | "APITimeoutError" => "timeout",
        "auth" | "authentication" | "AuthenticationError" | "PermissionDeniedError" => "auth",
        "invalid_request" | "BadRequestError" | "NotFoundError" => "invalid_request",
        "transport" | "transport_error" | "APIConnectionError" | "ConnectionError" => {
            "transport_error"
        }
        "server_error" | "InternalServerError" => "server_error",
        "content_policy" | "content_filter" | "ContentPolicyViolation" => "content_policy",
        _ => "unknown",
    }
}
