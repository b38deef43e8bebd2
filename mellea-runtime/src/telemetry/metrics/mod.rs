//! OpenTelemetry GenAI client metrics of generations, from the same hooks as tracing: token
//! usage, operation duration, time to first chunk and per output chunk, errors by category,
//! and cost from user-supplied prices.
//!
//! [`init_from_env`](super::init_from_env) sets metrics up when `MELLEA_METRICS_ENABLED` is on
//! (see [`MetricsConfig`] for every variable): a meter provider of its own with a periodic
//! reader per exporter (`MELLEA_METRICS_CONSOLE`, `MELLEA_METRICS_OTLP`), every `OTEL_METRIC_EXPORT_INTERVAL`,
//! and the [`BackendMetricsPlugin`] registered next to the tracing plugin. The one
//! [`Telemetry`](super::Telemetry) guard flushes and shuts both down, and its
//! [`stats`](super::Telemetry::stats) and [`shutdown`](super::Telemetry::shutdown) count metric
//! data points as well as spans.

mod builder;
mod config;
mod console;
mod export;
mod instruments;
#[cfg(feature = "otlp")]
mod otlp;
mod plugin;
mod pricing;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{MeterProviderBuilder, PeriodicReader, SdkMeterProvider};

pub use config::{
    DEFAULT_EXPORT_INTERVAL, METRIC_EXPORT_INTERVAL_ENV, METRICS_CONSOLE_ENV, METRICS_ENABLED_ENV,
    METRICS_OTLP_ENV, MetricsConfig, OTLP_METRICS_COMPRESSION_ENV, OTLP_METRICS_ENDPOINT_ENV,
    OTLP_METRICS_HEADERS_ENV, OTLP_METRICS_PROTOCOL_ENV, OTLP_METRICS_TEMPORALITY_ENV,
    OTLP_METRICS_TIMEOUT_ENV, PRICING_FILE_ENV,
};
pub use console::{ConsoleMetricExporter, summary};
pub use instruments::{
    DURATION_BOUNDARIES, GEN_AI_CLIENT_OPERATION_DURATION,
    GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK, GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
    GEN_AI_CLIENT_TOKEN_USAGE, GEN_AI_TOKEN_TYPE, MELLEA_ERROR_CATEGORY, MELLEA_LLM_COST_USD,
    MELLEA_LLM_ERRORS, METER_NAME, TOKEN_TYPE_INPUT, TOKEN_TYPE_OUTPUT, TOKEN_USAGE_BOUNDARIES,
    UNKNOWN, error_category, mellea_meter,
};
pub use plugin::BackendMetricsPlugin;
pub use pricing::{ModelPrice, Pricing, PricingError};

use export::CountingMetricExporter;

use super::export::{Pipeline, PipelineKind};
use super::install::{plugin_name, register};
use super::provider::{given_or_built, service_resource};
use super::signal::Signal;
use super::warnings::warn;
use crate::error::RegistrationError;
use crate::plugin::{Registration, global};

/// Adds one reader to the meter provider being built, with the pipelines it is counted by.
type ReaderStep = Box<dyn FnOnce(MeterProviderBuilder, &mut Setup) -> MeterProviderBuilder + Send>;

/// The metrics part of a [`TelemetryBuilder`](super::TelemetryBuilder).
#[derive(Default)]
pub(super) struct MetricsSetup {
    pub(super) config: MetricsConfig,
    pub(super) provider: Option<SdkMeterProvider>,
    pub(super) steps: Vec<ReaderStep>,
    pub(super) console: Option<ConsoleMetricExporter>,
    pub(super) pricing: Option<Pricing>,
}

impl fmt::Debug for MetricsSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsSetup")
            .field("config", &self.config)
            .field("own_provider", &self.provider.is_some())
            .field("extra_readers", &self.steps.len())
            .finish()
    }
}

/// What building a meter provider needs besides the configuration.
pub(super) struct Setup {
    pipelines: Vec<Arc<Pipeline>>,
    interval: Duration,
    warnings: Vec<String>,
}

impl Setup {
    /// A periodic reader exporting with `exporter`, counted as a pipeline to `destination`.
    pub(super) fn periodic<E: PushMetricExporter>(
        &mut self,
        exporter: E,
        destination: impl Into<String>,
        kind: PipelineKind,
        request_timeout: Option<Duration>,
        transport_error: Option<Arc<Mutex<Option<String>>>>,
    ) -> PeriodicReader<CountingMetricExporter<E>> {
        let pipeline = Pipeline::new(
            Signal::Metrics,
            destination,
            kind,
            None,
            request_timeout,
            transport_error,
        );
        self.pipelines.push(pipeline.clone());
        PeriodicReader::builder(CountingMetricExporter::new(exporter, pipeline))
            .with_interval(self.interval)
            .build()
    }

    fn warn(&mut self, message: String) {
        warn(&mut self.warnings, message);
    }
}

/// The process-wide metrics installation, while it lives.
static GLOBAL_METRICS: Mutex<Option<Weak<Installed>>> = Mutex::new(None);

/// One metrics installation: the meter provider, the plugin and its registration.
pub(super) struct Installed {
    provider: Option<SdkMeterProvider>,
    owns_provider: bool,
    pub(super) pipelines: Vec<Arc<Pipeline>>,
    plugin: Arc<BackendMetricsPlugin>,
    registration: Option<Registration>,
    wait: Duration,
}

impl fmt::Debug for Installed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("exporters", &self.pipelines)
            .finish_non_exhaustive()
    }
}

impl Installed {
    /// The meter provider generations are measured with.
    pub(super) fn provider(&self) -> Option<&SdkMeterProvider> {
        self.provider.as_ref()
    }

    /// The registered plugin.
    pub(super) fn plugin(&self) -> &Arc<BackendMetricsPlugin> {
        &self.plugin
    }

    /// Exports what was recorded so far.
    pub(super) fn force_flush(&self) -> OTelSdkResult {
        self.provider
            .as_ref()
            .map_or(Ok(()), SdkMeterProvider::force_flush)
    }

    /// Tears this installation down if `this` is its last handle; the provider's answer.
    pub(super) fn release(this: Arc<Self>) -> Option<OTelSdkResult> {
        Arc::into_inner(this).map(|mut installed| installed.teardown())
    }

    /// Unregisters the plugin, then shuts the provider down (exporting what is left) or, if
    /// the application supplied it, flushes it. Idempotent.
    fn teardown(&mut self) -> OTelSdkResult {
        if let Some(registration) = self.registration.take() {
            global().unregister(&registration);
        }
        let Some(provider) = self.provider.take() else {
            return Ok(());
        };
        if self.owns_provider {
            provider.shutdown_with_timeout(self.wait)
        } else {
            provider.force_flush()
        }
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if let Err(error) = self.teardown() {
            tracing::warn!(
                "exporting the last metrics failed: {}",
                super::redact_userinfo(&error.to_string())
            );
        }
    }
}

impl MetricsSetup {
    /// Sets metrics up and registers the plugin (process-wide, or for `session`); `None` when
    /// metrics are off. Warnings are logged and added to `warnings`.
    pub(super) fn install(
        self,
        session: Option<&str>,
        service_name: &str,
        wait: Duration,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Arc<Installed>>, RegistrationError> {
        for problem in self.config.warnings() {
            warn(warnings, problem.clone());
        }
        if !self.config.enabled {
            return Ok(None);
        }
        let name = plugin_name(BackendMetricsPlugin::NAME, session);
        // The process-wide installation is made under its lock, and exists once.
        let mut slot = match session {
            Some(_) => None,
            None => {
                let slot = GLOBAL_METRICS
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if let Some(existing) = slot.as_ref().and_then(Weak::upgrade) {
                    tracing::debug!("metrics are already set up; reusing the existing setup");
                    return Ok(Some(existing));
                }
                Some(slot)
            }
        };
        let mut installed = self.build(name, service_name, wait, warnings);
        installed.registration = Some(register(installed.plugin.clone(), session)?);
        let installed = Arc::new(installed);
        if let Some(slot) = slot.as_mut() {
            **slot = Some(Arc::downgrade(&installed));
        }
        Ok(Some(installed))
    }

    fn build(
        self,
        plugin_name: String,
        service_name: &str,
        wait: Duration,
        warnings: &mut Vec<String>,
    ) -> Installed {
        let mut setup = Setup {
            pipelines: Vec::new(),
            interval: self.config.export_interval,
            warnings: Vec::new(),
        };
        let mut plugin_pricing = self.pricing;
        if plugin_pricing.is_none()
            && let Some(path) = &self.config.pricing_file
        {
            match Pricing::from_file(path) {
                Ok(pricing) => plugin_pricing = Some(pricing),
                Err(error) => setup.warn(error.to_string()),
            }
        }
        let asked_for_exporters = self.config.console || self.config.otlp || !self.steps.is_empty();
        // Only a supplied provider warns here; what building warns goes through `setup`.
        let mut supplied_warnings = Vec::new();
        let (provider, owns_provider) = given_or_built(
            self.provider,
            asked_for_exporters,
            Signal::Metrics,
            &mut supplied_warnings,
            || {
                let mut builder = SdkMeterProvider::builder()
                    .with_resource(service_resource(service_name.to_owned()));
                if self.config.otlp {
                    builder = add_otlp(builder, &self.config, &mut setup);
                }
                if self.config.console {
                    let console = self
                        .console
                        .unwrap_or_default()
                        .with_temporality(self.config.temporality);
                    let reader =
                        setup.periodic(console, "the console", PipelineKind::Other, None, None);
                    builder = builder.with_reader(reader);
                }
                for step in self.steps {
                    builder = step(builder, &mut setup);
                }
                builder.build()
            },
        );
        setup.warnings.append(&mut supplied_warnings);
        let mut plugin = BackendMetricsPlugin::from_provider(&provider).with_name(plugin_name);
        if let Some(pricing) = plugin_pricing {
            plugin = plugin.with_pricing(pricing);
        }
        warnings.append(&mut setup.warnings);
        Installed {
            provider: Some(provider),
            owns_provider,
            pipelines: setup.pipelines,
            plugin: Arc::new(plugin),
            registration: None,
            wait,
        }
    }
}

#[cfg(feature = "otlp")]
fn add_otlp(
    builder: MeterProviderBuilder,
    config: &MetricsConfig,
    setup: &mut Setup,
) -> MeterProviderBuilder {
    use super::otlp_target;
    use super::warnings::build_failed;

    let Some(target) = otlp_target::resolve(
        Signal::Metrics,
        config.otlp_transport,
        config.otlp_endpoint.as_deref(),
        &mut setup.warnings,
    ) else {
        return builder;
    };
    let timeout = config
        .otlp_timeout
        .unwrap_or(super::provider::DEFAULT_EXPORT_TIMEOUT);
    let transport_error: Arc<Mutex<Option<String>>> = Arc::default();
    let settings = target.settings(
        timeout,
        &config.otlp_headers,
        config.otlp_gzip,
        &transport_error,
    );
    let built = otlp::exporter(settings, config.temporality);
    match built {
        Ok(exporter) => {
            let reader = setup.periodic(
                exporter,
                target.destination,
                target.kind,
                Some(timeout),
                Some(transport_error),
            );
            builder.with_reader(reader)
        }
        Err(error) => {
            let error = super::redact_userinfo(&error);
            setup.warn(build_failed(Signal::Metrics, &target.destination, &error));
            builder
        }
    }
}

#[cfg(not(feature = "otlp"))]
fn add_otlp(
    builder: MeterProviderBuilder,
    _config: &MetricsConfig,
    setup: &mut Setup,
) -> MeterProviderBuilder {
    setup.warn(super::warnings::otlp_unavailable(Signal::Metrics));
    builder
}
