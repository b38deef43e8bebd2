//! OTLP collectors on loopback for the tests: OTLP/HTTP (a small HTTP/1.1 server over tokio)
//! and OTLP/gRPC (tonic serving `opentelemetry-proto`'s `TraceService`). Both decode what
//! arrives with the official protobuf types, and can be told to fail, to be slow, or never to
//! answer. Also: a `tracing` subscriber that keeps every WARN event, so tests can check what a
//! user would have been told.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// How a collector answers each export.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Accepts and stores the spans.
    Accept,
    /// Answers with this HTTP status (HTTP) or gRPC code (gRPC), storing nothing.
    Fail(u16),
    /// Stores the spans, then answers after this long.
    Slow(Duration),
    /// Reads the request and never answers.
    Never,
}

/// One export request as it arrived.
pub struct Received {
    pub path: String,
    /// HTTP headers or gRPC metadata, names in lower case.
    pub headers: HashMap<String, String>,
    pub request: ExportTraceServiceRequest,
}

/// What a collector received, shared with its tasks.
#[derive(Clone, Default)]
pub struct Inbox(Arc<Mutex<Vec<Received>>>);

impl Inbox {
    fn push(&self, received: Received) {
        self.0.lock().unwrap().push(received);
    }

    /// Export requests received so far.
    pub fn requests(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// Every span received, with its instrumentation scope's name.
    pub fn spans(&self) -> Vec<(String, Span)> {
        let mut out = Vec::new();
        for received in self.0.lock().unwrap().iter() {
            for resource_spans in &received.request.resource_spans {
                for scope_spans in &resource_spans.scope_spans {
                    let scope = scope_spans
                        .scope
                        .as_ref()
                        .map(|s| s.name.clone())
                        .unwrap_or_default();
                    for span in &scope_spans.spans {
                        out.push((scope.clone(), span.clone()));
                    }
                }
            }
        }
        out
    }

    /// Runs `f` over every request received.
    pub fn each<R>(&self, f: impl FnMut(&Received) -> R) -> Vec<R> {
        self.0.lock().unwrap().iter().map(f).collect()
    }
}

/// The metric export requests a collector received (path, request).
#[derive(Clone, Default)]
pub struct MetricsInbox(Arc<Mutex<Vec<(String, ExportMetricsServiceRequest)>>>);

impl MetricsInbox {
    fn push(&self, path: String, request: ExportMetricsServiceRequest) {
        self.0.lock().unwrap().push((path, request));
    }

    /// Metric export requests received so far.
    pub fn requests(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// The paths the requests were sent to.
    pub fn paths(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// Every metric received, with its instrumentation scope's name, in arrival order.
    pub fn metrics(&self) -> Vec<(String, Metric)> {
        let mut out = Vec::new();
        for (_, request) in self.0.lock().unwrap().iter() {
            for resource_metrics in &request.resource_metrics {
                for scope_metrics in &resource_metrics.scope_metrics {
                    let scope = scope_metrics
                        .scope
                        .as_ref()
                        .map(|s| s.name.clone())
                        .unwrap_or_default();
                    for metric in &scope_metrics.metrics {
                        out.push((scope.clone(), metric.clone()));
                    }
                }
            }
        }
        out
    }
}

/// An OTLP/HTTP collector on 127.0.0.1.
pub struct HttpCollector {
    /// `http://127.0.0.1:{port}` (the base URL, without `/v1/traces`).
    pub endpoint: String,
    pub inbox: Inbox,
    /// What arrived at `/v1/metrics`.
    pub metrics: MetricsInbox,
}

impl HttpCollector {
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let inbox = Inbox::default();
        let metrics = MetricsInbox::default();
        let sink = inbox.clone();
        let metrics_sink = metrics.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let sink = sink.clone();
                let metrics_sink = metrics_sink.clone();
                tokio::spawn(async move {
                    let _ = serve_http(socket, sink, metrics_sink, behaviour).await;
                });
            }
        });
        Self {
            endpoint,
            inbox,
            metrics,
        }
    }
}

/// Serves HTTP/1.1 requests on one connection until the client closes it.
async fn serve_http(
    socket: tokio::net::TcpStream,
    sink: Inbox,
    metrics_sink: MetricsInbox,
    behaviour: Behaviour,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        let status = match behaviour {
            Behaviour::Never => {
                // Hold the connection open and say nothing.
                std::future::pending::<()>().await;
                unreachable!()
            }
            Behaviour::Fail(status) => status,
            Behaviour::Accept | Behaviour::Slow(_) => {
                if headers.get("content-encoding").map(String::as_str) == Some("gzip") {
                    let mut plain = Vec::new();
                    flate2::read::GzDecoder::new(body.as_slice())
                        .read_to_end(&mut plain)
                        .expect("a gzip body");
                    body = plain;
                }
                if path.ends_with("/v1/metrics") {
                    let request = ExportMetricsServiceRequest::decode(body.as_slice())
                        .expect("the body is an OTLP protobuf metrics export request");
                    metrics_sink.push(path.clone(), request);
                    write
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\n\
                              content-length: 0\r\n\r\n",
                        )
                        .await?;
                    continue;
                }
                let request = ExportTraceServiceRequest::decode(body.as_slice())
                    .expect("the body is an OTLP protobuf export request");
                sink.push(Received {
                    path,
                    headers,
                    request,
                });
                if let Behaviour::Slow(delay) = behaviour {
                    tokio::time::sleep(delay).await;
                }
                200
            }
        };
        let reason = if status == 200 { "OK" } else { "Error" };
        write
            .write_all(
                format!(
                    "HTTP/1.1 {status} {reason}\r\ncontent-type: application/x-protobuf\r\n\
                     content-length: 0\r\n\r\n"
                )
                .as_bytes(),
            )
            .await?;
    }
}

/// An OTLP/gRPC collector on 127.0.0.1.
pub struct GrpcCollector {
    /// `http://127.0.0.1:{port}`.
    pub endpoint: String,
    pub inbox: Inbox,
    /// What arrived at the `MetricsService`.
    pub metrics: MetricsInbox,
}

struct Metrics {
    inbox: MetricsInbox,
}

#[tonic::async_trait]
impl MetricsService for Metrics {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.inbox.push(
            "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export".to_owned(),
            request.into_inner(),
        );
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

struct Service {
    inbox: Inbox,
    behaviour: Behaviour,
}

#[tonic::async_trait]
impl TraceService for Service {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        match self.behaviour {
            Behaviour::Fail(code) => {
                return Err(tonic::Status::new(
                    tonic::Code::from(i32::from(code)),
                    "refused by the test collector",
                ));
            }
            Behaviour::Never => std::future::pending::<()>().await,
            Behaviour::Accept | Behaviour::Slow(_) => {}
        }
        let headers = request
            .metadata()
            .clone()
            .into_headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        self.inbox.push(Received {
            path: "/opentelemetry.proto.collector.trace.v1.TraceService/Export".to_owned(),
            headers,
            request: request.into_inner(),
        });
        if let Behaviour::Slow(delay) = self.behaviour {
            tokio::time::sleep(delay).await;
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl GrpcCollector {
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let inbox = Inbox::default();
        let service = TraceServiceServer::new(Service {
            inbox: inbox.clone(),
            behaviour,
        })
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
        let metrics = MetricsInbox::default();
        let metrics_service = MetricsServiceServer::new(Metrics {
            inbox: metrics.clone(),
        })
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .add_service(metrics_service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        Self {
            endpoint,
            inbox,
            metrics,
        }
    }
}

/// A port on 127.0.0.1 nobody listens on.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

// ---- Attribute lookups ---------------------------------------------------------------------

pub fn value<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

pub fn string(attributes: &[KeyValue], key: &str) -> Option<String> {
    match value(attributes, key)? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        other => panic!("{key}: {other:?}"),
    }
}

pub fn int(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match value(attributes, key)? {
        any_value::Value::IntValue(i) => Some(*i),
        other => panic!("{key}: {other:?}"),
    }
}

// ---- WARN events ---------------------------------------------------------------------------

/// Every WARN (or worse) event of this process, as `target: message fields`.
pub fn warnings() -> Vec<String> {
    install_warning_capture();
    captured().lock().unwrap().clone()
}

/// The WARN events whose text contains `needle`.
pub fn warnings_containing(needle: &str) -> Vec<String> {
    warnings()
        .into_iter()
        .filter(|w| w.contains(needle))
        .collect()
}

fn captured() -> &'static Mutex<Vec<String>> {
    static CAPTURED: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    CAPTURED.get_or_init(Mutex::default)
}

/// Installs the process-wide subscriber that keeps WARN events (exports fail on the batch
/// processor's own thread, which a thread-local subscriber would not see).
pub fn install_warning_capture() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt as _;
        let subscriber = tracing_subscriber::registry().with(Capture);
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
    });
}

struct Capture;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if *event.metadata().level() > tracing::Level::WARN {
            return;
        }
        struct Text(String);
        impl tracing::field::Visit for Text {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0.push_str(&format!("{value:?} "));
                } else {
                    self.0.push_str(&format!("{}={value:?} ", field.name()));
                }
            }
        }
        let mut text = Text(format!("{}: ", event.metadata().target()));
        event.record(&mut text);
        captured().lock().unwrap().push(text.0);
    }
}
