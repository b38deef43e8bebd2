//! `BackendMetricsPlugin`: GenAI client metrics from the end hooks of every generation.

use std::fmt;
use std::sync::Arc;

use opentelemetry::metrics::MeterProvider;
use opentelemetry::{KeyValue, Value};
use serde_json::Value as Json;

use super::instruments::{
    GEN_AI_TOKEN_TYPE, Instruments, MELLEA_ERROR_CATEGORY, TOKEN_TYPE_INPUT, TOKEN_TYPE_OUTPUT,
    UNKNOWN, error_category, mellea_meter,
};
use super::pricing::Pricing;
use crate::hooks::{
    ErrorInfo, GenerationBatchError, GenerationBatchErrorPayload, GenerationBatchPostCall,
    GenerationBatchPostCallPayload, GenerationError, GenerationErrorPayload, GenerationEvent,
    GenerationEventPayload, GenerationPostCall, GenerationPostCallPayload, Usage,
};
use crate::plugin::{HookContext, Plugin, PluginHooks, PluginMode};
use crate::telemetry::attributes::provider_value;
use crate::telemetry::observe::observe;
use crate::telemetry::semconv;

/// Records OpenTelemetry GenAI client metrics for every generation of every `#[backend]`, on
/// the `mellea.metrics` meter (see the README's metrics section for each metric):
///
/// - `gen_ai.client.token.usage` (histogram, `{token}`): input and output tokens, each only
///   when the backend reported more than zero, with `gen_ai.token.type`;
/// - `gen_ai.client.operation.duration` (histogram, `s`): every generation, with `error.type`
///   when it failed (`"cancelled"` when dropped before its end);
/// - `gen_ai.client.operation.time_to_first_chunk` (histogram, `s`): streamed generations;
/// - `gen_ai.client.operation.time_per_output_chunk` (histogram, `s`): every streamed chunk
///   after the first;
/// - `mellea.llm.errors` (counter): failed generations with `mellea.error.category` and
///   `error.type`;
/// - `mellea.llm.cost.usd` (counter): with [`with_pricing`](Self::with_pricing), the cost of
///   each generation whose model has a price.
///
/// Labels are `gen_ai.operation.name`, `gen_ai.provider.name` and `gen_ai.request.model`
/// (`"unknown"` when missing), `gen_ai.response.model` when the answer names it, and
/// `server.address` / `server.port` for remote backends. Prompts, completions, ids and other
/// unbounded values are never labels.
///
/// Handlers run in AUDIT mode (they see the final payload and cannot change it) with priority
/// [`PRIORITY`](Self::PRIORITY), after tracing. Instruments are created once; recording takes
/// no lock of this plugin's.
///
/// ```
/// use mellea_runtime::plugin::PluginRegistry;
/// use mellea_runtime::telemetry::BackendMetricsPlugin;
/// use opentelemetry_sdk::metrics::SdkMeterProvider;
///
/// let provider = SdkMeterProvider::builder().build();
/// let registry = PluginRegistry::new();
/// let _registration = registry.register(BackendMetricsPlugin::from_provider(&provider)).unwrap();
/// assert!(registry.handler_names().contains(&"backend_metrics.generation_post_call".to_owned()));
/// ```
pub struct BackendMetricsPlugin {
    name: String,
    instruments: Instruments,
    pricing: Option<Arc<Pricing>>,
}

impl fmt::Debug for BackendMetricsPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendMetricsPlugin")
            .field("name", &self.name)
            .field("pricing", &self.pricing.is_some())
            .finish()
    }
}

impl BackendMetricsPlugin {
    /// The plugin's registry name unless renamed with [`with_name`](Self::with_name).
    pub const NAME: &'static str = "backend_metrics";

    /// Priority of every handler: after tracing (1040), in the reference's metrics band.
    pub const PRIORITY: i32 = 1050;

    /// A plugin recording on `provider`'s `mellea.metrics` meter.
    pub fn from_provider(provider: &impl MeterProvider) -> Self {
        Self {
            name: Self::NAME.to_owned(),
            instruments: Instruments::new(&mellea_meter(provider)),
            pricing: None,
        }
    }

    /// Renames the plugin; registries need unique names (e.g. one plugin per session).
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Records `mellea.llm.cost.usd` for models that `pricing` has a price for.
    #[must_use]
    pub fn with_pricing(mut self, pricing: Pricing) -> Self {
        self.pricing = (!pricing.is_empty()).then(|| Arc::new(pricing));
        self
    }

    fn record_success(
        &self,
        mut labels: Vec<KeyValue>,
        model: &str,
        usage: Option<&Usage>,
        latency_ms: f64,
        time_to_first_chunk: Option<f64>,
    ) {
        self.instruments
            .duration
            .record(seconds(latency_ms), &labels);
        if let Some(ttfc) = time_to_first_chunk {
            self.instruments.time_to_first_chunk.record(ttfc, &labels);
        }
        let input = usage.and_then(|u| u.input_tokens).unwrap_or(0);
        let output = usage.and_then(|u| u.output_tokens).unwrap_or(0);
        if let Some(pricing) = &self.pricing
            && (input > 0 || output > 0)
            && let Some(cost) = pricing.cost(model, input, output)
        {
            self.instruments.cost.add(cost, &labels);
        }
        // One label set for both token types: the type is pushed and popped, not cloned.
        for (count, kind) in [(input, TOKEN_TYPE_INPUT), (output, TOKEN_TYPE_OUTPUT)] {
            if count > 0 {
                labels.push(KeyValue::new(GEN_AI_TOKEN_TYPE, kind));
                self.instruments.token_usage.record(count, &labels);
                labels.pop();
            }
        }
    }

    fn record_failure(&self, mut labels: Vec<KeyValue>, error: &ErrorInfo, latency_ms: f64) {
        let error_type = if error.error_type.is_empty() {
            "_OTHER".to_owned()
        } else {
            error.error_type.clone()
        };
        let category = error_category(&error_type);
        labels.push(KeyValue::new(semconv::ERROR_TYPE, error_type));
        self.instruments
            .duration
            .record(seconds(latency_ms), &labels);
        labels.push(KeyValue::new(MELLEA_ERROR_CATEGORY, category));
        self.instruments.errors.add(1, &labels);
    }
}

fn seconds(ms: f64) -> f64 {
    if ms.is_finite() && ms > 0.0 {
        ms / 1000.0
    } else {
        0.0
    }
}

/// The labels every metric of one generation carries; model, provider and server come from
/// the generation's backend, shared through the hook context. One vector, sized for the
/// labels the recorders add (error type and category, or token type), so it never regrows; a
/// provider declared by `#[backend(provider = ...)]` is a static string and is not copied.
fn labels(
    ctx: &HookContext,
    operation: &'static str,
    response_model: Option<&str>,
) -> Vec<KeyValue> {
    let backend = ctx.backend();
    let model = ctx.model().filter(|m| !m.is_empty()).unwrap_or(UNKNOWN);
    let provider = backend
        .and_then(|b| provider_value(&b.provider))
        .unwrap_or(Value::from(UNKNOWN));
    let mut labels = Vec::with_capacity(LABELS);
    labels.push(KeyValue::new(semconv::GEN_AI_OPERATION_NAME, operation));
    labels.push(KeyValue::new(semconv::GEN_AI_PROVIDER_NAME, provider));
    labels.push(KeyValue::new(
        semconv::GEN_AI_REQUEST_MODEL,
        model.to_owned(),
    ));
    if let Some(response_model) = response_model.filter(|m| !m.is_empty()) {
        labels.push(KeyValue::new(
            semconv::GEN_AI_RESPONSE_MODEL,
            response_model.to_owned(),
        ));
    }
    if let Some(backend) = backend.filter(|b| b.remote)
        && let Some(address) = &backend.server_address
    {
        labels.push(KeyValue::new(semconv::SERVER_ADDRESS, address.clone()));
        if let Some(port) = backend.server_port {
            labels.push(KeyValue::new(semconv::SERVER_PORT, i64::from(port)));
        }
    }
    labels
}

/// The most labels one record carries: six of the generation, plus two of the recorder.
const LABELS: usize = 8;

/// The model a price is looked up under.
fn priced_model(ctx: &HookContext) -> &str {
    ctx.model().filter(|m| !m.is_empty()).unwrap_or(UNKNOWN)
}

impl Plugin for BackendMetricsPlugin {
    fn name(&self) -> &str {
        &self.name
    }

    fn priority(&self) -> i32 {
        Self::PRIORITY
    }

    fn hooks(self: Arc<Self>, hooks: &mut PluginHooks) {
        let mode = PluginMode::Audit;
        observe::<GenerationPostCall, _>(hooks, mode, &self, Self::on_post_call);
        observe::<GenerationError, _>(hooks, mode, &self, Self::on_error);
        observe::<GenerationEvent, _>(hooks, mode, &self, Self::on_event);
        observe::<GenerationBatchPostCall, _>(hooks, mode, &self, Self::on_batch_post_call);
        observe::<GenerationBatchError, _>(hooks, mode, &self, Self::on_batch_error);
    }
}

impl BackendMetricsPlugin {
    fn on_post_call(&self, p: &GenerationPostCallPayload, ctx: &HookContext) {
        let view = p.model_output.as_ref();
        let labels = labels(
            ctx,
            semconv::OPERATION_CHAT,
            view.and_then(|v| v.response_model.as_deref()),
        );
        self.record_success(
            labels,
            priced_model(ctx),
            view.and_then(|v| v.usage.as_ref()),
            p.latency_ms,
            view.and_then(|v| v.time_to_first_chunk)
                .map(|d| d.as_secs_f64()),
        );
    }

    fn on_error(&self, p: &GenerationErrorPayload, ctx: &HookContext) {
        let labels = labels(
            ctx,
            semconv::OPERATION_CHAT,
            p.model_output
                .as_ref()
                .and_then(|v| v.response_model.as_deref()),
        );
        self.record_failure(labels, &p.exception, p.latency_ms);
    }

    fn on_event(&self, p: &GenerationEventPayload, ctx: &HookContext) {
        if p.event_name != semconv::CHUNK_PROCESSED_EVENT {
            return;
        }
        // Null for the first chunk: the time per output chunk counts only those after it.
        let Some(ms) = p
            .data
            .get("time_since_last_chunk_ms")
            .and_then(Json::as_f64)
        else {
            return;
        };
        let labels = labels(ctx, semconv::OPERATION_CHAT, None);
        self.instruments
            .time_per_output_chunk
            .record(seconds(ms), &labels);
    }

    fn on_batch_post_call(&self, p: &GenerationBatchPostCallPayload, ctx: &HookContext) {
        let labels = labels(ctx, semconv::OPERATION_TEXT_COMPLETION, None);
        self.record_success(
            labels,
            priced_model(ctx),
            p.usage.as_ref(),
            p.latency_ms,
            None,
        );
    }

    fn on_batch_error(&self, p: &GenerationBatchErrorPayload, ctx: &HookContext) {
        let labels = labels(ctx, semconv::OPERATION_TEXT_COMPLETION, None);
        self.record_failure(labels, &p.exception, p.latency_ms);
    }
}
