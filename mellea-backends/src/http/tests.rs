use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};

use opentelemetry::Context;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::errors::{json_problem, server_message};
use super::propagate::inject_trace_context;
use super::status::is_quota_exhausted;
use super::*;

#[test]
fn traceparent_is_written_only_for_a_valid_span_context() {
    let mut headers = HeaderMap::new();
    inject_trace_context(&Context::new(), &mut headers);
    assert!(headers.get("traceparent").is_none());

    let span = SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("vendor", "x")]).unwrap(),
    );
    inject_trace_context(&Context::new().with_remote_span_context(span), &mut headers);
    assert_eq!(
        headers["traceparent"],
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    );
    assert_eq!(headers["tracestate"], "vendor=x");
}

#[test]
fn server_messages_are_read_from_every_known_error_shape() {
    assert_eq!(
        server_message(br#"{"error":{"message":"bad key","type":"invalid_request_error"}}"#),
        "bad key"
    );
    assert_eq!(
        server_message(br#"{"error":"model 'x' not found"}"#),
        "model 'x' not found"
    );
    assert_eq!(
        server_message(br#"{"object":"error","message":"too long","code":400}"#),
        "too long"
    );
    assert_eq!(server_message(br#"{"detail":"Not Found"}"#), "Not Found");
    assert_eq!(
        server_message(b"<html>502 Bad Gateway</html>"),
        "<html>502 Bad Gateway</html>"
    );
    assert_eq!(server_message(b"  "), "(empty body)");
    let long = "x".repeat(2000);
    assert_eq!(server_message(long.as_bytes()).chars().count(), 501);
}

#[test]
fn base_urls_must_be_absolute_http_with_a_host() {
    for bad in [
        "localhost:8000",
        "ftp://host/v1",
        "http://",
        "not a url",
        "http://h/v1?x=1",
    ] {
        assert!(
            parse_base_url(bad, "OPENAI_BASE_URL", "http://localhost:8000/v1").is_err(),
            "{bad} should be refused"
        );
    }
    let url = parse_base_url(" https://api.openai.com/v1/ ", "OPENAI_BASE_URL", "").unwrap();
    assert_eq!(
        join(&url, "chat/completions").shown,
        "https://api.openai.com/v1/chat/completions"
    );
    let url = parse_base_url("http://user:secret@h:8000/v1", "OPENAI_BASE_URL", "").unwrap();
    let target = join(&url, "completions");
    assert_eq!(
        target.shown, "http://h:8000/v1/completions",
        "credentials are not shown"
    );
    assert_eq!(target.url.password(), Some("secret"), "but they are used");
    let server = server_of(&url).unwrap();
    assert_eq!((server.host, server.port), ("h", 8000));
    let default_port = parse_base_url("https://api.openai.com/v1", "X", "").unwrap();
    assert_eq!(server_of(&default_port).unwrap().port, 443);
}

#[test]
fn userinfo_is_hidden_whether_or_not_the_url_parses() {
    for (raw, shown) in [
        ("http://user:pass@h:8000/v1", "http://***@h:8000/v1"),
        ("https://tok@h/v1?x=1", "https://***@h/v1?x=1"),
        ("user:pass@gpu-box:11434", "***@gpu-box:11434"),
        ("ftp://a:b@c@host/x", "ftp://***@host/x"),
        ("http://h/v1/@path", "http://h/v1/@path"),
        ("localhost:8000", "localhost:8000"),
    ] {
        assert_eq!(without_userinfo(raw), shown, "{raw}");
    }
    let error = parse_base_url("ftp://user:secret@h/v1", "OPENAI_BASE_URL", "").unwrap_err();
    assert!(!error.to_string().contains("secret"), "{error}");
    assert!(!format!("{error:?}").contains("secret"), "{error:?}");
}

#[test]
fn quota_exhaustion_is_read_from_the_code_or_the_type() {
    let quota = serde_json::json!({"error": {"message": "m", "type": "insufficient_quota"}});
    assert!(is_quota_exhausted(&quota));
    let code = serde_json::json!({"error": {"code": "insufficient_quota"}});
    assert!(is_quota_exhausted(&code));
    let rate = serde_json::json!({"error": {"code": "rate_limit_exceeded"}});
    assert!(!is_quota_exhausted(&rate));
}

#[test]
fn json_problems_never_quote_the_document() {
    let error = serde_json::from_str::<u32>(r#""canary text""#).unwrap_err();
    assert!(
        error.to_string().contains("canary"),
        "serde quotes it: {error}"
    );
    let problem = json_problem(&error);
    assert!(!problem.contains("canary"), "{problem}");
    let eof = serde_json::from_str::<Value>(r#"{"a": "#).unwrap_err();
    assert!(json_problem(&eof).contains("truncated"));
}
