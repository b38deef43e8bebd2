//! `BackendTracingPlugin` handler by handler, with hand-built payloads dispatched through a
//! private registry (reference: mellea-tracing.md §9 cases 7–22, 26–27; HEAD column of §4.1),
//! and the attribute rules one by one (cases 28–32).

use crate::support::telemetry as telemetry_support;

use std::time::Duration;

use mellea::hooks::{
    ErrorInfo, Format, GenerationBatchError, GenerationBatchErrorPayload, GenerationBatchPostCall,
    GenerationBatchPostCallPayload, GenerationBatchPreCall, GenerationBatchPreCallPayload,
    GenerationError, GenerationErrorPayload, GenerationEvent, GenerationEventPayload,
    GenerationPostCall, GenerationPostCallPayload, GenerationPreCall, GenerationPreCallPayload,
    JsonMap, Object, OutputView, Usage,
};
use mellea::plugin::{BackendInfo, HookContext};
use mellea::telemetry::attributes::{
    context_size, json_attribute_value, request_attributes, response_attributes, usage_attributes,
};
use opentelemetry::trace::SpanKind;
use opentelemetry::{KeyValue, Value};
use serde_json::json;
use telemetry_support::*;

fn pre() -> GenerationPreCallPayload {
    GenerationPreCallPayload::default()
}

fn post(view: Option<OutputView>) -> GenerationPostCallPayload {
    let mut p = GenerationPostCallPayload::default();
    p.model_output = view;
    p
}

fn error(info: ErrorInfo) -> GenerationErrorPayload {
    let mut p = GenerationErrorPayload::default();
    p.exception = info;
    p
}

fn view_with_usage(usage: Usage) -> OutputView {
    let mut view = OutputView::default();
    view.usage = Some(usage);
    view
}

struct DummyFormat;

#[tokio::test]
async fn pre_call_without_a_model_opens_an_internal_chat_span_that_stays_open() {
    let direct = Direct::new();
    let call = Call::new();
    direct.dispatch::<GenerationPreCall>(pre(), &call).await;
    assert_eq!(direct.plugin.open_spans(), 1, "the span is held");
    assert!(direct.spans().is_empty(), "and not ended");

    direct
        .dispatch::<GenerationPostCall>(post(None), &call)
        .await;
    let spans = direct.spans();
    let span = named(&spans, "chat");
    assert_kind(span, SpanKind::Internal);
    assert_eq!(str_attr(span, "gen_ai.operation.name"), Some("chat"));
    assert_eq!(direct.plugin.open_spans(), 0);
}

#[tokio::test]
async fn pre_call_with_model_provider_and_stream_names_the_span_after_the_model() {
    let direct = Direct::new();
    let call = Call::new().backend(BackendInfo::new(
        "huggingface",
        "ibm-granite/granite-4.1-3b",
    ));
    let mut p = pre();
    p.model_options.insert("stream".into(), true.into());
    direct.dispatch::<GenerationPreCall>(p, &call).await;
    direct
        .dispatch::<GenerationPostCall>(post(None), &call)
        .await;

    let spans = direct.spans();
    let span = named(&spans, "chat ibm-granite/granite-4.1-3b");
    assert_kind(span, SpanKind::Internal);
    assert_eq!(
        str_attr(span, "gen_ai.request.model"),
        Some("ibm-granite/granite-4.1-3b")
    );
    assert_eq!(str_attr(span, "gen_ai.provider.name"), Some("huggingface"));
    assert_eq!(bool_attr(span, "gen_ai.request.stream"), Some(true));
}

#[tokio::test]
async fn post_call_records_usage_refreshes_nothing_else_and_ends_the_span_once() {
    let direct = Direct::new();
    let call = Call::new().backend(BackendInfo::new("openai", "gpt-4o").remote());
    let p = pre();
    direct.dispatch::<GenerationPreCall>(p, &call).await;
    let mut usage = Usage::new(10, 5);
    usage.total_tokens = Some(15);
    direct
        .dispatch::<GenerationPostCall>(post(Some(view_with_usage(usage))), &call)
        .await;
    // A second end hook for the same generation finds nothing: the span ended exactly once.
    direct
        .dispatch::<GenerationPostCall>(post(None), &call)
        .await;

    let spans = direct.spans();
    assert_eq!(spans.len(), 1);
    let span = named(&spans, "chat gpt-4o");
    assert_kind(span, SpanKind::Client);
    assert_eq!(int_attr(span, "gen_ai.usage.input_tokens"), Some(10));
    assert_eq!(int_attr(span, "gen_ai.usage.output_tokens"), Some(5));
    assert_eq!(int_attr(span, "mellea.usage.total_tokens"), Some(15));
    assert_eq!(attr(span, "gen_ai.usage.total_tokens"), None);
    assert_eq!(str_attr(span, "gen_ai.provider.name"), Some("openai"));
    assert_eq!(str_attr(span, "gen_ai.request.model"), Some("gpt-4o"));
    assert!(!is_error(span), "success leaves the status unset");
    assert_eq!(span.status, opentelemetry::trace::Status::Unset);
    assert_eq!(direct.plugin.open_spans(), 0);
}

#[tokio::test]
async fn an_error_records_one_exception_sets_error_status_and_error_type_and_ends_the_span() {
    let direct = Direct::new();
    let call = Call::new();
    direct.dispatch::<GenerationPreCall>(pre(), &call).await;
    direct
        .dispatch::<GenerationError>(
            error(ErrorInfo::new("ValueError", "ValueError", "rate limit")),
            &call,
        )
        .await;

    let spans = direct.spans();
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    let exceptions = exception_events(span);
    assert_eq!(exceptions.len(), 1);
    assert!(
        exceptions[0]
            .attributes
            .contains(&KeyValue::new("exception.message", "ValueError")),
        "the content-free description, not the message: {:?}",
        exceptions[0].attributes
    );
    assert!(
        exceptions[0]
            .attributes
            .contains(&KeyValue::new("exception.type", "ValueError"))
    );
    assert_eq!(error_description(span), "ValueError");
    assert_eq!(str_attr(span, "error.type"), Some("ValueError"));
    assert_eq!(direct.plugin.open_spans(), 0);
}

#[tokio::test]
async fn a_pre_call_outside_a_generation_opens_no_span() {
    let direct = Direct::new();
    let outside = || HookContext::new().with_backend(BackendInfo::new("openai", "gpt-4o"));
    let _pre = direct
        .registry
        .dispatch::<GenerationPreCall>(pre(), outside())
        .await
        .unwrap();
    assert_eq!(direct.plugin.open_spans(), 0);
    let _post = direct
        .registry
        .dispatch::<GenerationPostCall>(post(None), outside())
        .await
        .unwrap();
    assert!(direct.spans().is_empty());
}

#[tokio::test]
async fn interleaved_generations_each_end_only_their_own_span() {
    let direct = Direct::new();
    let a = Call::new();
    let b = Call::new();
    direct.dispatch::<GenerationPreCall>(pre(), &a).await;
    direct.dispatch::<GenerationPreCall>(pre(), &b).await;
    assert_eq!(direct.plugin.open_spans(), 2);

    direct
        .dispatch::<GenerationPostCall>(post(Some(view_with_usage(Usage::new(1, 1)))), &a)
        .await;
    let after_a = direct.spans();
    assert_eq!(after_a.len(), 1, "only A ended");
    assert_eq!(int_attr(&after_a[0], "gen_ai.usage.input_tokens"), Some(1));

    direct
        .dispatch::<GenerationPostCall>(post(Some(view_with_usage(Usage::new(2, 2)))), &b)
        .await;
    let both = direct.spans();
    assert_eq!(both.len(), 2);
    assert_eq!(int_attr(&both[1], "gen_ai.usage.input_tokens"), Some(2));
    assert_ne!(
        both[0].span_context.span_id(),
        both[1].span_context.span_id(),
        "distinct spans"
    );
    assert_eq!(direct.plugin.open_spans(), 0);
}

#[tokio::test]
async fn a_post_call_of_another_generation_does_not_end_the_span() {
    let direct = Direct::new();
    let call = Call::new();
    direct.dispatch::<GenerationPreCall>(pre(), &call).await;
    direct
        .dispatch::<GenerationPostCall>(post(None), &Call::new())
        .await;
    assert!(direct.spans().is_empty());
    assert_eq!(direct.plugin.open_spans(), 1);
    direct
        .dispatch::<GenerationPostCall>(post(None), &call)
        .await;
    assert_eq!(direct.spans().len(), 1);
}

#[tokio::test]
async fn cache_and_reasoning_tokens_are_recorded() {
    let direct = Direct::new();
    let call = Call::new();
    direct.dispatch::<GenerationPreCall>(pre(), &call).await;
    let usage = Usage::new(1000, 100)
        .with_cache_creation_input_tokens(200)
        .with_cache_read_input_tokens(75)
        .with_reasoning_tokens(30);
    direct
        .dispatch::<GenerationPostCall>(post(Some(view_with_usage(usage))), &call)
        .await;
    let span = &direct.spans()[0];
    assert_eq!(
        int_attr(span, "gen_ai.usage.cache_read.input_tokens"),
        Some(75)
    );
    assert_eq!(
        int_attr(span, "gen_ai.usage.cache_creation.input_tokens"),
        Some(200)
    );
    assert_eq!(
        int_attr(span, "gen_ai.usage.reasoning.output_tokens"),
        Some(30)
    );
}

#[tokio::test]
async fn the_session_becomes_the_conversation_id() {
    let direct = Direct::new();
    let call = Call::new().session("sess-123");
    direct.dispatch::<GenerationPreCall>(pre(), &call).await;
    direct
        .dispatch::<GenerationPostCall>(post(None), &call)
        .await;
    assert_eq!(
        str_attr(&direct.spans()[0], "gen_ai.conversation.id"),
        Some("sess-123")
    );
}

#[tokio::test]
async fn a_format_and_tool_calls_are_recorded_with_the_head_names() {
    let direct = Direct::new();
    let call = Call::new();
    let mut p = pre();
    p.format = Some(Format::new("_DummyFormat", json!({"type": "object"})));
    p.tool_calls = true;
    p.action = Some(Object::new(DummyFormat));
    direct.dispatch::<GenerationPreCall>(p, &call).await;
    direct
        .dispatch::<GenerationPostCall>(post(None), &call)
        .await;
    let span = &direct.spans()[0];
    assert_eq!(attr(span, "mellea.backend"), None);
    assert_eq!(
        str_attr(span, "mellea.request.format_type"),
        Some("_DummyFormat")
    );
    assert_eq!(bool_attr(span, "mellea.action.tool_calls"), Some(true));
    assert_eq!(str_attr(span, "gen_ai.output.type"), Some("json"));
    assert_eq!(str_attr(span, "mellea.component.type"), Some("DummyFormat"));
    // v1 names are gone.
    for v1 in [
        "mellea.has_format",
        "mellea.format_type",
        "mellea.tool_calls_enabled",
    ] {
        assert_eq!(attr(span, v1), None, "{v1}");
    }
}

#[tokio::test]
async fn without_a_format_there_is_no_format_type_nor_output_type_and_tool_calls_is_false() {
    let direct = Direct::new();
    let call = Call::new();
    direct.dispatch::<GenerationPreCall>(pre(), &call).await;
    direct
        .dispatch::<GenerationPostCall>(post(None), &call)
        .await;
    let span = &direct.spans()[0];
    assert_eq!(attr(span, "mellea.request.format_type"), None);
    assert_eq!(attr(span, "gen_ai.output.type"), None);
    assert_eq!(bool_attr(span, "mellea.action.tool_calls"), Some(false));
    assert_eq!(attr(span, "mellea.component.type"), None);
    assert_eq!(
        attr(span, "gen_ai.request.stream"),
        None,
        "absent, not false"
    );
}

#[tokio::test]
async fn response_model_id_and_finish_reasons_are_recorded() {
    let direct = Direct::new();
    let call = Call::new();
    direct.dispatch::<GenerationPreCall>(pre(), &call).await;
    let mut view = OutputView::default();
    view.response_model = Some("gpt-4o-2024-08-06".into());
    view.response_id = Some("chatcmpl-abc123".into());
    view.finish_reasons = vec!["stop".into()];
    direct
        .dispatch::<GenerationPostCall>(post(Some(view)), &call)
        .await;
    let span = &direct.spans()[0];
    assert_eq!(
        str_attr(span, "gen_ai.response.model"),
        Some("gpt-4o-2024-08-06")
    );
    assert_eq!(
        str_attr(span, "gen_ai.response.id"),
        Some("chatcmpl-abc123")
    );
    assert_eq!(
        string_array_attr(span, "gen_ai.response.finish_reasons"),
        Some(vec!["stop".to_owned()])
    );
}

#[tokio::test]
async fn an_output_without_response_metadata_adds_no_response_attributes() {
    let direct = Direct::new();
    let call = Call::new().backend(BackendInfo::new("huggingface", "m"));
    direct.dispatch::<GenerationPreCall>(pre(), &call).await;
    direct
        .dispatch::<GenerationPostCall>(post(Some(OutputView::default())), &call)
        .await;
    let span = &direct.spans()[0];
    let response: Vec<String> = attr_keys(span)
        .into_iter()
        .filter(|k| k.starts_with("gen_ai.response."))
        .collect();
    assert!(response.is_empty(), "{response:?}");
}

fn batch_pre() -> GenerationBatchPreCallPayload {
    let mut p = GenerationBatchPreCallPayload::default();
    p.num_actions = 3;
    p
}

/// A batch generation on a remote backend of `provider` serving `m-x`.
fn batch_call(provider: &'static str) -> Call {
    Call::new().backend(BackendInfo::new(provider, "m-x").remote())
}

#[tokio::test]
async fn a_batch_opens_a_text_completion_span_named_after_the_model() {
    let direct = Direct::new();
    let call = batch_call("openai");
    let mut p = batch_pre();
    p.format = Some(Format::new("Row", json!({})));
    direct.dispatch::<GenerationBatchPreCall>(p, &call).await;
    let done = GenerationBatchPostCallPayload::default();
    direct
        .dispatch::<GenerationBatchPostCall>(done, &call)
        .await;

    let spans = direct.spans();
    let span = named(&spans, "text_completion m-x");
    assert_kind(span, SpanKind::Client);
    assert_eq!(
        str_attr(span, "gen_ai.operation.name"),
        Some("text_completion")
    );
    assert_eq!(int_attr(span, "mellea.request.num_actions"), Some(3));
    assert_eq!(str_attr(span, "gen_ai.provider.name"), Some("openai"));
    assert_eq!(str_attr(span, "gen_ai.request.model"), Some("m-x"));
    assert_eq!(str_attr(span, "mellea.request.format_type"), Some("Row"));
    assert_eq!(str_attr(span, "gen_ai.output.type"), Some("json"));
    assert_eq!(bool_attr(span, "mellea.action.tool_calls"), Some(false));
    for absent in [
        "mellea.component.type",
        "mellea.request.context_size",
        "gen_ai.request.stream",
    ] {
        assert_eq!(attr(span, absent), None, "{absent}");
    }
}

#[tokio::test]
async fn a_watsonx_batch_records_the_normalised_provider_and_its_usage() {
    let direct = Direct::new();
    let call = batch_call("watsonx");
    direct
        .dispatch::<GenerationBatchPreCall>(batch_pre(), &call)
        .await;
    let mut done = GenerationBatchPostCallPayload::default();
    done.usage = Some(Usage::new(30, 15));
    direct
        .dispatch::<GenerationBatchPostCall>(done, &call)
        .await;
    let span = &direct.spans()[0];
    assert_eq!(
        str_attr(span, "gen_ai.provider.name"),
        Some("ibm.watsonx.ai")
    );
    assert_eq!(int_attr(span, "gen_ai.usage.input_tokens"), Some(30));
    assert_eq!(int_attr(span, "gen_ai.usage.output_tokens"), Some(15));
    assert_eq!(int_attr(span, "mellea.usage.total_tokens"), Some(45));
    for absent in ["gen_ai.response.model", "gen_ai.response.id"] {
        assert_eq!(attr(span, absent), None, "{absent}");
    }
    assert_eq!(direct.plugin.open_spans(), 0);
}

#[tokio::test]
async fn a_batch_error_records_the_exception_and_error_type() {
    let direct = Direct::new();
    let call = batch_call("openai");
    direct
        .dispatch::<GenerationBatchPreCall>(batch_pre(), &call)
        .await;
    let mut failed = GenerationBatchErrorPayload::default();
    failed.exception = ErrorInfo::new("RuntimeError", "RuntimeError", "boom")
        .with_description("the batch failed (HTTP 500)");
    direct.dispatch::<GenerationBatchError>(failed, &call).await;
    let span = &direct.spans()[0];
    assert_eq!(exception_events(span).len(), 1);
    assert_eq!(error_description(span), "the batch failed (HTTP 500)");
    assert_eq!(str_attr(span, "error.type"), Some("RuntimeError"));
}

fn chunk_event(data: serde_json::Value) -> GenerationEventPayload {
    let mut p = GenerationEventPayload::default();
    p.event_name = "chunk_processed".into();
    p.data = match data {
        serde_json::Value::Object(map) => map,
        _ => JsonMap::new(),
    };
    p
}

#[tokio::test]
async fn a_chunk_event_is_added_to_the_open_span_without_ending_it() {
    let direct = Direct::new();
    let call = Call::new();
    direct.dispatch::<GenerationPreCall>(pre(), &call).await;
    direct
        .dispatch::<GenerationEvent>(
            chunk_event(
                json!({"chunk_index": 2, "chunk_text_length": 5, "time_since_last_chunk_ms": 40.0}),
            ),
            &call,
        )
        .await;
    direct
        .dispatch::<GenerationEvent>(
            chunk_event(
                json!({"chunk_index": 0, "chunk_text_length": 1, "time_since_last_chunk_ms": null}),
            ),
            &call,
        )
        .await;
    assert!(direct.spans().is_empty(), "events do not end the span");
    direct
        .dispatch::<GenerationPostCall>(post(None), &call)
        .await;

    let span = &direct.spans()[0];
    let events: Vec<_> = span.events.iter().collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].name, "chunk_processed");
    assert_eq!(
        events[0].attributes,
        [
            KeyValue::new("mellea.generation.chunk_index", 2),
            KeyValue::new("mellea.generation.chunk_text_length", 5),
            KeyValue::new("mellea.generation.time_since_last_chunk_ms", 40.0),
        ]
    );
    assert_eq!(
        events[1].attributes,
        [
            KeyValue::new("mellea.generation.chunk_index", 0),
            KeyValue::new("mellea.generation.chunk_text_length", 1),
        ],
        "a null time is left out"
    );
}

#[tokio::test]
async fn an_event_for_an_unknown_generation_or_of_another_name_adds_nothing() {
    let direct = Direct::new();
    let call = Call::new();
    direct.dispatch::<GenerationPreCall>(pre(), &call).await;
    direct
        .dispatch::<GenerationEvent>(chunk_event(json!({"chunk_index": 0})), &Call::new())
        .await;
    let mut other = chunk_event(json!({"chunk_index": 0}));
    other.event_name = "something_else".into();
    direct.dispatch::<GenerationEvent>(other, &call).await;
    direct
        .dispatch::<GenerationPostCall>(post(None), &call)
        .await;
    assert!(direct.spans()[0].events.is_empty());
}

#[tokio::test]
async fn model_options_become_request_sampling_attributes() {
    let direct = Direct::new();
    let call = Call::new();
    let mut p = pre();
    for (k, v) in [
        ("temperature", json!(0.2)),
        ("max_tokens", json!(256)),
        ("top_p", json!(0.9)),
        ("seed", json!(7)),
        ("stop", json!(["###", "END"])),
    ] {
        p.model_options.insert(k.into(), v);
    }
    direct.dispatch::<GenerationPreCall>(p, &call).await;
    direct
        .dispatch::<GenerationPostCall>(post(None), &call)
        .await;
    let span = &direct.spans()[0];
    assert_eq!(float_attr(span, "gen_ai.request.temperature"), Some(0.2));
    assert_eq!(int_attr(span, "gen_ai.request.max_tokens"), Some(256));
    assert_eq!(float_attr(span, "gen_ai.request.top_p"), Some(0.9));
    assert_eq!(int_attr(span, "gen_ai.request.seed"), Some(7));
    assert_eq!(
        string_array_attr(span, "gen_ai.request.stop_sequences"),
        Some(vec!["###".to_owned(), "END".to_owned()])
    );
}

#[tokio::test]
async fn a_declared_server_is_recorded_and_makes_the_span_a_client_span() {
    let direct = Direct::new();
    let call = Call::new().backend(BackendInfo::new("vllm", "llama").with_server("gpu-box", 8000));
    direct.dispatch::<GenerationPreCall>(pre(), &call).await;
    direct
        .dispatch::<GenerationPostCall>(post(None), &call)
        .await;
    let span = &direct.spans()[0];
    assert_eq!(span.name, "chat llama", "model taken from the backend");
    assert_kind(span, SpanKind::Client);
    assert_eq!(str_attr(span, "server.address"), Some("gpu-box"));
    assert_eq!(int_attr(span, "server.port"), Some(8000));
    assert_eq!(str_attr(span, "gen_ai.provider.name"), Some("vllm"));
}

#[tokio::test]
async fn a_span_whose_generation_state_is_dropped_without_an_end_hook_ends_as_abandoned() {
    let direct = Direct::new();
    let call = Call::new();
    direct.dispatch::<GenerationPreCall>(pre(), &call).await;
    assert_eq!(direct.plugin.open_spans(), 1);
    drop(call);
    assert_eq!(direct.plugin.open_spans(), 0);
    let spans = direct.spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(str_attr(&spans[0], "error.type"), Some("abandoned"));
    assert!(is_error(&spans[0]));
}

#[tokio::test]
async fn a_failure_without_a_class_is_recorded_as_other() {
    let direct = Direct::new();
    let call = Call::new();
    direct.dispatch::<GenerationPreCall>(pre(), &call).await;
    direct
        .dispatch::<GenerationError>(error(ErrorInfo::new("", "", "??")), &call)
        .await;
    assert_eq!(str_attr(&direct.spans()[0], "error.type"), Some("_OTHER"));
}

// ---- Attribute rules (cases 28–32) ----------------------------------------------------------

fn keys(attributes: &[KeyValue]) -> Vec<&str> {
    let mut keys: Vec<&str> = attributes.iter().map(|kv| kv.key.as_str()).collect();
    keys.sort();
    keys
}

#[test]
fn request_attributes_are_exactly_operation_provider_and_model_when_known() {
    let all = request_attributes("chat", Some("gpt-4o"), Some("openai"));
    assert_eq!(
        keys(&all),
        [
            "gen_ai.operation.name",
            "gen_ai.provider.name",
            "gen_ai.request.model"
        ]
    );
    let bare = request_attributes("chat", None, None);
    assert_eq!(bare, [KeyValue::new("gen_ai.operation.name", "chat")]);
    let watsonx = request_attributes("chat", None, Some("watsonx"));
    assert!(watsonx.contains(&KeyValue::new("gen_ai.provider.name", "ibm.watsonx.ai")));
}

#[test]
fn usage_attributes_are_one_per_reported_counter_and_none_without_usage() {
    assert!(usage_attributes(None).is_empty());
    let mut partial = Usage::default();
    partial.input_tokens = Some(99);
    assert_eq!(
        usage_attributes(Some(&partial)),
        [KeyValue::new("gen_ai.usage.input_tokens", 99)]
    );
    let full = Usage::new(1, 2)
        .with_cache_read_input_tokens(3)
        .with_cache_creation_input_tokens(4)
        .with_reasoning_tokens(5);
    assert_eq!(usage_attributes(Some(&full)).len(), 6);
}

#[test]
fn response_attributes_follow_the_output_view() {
    let mut view = OutputView::default();
    assert!(
        response_attributes(&view).is_empty(),
        "all unset: no attribute"
    );
    view.finish_reasons = vec!["stop".into(), "length".into()];
    view.time_to_first_chunk = Some(Duration::from_millis(250));
    let attributes = response_attributes(&view);
    assert!(attributes.contains(&KeyValue::new(
        "gen_ai.response.finish_reasons",
        Value::Array(opentelemetry::Array::String(vec![
            "stop".into(),
            "length".into()
        ]))
    )));
    assert!(attributes.contains(&KeyValue::new("gen_ai.response.time_to_first_chunk", 0.25)));
}

#[test]
fn context_size_counts_known_sequences_and_is_zero_without_a_context() {
    assert_eq!(context_size(None), Some(0));
    assert_eq!(
        context_size(Some(&Object::new(vec![json!(1), json!(2), json!(3)]))),
        Some(3)
    );
    assert_eq!(context_size(Some(&Object::new(json!([1, 2, 3])))), Some(3));
    assert_eq!(
        context_size(Some(&Object::new(vec![mellea::generation::Message::user(
            "hi"
        )]))),
        Some(1)
    );
    assert_eq!(
        context_size(Some(&Object::new(DummyFormat))),
        None,
        "unknown size"
    );
}

#[tokio::test]
async fn the_action_type_and_context_size_are_recorded_on_chat_spans() {
    let direct = Direct::new();
    let call = Call::new();
    let mut p = pre();
    p.action = Some(Object::new(DummyFormat));
    p.context = Some(Object::new(vec![json!(1), json!(2), json!(3)]));
    direct.dispatch::<GenerationPreCall>(p, &call).await;
    direct
        .dispatch::<GenerationPostCall>(post(None), &call)
        .await;
    let span = &direct.spans()[0];
    assert_eq!(str_attr(span, "mellea.component.type"), Some("DummyFormat"));
    assert_eq!(int_attr(span, "mellea.request.context_size"), Some(3));
}

#[test]
fn json_attribute_values_follow_the_safe_setter_rules() {
    assert_eq!(json_attribute_value(&json!(null)), None);
    assert_eq!(json_attribute_value(&json!(true)), Some(Value::Bool(true)));
    assert_eq!(json_attribute_value(&json!(5)), Some(Value::I64(5)));
    assert_eq!(json_attribute_value(&json!(0.5)), Some(Value::F64(0.5)));
    assert_eq!(json_attribute_value(&json!("s")), Some(Value::from("s")));
    assert_eq!(
        json_attribute_value(&json!([1, 2, 3])),
        Some(Value::Array(opentelemetry::Array::String(vec![
            "1".into(),
            "2".into(),
            "3".into()
        ])))
    );
    assert_eq!(
        json_attribute_value(&json!({"a": 1})),
        Some(Value::from(r#"{"a":1}"#))
    );
}
