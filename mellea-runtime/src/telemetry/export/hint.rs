//! What to check when an export fails, from the failure's description.

use std::time::Duration;

use super::PipelineKind;
use crate::telemetry::OTLP_ENDPOINT_ENV;
use crate::telemetry::signal::Signal;

/// What to check, given a failure's description.
pub(super) fn hint(
    what: &str,
    kind: PipelineKind,
    signal: Signal,
    timeout: Option<Duration>,
) -> String {
    let lower = what.to_ascii_lowercase();
    let grpc = kind == PipelineKind::OtlpGrpc;
    let port = if grpc { 4317 } else { 4318 };
    if lower.contains("no answer within")
        || lower.contains("timed out")
        || lower.contains("deadline")
    {
        let timeout = timeout.map(|t| format!(" ({t:?} now)")).unwrap_or_default();
        return format!(
            "the collector did not answer in time: check that it is reachable and not \
             overloaded, or raise OTEL_EXPORTER_OTLP_TIMEOUT{timeout}"
        );
    }
    // The other protocol's port: HTTP/1.1 meets an HTTP/2-only gRPC server, or gRPC meets an
    // HTTP/1.1 server. Checked before connection errors, whose wording overlaps.
    if lower.contains("invalid http version")
        || lower.contains("http2 error")
        || lower.contains("frame with invalid size")
        || lower.contains("status code: 415")
    {
        return "check that OTEL_EXPORTER_OTLP_PROTOCOL matches the port (grpc on 4317, \
                http/protobuf on 4318, Phoenix's HTTP on 6006)"
            .to_owned();
    }
    if lower.contains("refused")
        || lower.contains("cannot connect")
        || lower.contains("tcp connect")
        || lower.contains("dns")
    {
        return format!(
            "check that a collector listens at that host and port (OTLP/{} usually on \
             {port})",
            if grpc { "gRPC" } else { "HTTP" }
        );
    }
    if lower.contains("status code: 404")
        || lower.contains("status code: 405")
        || lower.contains("unimplemented")
    {
        return if grpc {
            format!(
                "the server does not implement the OTLP {} service: check the port (gRPC \
                 usually 4317) or use OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf for an HTTP \
                 port",
                signal.adjective()
            )
        } else {
            format!(
                "check the path: OTLP/HTTP collectors take {subject} at {path} (give \
                 {OTLP_ENDPOINT_ENV} the base URL, or {endpoint} the full URL); a gRPC port \
                 (4317) needs OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
                subject = signal.subject().to_ascii_lowercase(),
                path = signal.path(),
                endpoint = signal.vars().endpoint,
            )
        };
    }
    if lower.contains("status code: 401")
        || lower.contains("status code: 403")
        || lower.contains("unauthenticated")
        || lower.contains("permissiondenied")
    {
        return "the collector refused the credentials: check OTEL_EXPORTER_OTLP_HEADERS"
            .to_owned();
    }
    if lower.contains("status code: 400") || lower.contains("protocol") {
        return "check that OTEL_EXPORTER_OTLP_PROTOCOL matches the port (grpc on 4317, \
                http/protobuf on 4318)"
            .to_owned();
    }
    if lower.contains("status code: 429")
        || lower.contains("status code: 503")
        || lower.contains("unavailable")
        || lower.contains("resourceexhausted")
    {
        return "the collector is overloaded or unavailable: check its health and limits"
            .to_owned();
    }
    if lower.contains("status code: 5") || lower.contains("internal") {
        return format!(
            "the collector failed to store the {}: check its logs",
            signal.subject().to_ascii_lowercase()
        );
    }
    "check the endpoint's host, port and path, OTEL_EXPORTER_OTLP_PROTOCOL and \
     OTEL_EXPORTER_OTLP_HEADERS"
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::export::PipelineKind;

    #[test]
    fn hints_name_what_to_check() {
        let http = |what| {
            hint(
                what,
                PipelineKind::OtlpHttp,
                Signal::Traces,
                Some(Duration::from_secs(10)),
            )
        };
        assert!(http("cannot connect: Connection refused (os error 111)").contains("port"));
        assert!(http("HTTP export failed with status code: 404").contains("path"));
        assert!(http("HTTP export failed with status code: 401").contains("HEADERS"));
        assert!(http("HTTP export failed with status code: 415").contains("PROTOCOL"));
        assert!(http("no answer within 10s").contains("OTEL_EXPORTER_OTLP_TIMEOUT (10s now)"));
        assert!(http("HTTP export failed with status code: 500").contains("logs"));
        let grpc = hint(
            "TonicTracesClient export failed with gRPC code: Unimplemented",
            PipelineKind::OtlpGrpc,
            Signal::Traces,
            None,
        );
        assert!(grpc.contains("4317"), "{grpc}");
        // What a real collector (Phoenix 20) makes of the other protocol on its port.
        let grpc_on_http = hint(
            "TonicTracesClient export failed with gRPC code: Internal: transport error: http2 \
             error: connection error detected: frame with invalid size",
            PipelineKind::OtlpGrpc,
            Signal::Traces,
            None,
        );
        assert!(
            grpc_on_http.contains("OTEL_EXPORTER_OTLP_PROTOCOL"),
            "{grpc_on_http}"
        );
        assert!(http("invalid HTTP version parsed").contains("OTEL_EXPORTER_OTLP_PROTOCOL"));
        assert!(http("HTTP export failed with status code: 405").contains("path"));
        let refused = hint(
            "TonicTracesClient export failed with gRPC code: Unavailable: tcp connect error: \
             Connection refused (os error 111)",
            PipelineKind::OtlpGrpc,
            Signal::Traces,
            None,
        );
        assert!(refused.contains("listens"), "{refused}");
    }
}
