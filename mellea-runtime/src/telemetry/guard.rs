//! [`Telemetry`], the guard that keeps an installation alive and tears it down.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

use super::export::Pipeline;
use super::install::{GLOBAL_APPLICATION_TRACER, GLOBAL_INSTALL, NEXT_INSTALLATION, register};
use super::metrics;
use super::{
    AgentTracingPlugin, ApplicationSpan, BackendTracingPlugin, ExportStats, TelemetryBuilder,
    TelemetryError, ToolTracingPlugin, TracingConfig,
};
use crate::plugin::{Plugin, Registration, global};

/// Everything one installation owns.
pub(super) struct Inner {
    pub(super) id: u64,
    pub(super) config: TracingConfig,
    pub(super) warnings: Vec<String>,
    /// The accounted exporters.
    pub(super) pipelines: Vec<Arc<Pipeline>>,
    /// How long flushing and shutting down wait for exports.
    pub(super) wait: Duration,
    pub(super) provider: Option<SdkTracerProvider>,
    pub(super) owns_provider: bool,
    pub(super) plugin: Option<Arc<BackendTracingPlugin>>,
    /// The `execute_tool` and `invoke_agent` tracing plugins, registered with `plugin`.
    pub(super) invocation_plugins: Option<(Arc<ToolTracingPlugin>, Arc<AgentTracingPlugin>)>,
    pub(super) invocation_registrations: Vec<Registration>,
    pub(super) application_tracer: Option<SdkTracer>,
    pub(super) registration: Option<Registration>,
    pub(super) global: bool,
    /// The metrics installation, when metrics are on.
    pub(super) metrics: Option<Arc<metrics::Installed>>,
}

impl Inner {
    /// Registers the tool and agent tracing plugins next to the backend tracing plugin (for
    /// `session`, or process-wide).
    pub(super) fn register_invocation_plugins(
        &mut self,
        session: Option<&str>,
    ) -> Result<(), TelemetryError> {
        let Some((tools, agents)) = self.invocation_plugins.clone() else {
            return Ok(());
        };
        for plugin in [tools as Arc<dyn Plugin>, agents] {
            self.invocation_registrations
                .push(register(plugin, session)?);
        }
        Ok(())
    }

    /// The counts of every accounted exporter, of spans and of metric data points.
    fn stats(&self) -> ExportStats {
        let mut pipelines = self.pipelines.clone();
        if let Some(metrics) = &self.metrics {
            pipelines.extend(metrics.pipelines.iter().cloned());
        }
        ExportStats::sum(&pipelines)
    }

    /// Unregisters the plugin, then flushes and (if it built the provider) shuts the provider
    /// down. Idempotent.
    fn teardown(&mut self) -> Result<ExportStats, TelemetryError> {
        if self.global {
            let mut installed = GLOBAL_INSTALL
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if installed
                .as_ref()
                .is_some_and(|slot| std::ptr::eq(slot.inner.as_ptr(), self))
            {
                *installed = None;
            }
        }
        if let Some(registration) = self.registration.take() {
            global().unregister(&registration);
        }
        for registration in self.invocation_registrations.drain(..) {
            global().unregister(&registration);
        }
        if self.global {
            let mut tracer = GLOBAL_APPLICATION_TRACER
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if tracer.as_ref().is_some_and(|(id, _)| *id == self.id) {
                *tracer = None;
            }
        }
        // Shut down before tracing so that both are waited for; its counts stay readable.
        let metrics = self.metrics.as_ref().map(|m| m.pipelines.clone());
        let metrics_result = self
            .metrics
            .take()
            .and_then(metrics::Installed::release)
            .unwrap_or(Ok(()));
        let outcome = |inner: &Self, result: Result<(), OTelSdkError>| {
            let mut pipelines = inner.pipelines.clone();
            pipelines.extend(metrics.iter().flatten().cloned());
            let stats = ExportStats::sum(&pipelines);
            if !stats.all_delivered() {
                return Err(TelemetryError::Undelivered {
                    stats,
                    wait: inner.wait,
                });
            }
            result.map_err(TelemetryError::export)?;
            Ok(stats)
        };
        let Some(provider) = self.provider.take() else {
            return outcome(self, metrics_result);
        };
        let result = if self.owns_provider {
            provider.shutdown_with_timeout(self.wait)
        } else {
            provider.force_flush()
        };
        outcome(self, result.and(metrics_result))
    }

    /// The truth about the exports so far: an error unless every span handed to an accounted
    /// exporter was delivered, then whatever the SDK said.
    fn outcome(&self, result: Result<(), OTelSdkError>) -> Result<ExportStats, TelemetryError> {
        let stats = self.stats();
        if !stats.all_delivered() {
            return Err(TelemetryError::Undelivered {
                stats,
                wait: self.wait,
            });
        }
        result.map_err(TelemetryError::export)?;
        Ok(stats)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Err(error) = self.teardown() {
            tracing::warn!("{error}");
        }
    }
}

/// Keeps tracing set up while it lives; dropping the last handle unregisters the plugin and
/// flushes and shuts down the tracer provider, so no finished span is lost at exit.
///
/// Made by [`init_from_env`](super::init_from_env) or [`TelemetryBuilder::install`].
#[must_use = "tracing is torn down as soon as the guard is dropped: bind it, e.g. `let _telemetry = ...`"]
pub struct Telemetry {
    pub(super) inner: Arc<Inner>,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("enabled", &self.is_enabled())
            .field("config", &self.inner.config)
            .field("warnings", &self.inner.warnings)
            .field("exporters", &self.inner.pipelines)
            .finish()
    }
}

impl Telemetry {
    /// A [`TelemetryBuilder`] with tracing on and no exporter yet.
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder::new()
    }

    pub(super) fn disabled(
        config: TracingConfig,
        warnings: Vec<String>,
        metrics: Option<Arc<metrics::Installed>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                id: NEXT_INSTALLATION.fetch_add(1, Ordering::Relaxed),
                config,
                warnings,
                pipelines: Vec::new(),
                wait: Duration::ZERO,
                provider: None,
                owns_provider: false,
                plugin: None,
                invocation_plugins: None,
                invocation_registrations: Vec::new(),
                application_tracer: None,
                registration: None,
                global: false,
                metrics,
            }),
        }
    }

    /// Whether tracing is set up (false when `MELLEA_TRACES_ENABLED` was off).
    pub fn is_enabled(&self) -> bool {
        self.inner.provider.is_some()
    }

    /// The configuration it was set up with.
    pub fn config(&self) -> &TracingConfig {
        &self.inner.config
    }

    /// Problems met while setting up (each was also logged with `tracing::warn!`).
    pub fn warnings(&self) -> &[String] {
        &self.inner.warnings
    }

    /// The tracer provider spans go through.
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.inner.provider.as_ref()
    }

    /// The registered backend tracing plugin.
    pub fn backend_plugin(&self) -> Option<&Arc<BackendTracingPlugin>> {
        self.inner.plugin.as_ref()
    }

    /// An application span created with this setup's `mellea.application` tracer (a no-op
    /// span when tracing is off).
    pub fn application_span(&self, name: impl Into<Cow<'static, str>>) -> ApplicationSpan {
        let span = ApplicationSpan::new(name);
        match &self.inner.application_tracer {
            Some(tracer) => span.with_tracer(tracer.clone()),
            None => span.without_tracing(),
        }
    }

    /// A `session` span (see [`ApplicationSpan::session`]) created with this setup's tracer.
    pub fn session_span(&self, session_id: impl Into<Arc<str>>) -> ApplicationSpan {
        let span = ApplicationSpan::session(session_id);
        match &self.inner.application_tracer {
            Some(tracer) => span.with_tracer(tracer.clone()),
            None => span.without_tracing(),
        }
    }

    /// Exports every finished span now, waiting for the exports up to the export timeout
    /// (see [`TelemetryBuilder::with_export_timeout`]).
    ///
    /// [`TelemetryError::Undelivered`] if any span handed to an exporter so far was dropped,
    /// failed, or is still unconfirmed (the counts are cumulative since installation).
    pub fn force_flush(&self) -> Result<ExportStats, TelemetryError> {
        let metrics = self
            .inner
            .metrics
            .as_ref()
            .map_or(Ok(()), |m| m.force_flush());
        match &self.inner.provider {
            Some(provider) => self.inner.outcome(provider.force_flush().and(metrics)),
            None => self.inner.outcome(metrics),
        }
    }

    /// What the exporters did with the spans handed to them so far: exported, failed (with
    /// the last failure's cause), dropped because the batch queue was full, still queued.
    ///
    /// Covers the exporters added by the environment and by the builder's `with_*_exporter`
    /// methods; not span processors added with `with_span_processor` or a provider supplied
    /// with `with_provider`.
    pub fn stats(&self) -> ExportStats {
        self.inner.stats()
    }

    /// Tears tracing down now and says whether every span was delivered (dropping the guard
    /// does the same but can only log the outcome, at WARN). If other handles to this setup
    /// exist, only this handle is released (and the counts so far are returned).
    ///
    /// `Ok` with the counts only when every span handed to an exporter was delivered;
    /// [`TelemetryError::Undelivered`] with the counts and the last failure otherwise. Waits
    /// for the last exports up to the export timeout (see
    /// [`TelemetryBuilder::with_export_timeout`]), never longer.
    pub fn shutdown(self) -> Result<ExportStats, TelemetryError> {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => inner.teardown(),
            Err(shared) => Ok(shared.stats()),
        }
    }
}
