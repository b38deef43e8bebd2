//! Setting telemetry up: the process-wide installation (once per process) and the
//! session-scoped ones.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};

use opentelemetry_sdk::trace::SdkTracer;

use super::guard::Inner;
use super::provider::{DEFAULT_EXPORT_TIMEOUT, WAIT_GRACE};
use super::warnings::warn;
use super::{BackendTracingPlugin, Telemetry, TelemetryBuilder, TelemetryError};
use crate::error::RegistrationError;
use crate::plugin::{Registrable, Registration, global};

/// Sets up tracing as the environment says (see [`TracingConfig`](super::TracingConfig)) and returns the guard
/// that keeps it running.
///
/// With `MELLEA_TRACES_ENABLED` off this does nothing and returns an inactive guard. Calling
/// it again while a guard of the first call lives returns another handle to the same setup:
/// the plugin is registered once per process. Problems with an exporter never fail the call;
/// they are logged as warnings (also kept in [`Telemetry::warnings`]) and those spans are not
/// exported.
pub fn init_from_env() -> Result<Telemetry, TelemetryError> {
    TelemetryBuilder::from_env().install()
}

/// The process-wide installation and its registration, while it has not been torn down.
pub(super) static GLOBAL_INSTALL: Mutex<Option<GlobalSlot>> = Mutex::new(None);

pub(super) struct GlobalSlot {
    pub(super) inner: Weak<Inner>,
    /// Kept here too, so that an installation made while the previous one is being dropped
    /// (its last handle gone, its teardown not yet run) can remove exactly that registration.
    pub(super) registration: Registration,
}

/// The application tracer of the process-wide installation, with the installation's id.
pub(super) static GLOBAL_APPLICATION_TRACER: RwLock<Option<(u64, SdkTracer)>> = RwLock::new(None);

pub(super) static NEXT_INSTALLATION: AtomicU64 = AtomicU64::new(1);

/// The application tracer of the process-wide installation, if tracing is set up.
pub(crate) fn active_application_tracer() -> Option<SdkTracer> {
    GLOBAL_APPLICATION_TRACER
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map(|(_, tracer)| tracer.clone())
}

impl TelemetryBuilder {
    /// Sets tracing up: builds the provider, registers the plugin, and returns the guard.
    ///
    /// With tracing disabled in the configuration nothing happens and the guard is inactive.
    /// A process-wide installation (no [`for_session`](Self::for_session)) exists once: while
    /// one lives, installing again returns a handle to it and this builder is not used.
    pub fn install(mut self) -> Result<Telemetry, TelemetryError> {
        let metrics_setup = std::mem::take(&mut self.metrics);
        let metrics_wait = self.export_timeout.unwrap_or_else(|| {
            metrics_setup
                .config
                .otlp_timeout
                .unwrap_or(DEFAULT_EXPORT_TIMEOUT)
                + WAIT_GRACE
        });
        let service_name = self.config.service_name.clone();
        let session = self.session.clone();
        let install_metrics = move |warnings: &mut Vec<String>| {
            metrics_setup.install(session.as_deref(), &service_name, metrics_wait, warnings)
        };
        if !self.config.enabled {
            // A mistyped `MELLEA_TRACES_ENABLED` is exactly when the warning matters.
            let mut warnings = Vec::new();
            for problem in self.config.warnings() {
                warn(&mut warnings, problem.clone());
            }
            let metrics = install_metrics(&mut warnings)?;
            return Ok(Telemetry::disabled(self.config, warnings, metrics));
        }
        let session = self.session.clone();
        let name = self
            .plugin_name
            .clone()
            .unwrap_or_else(|| plugin_name(BackendTracingPlugin::NAME, session.as_deref()));
        // The process-wide installation is made under its lock, and exists once.
        let mut installed = match &session {
            Some(_) => None,
            None => {
                let mut installed = GLOBAL_INSTALL
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if let Some(previous) = installed.take() {
                    if let Some(existing) = previous.inner.upgrade() {
                        tracing::debug!("tracing is already set up; reusing the existing setup");
                        *installed = Some(previous);
                        return Ok(Telemetry { inner: existing });
                    }
                    // Its last handle is gone and its teardown is about to run: it is
                    // superseded.
                    global().unregister(&previous.registration);
                }
                Some(installed)
            }
        };
        let mut inner = self.build(name);
        inner.metrics = install_metrics(&mut inner.warnings)?;
        let plugin = inner
            .plugin
            .clone()
            .expect("an enabled installation has a plugin");
        // On failure `inner` is dropped right here, under the lock: it must not be marked
        // global yet, or its teardown would take the lock again.
        let registration = register(plugin, session.as_deref())?;
        inner.registration = Some(registration.clone());
        inner.register_invocation_plugins(session.as_deref())?;
        let Some(installed) = installed.as_mut() else {
            return Ok(Telemetry {
                inner: Arc::new(inner),
            });
        };
        inner.global = true;
        *GLOBAL_APPLICATION_TRACER
            .write()
            .unwrap_or_else(PoisonError::into_inner) =
            inner.application_tracer.clone().map(|t| (inner.id, t));
        let inner = Arc::new(inner);
        **installed = Some(GlobalSlot {
            inner: Arc::downgrade(&inner),
            registration,
        });
        Ok(Telemetry { inner })
    }
}

/// The name a plugin registers under: `base`, or `base.session.{id}` for one session's.
pub(super) fn plugin_name(base: &str, session: Option<&str>) -> String {
    match session {
        Some(session) => format!("{base}.session.{session}"),
        None => base.to_owned(),
    }
}

/// The registry name of a tracing plugin installed next to the backend tracing plugin named
/// `backend`: `tool_tracing` for `backend_tracing`, `tool_tracing.session.{id}` for
/// `backend_tracing.session.{id}`, `{backend}.tool_tracing` for a custom name.
pub(super) fn companion_name(backend: &str, companion: &str) -> String {
    match backend.strip_prefix(BackendTracingPlugin::NAME) {
        Some(rest) => format!("{companion}{rest}"),
        None => format!("{backend}.{companion}"),
    }
}

/// Registers `plugin` process-wide, or for the generations of `session` only.
pub(super) fn register(
    plugin: impl Into<Registrable>,
    session: Option<&str>,
) -> Result<Registration, RegistrationError> {
    match session {
        Some(session) => global().register_for_session(session.to_owned(), plugin),
        None => global().register(plugin),
    }
}
