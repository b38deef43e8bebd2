//! The OTLP span exporters: HTTP (protobuf, or JSON with `otlp-json`) through a blocking
//! reqwest client that records why a request failed, and gRPC (with `otlp-grpc`) through tonic
//! on a small runtime of its own, so that export works whether or not the application runs
//! tokio, and keeps working while the application's runtime is busy or shutting down.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{ExporterBuildError, Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::config::OtlpProtocol;
use super::redact::redact_userinfo;

/// What one OTLP exporter (of either signal) is built from.
pub(in crate::telemetry) struct OtlpSettings<'a> {
    pub(super) protocol: OtlpProtocol,
    pub(super) endpoint: &'a str,
    pub(super) timeout: Duration,
    pub(super) headers: &'a [(String, String)],
    pub(super) gzip: bool,
    /// Where the HTTP client records the cause of a failed request.
    pub(super) transport_error: Arc<Mutex<Option<String>>>,
}

/// An OTLP exporter, with the runtime its gRPC channel lives on.
#[derive(Debug)]
pub(super) struct OtlpExporter {
    inner: opentelemetry_otlp::SpanExporter,
    /// Dropped after `inner` (fields drop in order), so the channel's tasks outlive it.
    #[cfg(feature = "otlp-grpc")]
    _runtime: Option<grpc::ExportRuntime>,
}

impl SpanExporter for OtlpExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.inner.export(batch).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Builds the exporter; the error says why it could not be built.
pub(super) fn exporter(settings: OtlpSettings<'_>) -> Result<OtlpExporter, String> {
    match settings.protocol {
        OtlpProtocol::Grpc => grpc_exporter(settings),
        OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => http_exporter(settings),
    }
}

fn http_exporter(settings: OtlpSettings<'_>) -> Result<OtlpExporter, String> {
    let builder = opentelemetry_otlp::SpanExporter::builder().with_http();
    Ok(OtlpExporter {
        inner: build_http(builder, &settings, |b| b.build())?,
        #[cfg(feature = "otlp-grpc")]
        _runtime: None,
    })
}

#[cfg(feature = "otlp-grpc")]
fn grpc_exporter(settings: OtlpSettings<'_>) -> Result<OtlpExporter, String> {
    let (inner, runtime) = build_grpc(
        || opentelemetry_otlp::SpanExporter::builder().with_tonic(),
        &settings,
        |b| b.build(),
    )?;
    Ok(OtlpExporter {
        inner,
        _runtime: Some(runtime),
    })
}

#[cfg(not(feature = "otlp-grpc"))]
fn grpc_exporter(_settings: OtlpSettings<'_>) -> Result<OtlpExporter, String> {
    Err(grpc_unavailable(super::OTLP_PROTOCOL_ENV))
}

/// Builds an OTLP/HTTP exporter of any signal: `builder` configured as every exporter is (the
/// diagnosing client, protocol, endpoint, timeout, headers, gzip), then `build`.
pub(in crate::telemetry) fn build_http<B: WithExportConfig + WithHttpConfig, E>(
    builder: B,
    settings: &OtlpSettings<'_>,
    build: impl FnOnce(B) -> Result<E, ExporterBuildError>,
) -> Result<E, String> {
    let protocol = match settings.protocol {
        #[cfg(feature = "otlp-json")]
        OtlpProtocol::HttpJson => Protocol::HttpJson,
        _ => Protocol::HttpBinary,
    };
    let client = DiagnosingClient::new(settings.timeout, Arc::clone(&settings.transport_error))?;
    let headers: HashMap<String, String> = settings.headers.iter().cloned().collect();
    let mut builder = builder
        .with_http_client(client)
        .with_protocol(protocol)
        .with_endpoint(settings.endpoint)
        .with_timeout(settings.timeout)
        .with_headers(headers);
    if settings.gzip {
        builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    build(builder).map_err(|e| e.to_string())
}

/// Builds a gRPC exporter of any signal on a runtime of its own (returned with it: the
/// channel's tasks live there), configured by [`grpc::configure`].
#[cfg(feature = "otlp-grpc")]
pub(in crate::telemetry) fn build_grpc<
    B: WithExportConfig + opentelemetry_otlp::WithTonicConfig,
    E,
>(
    builder: impl FnOnce() -> B,
    settings: &OtlpSettings<'_>,
    build: impl FnOnce(B) -> Result<E, ExporterBuildError>,
) -> Result<(E, grpc::ExportRuntime), String> {
    let runtime = grpc::ExportRuntime::start()
        .map_err(|e| format!("cannot start the gRPC export thread: {e}"))?;
    // The channel spawns its connection tasks on the runtime current while it is built.
    let entered = runtime.handle().enter();
    let builder = grpc::configure(
        builder(),
        settings.endpoint,
        settings.timeout,
        settings.headers,
        settings.gzip,
    )?;
    let exporter = build(builder).map_err(|e| e.to_string())?;
    drop(entered);
    Ok((exporter, runtime))
}

/// Why gRPC export cannot be built: the feature is off. `protocol_var` is the variable that
/// asked for it.
#[cfg(not(feature = "otlp-grpc"))]
pub(in crate::telemetry) fn grpc_unavailable(protocol_var: &str) -> String {
    format!(
        "mellea was built without its `otlp-grpc` cargo feature; enable it, or set \
         {protocol_var}=http/protobuf and point the endpoint at the collector's OTLP/HTTP port \
         (usually 4318)"
    )
}

#[cfg(feature = "otlp-grpc")]
pub(super) mod grpc {
    use std::time::Duration;

    use opentelemetry_otlp::WithExportConfig;
    use opentelemetry_otlp::WithTonicConfig;
    use opentelemetry_otlp::tonic_types::metadata::MetadataMap;
    use opentelemetry_otlp::tonic_types::transport::ClientTlsConfig;
    use tokio::runtime::{Builder, Handle};
    use tokio::sync::oneshot;

    /// What every gRPC exporter (spans and metrics) is configured with: endpoint, timeout,
    /// headers as metadata, TLS with the platform's roots for `https://`, and gzip.
    pub(in crate::telemetry) fn configure<B: WithExportConfig + WithTonicConfig>(
        builder: B,
        endpoint: &str,
        timeout: Duration,
        headers: &[(String, String)],
        gzip: bool,
    ) -> Result<B, String> {
        let mut metadata = http::HeaderMap::new();
        for (key, value) in headers {
            // Checked when read from the environment; a value set in code may still be unusable.
            let (Ok(key), Ok(value)) = (
                http::HeaderName::from_bytes(key.as_bytes()),
                http::HeaderValue::from_str(value),
            ) else {
                return Err(format!(
                    "the header `{key}` cannot be sent as gRPC metadata"
                ));
            };
            metadata.append(key, value);
        }
        let mut builder = builder
            .with_endpoint(endpoint)
            .with_timeout(timeout)
            .with_metadata(MetadataMap::from_headers(metadata));
        if endpoint.to_ascii_lowercase().starts_with("https://") {
            builder = builder.with_tls_config(ClientTlsConfig::new().with_enabled_roots());
        }
        if gzip {
            builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
        }
        Ok(builder)
    }

    /// A one-thread tokio runtime that lives as long as the exporter.
    #[derive(Debug)]
    pub(in crate::telemetry) struct ExportRuntime {
        handle: Handle,
        stop: Option<oneshot::Sender<()>>,
    }

    impl ExportRuntime {
        pub(in crate::telemetry) fn start() -> std::io::Result<Self> {
            let runtime = Builder::new_current_thread().enable_all().build()?;
            let handle = runtime.handle().clone();
            let (stop, stopped) = oneshot::channel::<()>();
            // The runtime is dropped on its own thread, never inside an async context.
            std::thread::Builder::new()
                .name("mellea-otlp-grpc".to_owned())
                .spawn(move || {
                    runtime.block_on(async {
                        let _ = stopped.await;
                    });
                })?;
            Ok(Self {
                handle,
                stop: Some(stop),
            })
        }

        pub(in crate::telemetry) fn handle(&self) -> &Handle {
            &self.handle
        }
    }

    impl Drop for ExportRuntime {
        fn drop(&mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
        }
    }
}

/// The blocking reqwest client, recording why a request failed: the OTLP exporter itself
/// reports every transport failure as "network error", which does not say what to fix.
pub(super) struct DiagnosingClient {
    client: reqwest::blocking::Client,
    timeout: Duration,
    last_error: Arc<Mutex<Option<String>>>,
}

impl fmt::Debug for DiagnosingClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiagnosingClient")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl DiagnosingClient {
    pub(super) fn new(
        timeout: Duration,
        last_error: Arc<Mutex<Option<String>>>,
    ) -> Result<Self, String> {
        // reqwest's blocking client starts a runtime of its own, which must not happen on a
        // thread that is already inside one.
        let client = std::thread::Builder::new()
            .name("mellea-otlp-http-setup".to_owned())
            .spawn(move || {
                reqwest::blocking::Client::builder()
                    .timeout(timeout)
                    .build()
            })
            .map_err(|e| format!("cannot start a thread to build the HTTP client: {e}"))?
            .join()
            .map_err(|_| "building the HTTP client panicked".to_owned())?
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            client,
            timeout,
            last_error,
        })
    }
}

#[async_trait::async_trait]
impl HttpClient for DiagnosingClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let result = self.client.send_bytes(request).await;
        if let Err(error) = &result {
            *self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner) =
                Some(describe(error.as_ref(), self.timeout));
        }
        result
    }
}

/// A transport failure in words, without the URL (the pipeline names the destination).
fn describe(error: &(dyn std::error::Error + 'static), timeout: Duration) -> String {
    if let Some(error) = error.downcast_ref::<reqwest::Error>() {
        if error.is_timeout() {
            return format!("no answer within {timeout:?}");
        }
        let root = root_cause(error);
        if error.is_connect() {
            return format!("cannot connect ({root})");
        }
        return redact_userinfo(&root).into_owned();
    }
    redact_userinfo(&root_cause(error)).into_owned()
}

/// The innermost error's message (reqwest's outer ones repeat the URL).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}
