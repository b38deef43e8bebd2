//! How generation data becomes span attributes (reference: mellea-tracing.md §4.1).
//!
//! Pure functions, so each rule is testable on its own; the
//! [`BackendTracingPlugin`](crate::telemetry::BackendTracingPlugin) composes them.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::{Array, KeyValue, StringValue, Value};
use serde_json::Value as Json;

use super::semconv;
use crate::generation::Message;
use crate::hooks::{ModelOptions, Object, OutputView, Prompt, Usage, model_option};
use crate::recent_texts::shared;

/// The `gen_ai.provider.name` of a provider as backends declare it: `watsonx` becomes
/// `ibm.watsonx.ai`, everything else is kept.
///
/// ```
/// use mellea_runtime::telemetry::attributes::normalize_provider_name;
/// assert_eq!(normalize_provider_name("watsonx"), "ibm.watsonx.ai");
/// assert_eq!(normalize_provider_name("openai"), "openai");
/// ```
pub fn normalize_provider_name(provider: &str) -> &str {
    match provider {
        "watsonx" => semconv::PROVIDER_IBM_WATSONX_AI,
        other => other,
    }
}

/// The span name: `"{operation} {model}"`, or the bare operation when the model is unknown.
///
/// ```
/// use mellea_runtime::telemetry::attributes::span_name;
/// assert_eq!(span_name("chat", Some("gpt-4o")), "chat gpt-4o");
/// assert_eq!(span_name("chat", None), "chat");
/// assert_eq!(span_name("text_completion", Some("")), "text_completion");
/// ```
pub fn span_name(operation: &str, model: Option<&str>) -> String {
    match model.filter(|m| !m.is_empty()) {
        // Once per span: concatenated rather than formatted (`format!` costs ~5x as much).
        Some(model) => {
            let mut name = String::with_capacity(operation.len() + 1 + model.len());
            name.push_str(operation);
            name.push(' ');
            name.push_str(model);
            name
        }
        None => operation.to_owned(),
    }
}

/// `gen_ai.operation.name` (always), `gen_ai.provider.name` and `gen_ai.request.model` (each
/// only when known and non-empty).
pub fn request_attributes(
    operation: &'static str,
    model: Option<&str>,
    provider: Option<&str>,
) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(3);
    let provider = provider
        .filter(|p| !p.is_empty())
        .map(|p| opentelemetry::Value::from(normalize_provider_name(p).to_owned()));
    push_request_attributes(&mut attributes, operation, model, provider);
    attributes
}

/// [`request_attributes`] appended to `attributes` (the provider given as its attribute
/// value, see [`provider_value`]), so a caller that adds more builds one vector.
pub(crate) fn push_request_attributes(
    attributes: &mut Vec<KeyValue>,
    operation: &'static str,
    model: Option<&str>,
    provider: Option<opentelemetry::Value>,
) {
    if let Some(provider) = provider {
        attributes.push(KeyValue::new(semconv::GEN_AI_PROVIDER_NAME, provider));
    }
    if let Some(model) = model.filter(|m| !m.is_empty()) {
        attributes.push(KeyValue::new(
            semconv::GEN_AI_REQUEST_MODEL,
            model.to_owned(),
        ));
    }
    attributes.push(KeyValue::new(semconv::GEN_AI_OPERATION_NAME, operation));
}

/// `gen_ai.provider.name` of `provider`, normalised; a static name (what
/// `#[backend(provider = ...)]` declares) that needs no normalising is not copied.
// The `Cow` itself is the point: its variant tells a static name from an owned one.
#[allow(clippy::ptr_arg)]
pub(crate) fn provider_value(provider: &Cow<'static, str>) -> Option<opentelemetry::Value> {
    if provider.is_empty() {
        return None;
    }
    Some(match provider {
        Cow::Borrowed(declared) if normalize_provider_name(declared) == *declared => {
            opentelemetry::Value::from(*declared)
        }
        _ => opentelemetry::Value::from(normalize_provider_name(provider).to_owned()),
    })
}

/// An attribute value of a token count or similar: OTel integers are signed.
pub(crate) fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// One attribute per usage counter the provider reported; none for `None`.
///
/// Total tokens go to `mellea.usage.total_tokens` (semconv has no total).
pub fn usage_attributes(usage: Option<&Usage>) -> Vec<KeyValue> {
    usage_attribute_slots(usage).into_iter().flatten().collect()
}

/// `gen_ai.response.model` / `.id` (when non-empty), `.finish_reasons` (string array, when
/// any) and `.time_to_first_chunk` (seconds, when streamed).
pub fn response_attributes(output: &OutputView) -> Vec<KeyValue> {
    response_attribute_slots(output)
        .into_iter()
        .flatten()
        .collect()
}

/// [`response_attributes`] without a vector of their own, each in its slot or `None`; the
/// response model and finish reasons shared with earlier spans rather than copied.
pub(crate) fn response_attribute_slots(output: &OutputView) -> [Option<KeyValue>; 4] {
    [
        output
            .response_model
            .as_ref()
            .filter(|model| !model.is_empty())
            .map(|model| {
                KeyValue::new(
                    semconv::GEN_AI_RESPONSE_MODEL,
                    StringValue::from(Arc::clone(model)),
                )
            }),
        // Unique per response: nothing to share.
        non_empty(&output.response_id)
            .map(|id| KeyValue::new(semconv::GEN_AI_RESPONSE_ID, id.to_owned())),
        (!output.finish_reasons.is_empty()).then(|| {
            KeyValue::new(
                semconv::GEN_AI_RESPONSE_FINISH_REASONS,
                Value::Array(Array::String(
                    output
                        .finish_reasons
                        .iter()
                        .map(|r| StringValue::from(shared(r)))
                        .collect(),
                )),
            )
        }),
        output.time_to_first_chunk.map(|ttfc| {
            KeyValue::new(
                semconv::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
                ttfc.as_secs_f64(),
            )
        }),
    ]
}

fn non_empty(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|t| !t.is_empty())
}

/// [`usage_attributes`] without a vector of their own, each in its slot or `None`.
pub(crate) fn usage_attribute_slots(usage: Option<&Usage>) -> [Option<KeyValue>; 6] {
    let Some(usage) = usage else {
        return Default::default();
    };
    [
        (semconv::GEN_AI_USAGE_INPUT_TOKENS, usage.input_tokens),
        (semconv::GEN_AI_USAGE_OUTPUT_TOKENS, usage.output_tokens),
        (semconv::MELLEA_USAGE_TOTAL_TOKENS, usage.total_tokens),
        (
            semconv::GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
            usage.cache_read_input_tokens,
        ),
        (
            semconv::GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
            usage.cache_creation_input_tokens,
        ),
        (
            semconv::GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
            usage.reasoning_tokens,
        ),
    ]
    .map(|(key, value)| value.map(|v| KeyValue::new(key, count(v))))
}

/// The sampling parameters among `model_options` that semconv names:
/// `gen_ai.request.temperature`, `max_tokens`, `top_p`, `seed`, `stop_sequences`. Options of
/// the wrong JSON type are skipped.
pub fn model_option_attributes(options: &ModelOptions) -> Vec<KeyValue> {
    let mut attributes = Vec::new();
    push_model_option_attributes(&mut attributes, options);
    attributes
}

/// [`model_option_attributes`] appended to `attributes`.
pub(crate) fn push_model_option_attributes(attributes: &mut Vec<KeyValue>, options: &ModelOptions) {
    let float = |key: &str| options.get(key).and_then(Json::as_f64);
    let integer = |key: &str| options.get(key).and_then(Json::as_i64);
    if let Some(t) = float(model_option::TEMPERATURE) {
        attributes.push(KeyValue::new(semconv::GEN_AI_REQUEST_TEMPERATURE, t));
    }
    if let Some(n) = integer(model_option::MAX_TOKENS) {
        attributes.push(KeyValue::new(semconv::GEN_AI_REQUEST_MAX_TOKENS, n));
    }
    if let Some(p) = float(model_option::TOP_P) {
        attributes.push(KeyValue::new(semconv::GEN_AI_REQUEST_TOP_P, p));
    }
    if let Some(seed) = integer(model_option::SEED) {
        attributes.push(KeyValue::new(semconv::GEN_AI_REQUEST_SEED, seed));
    }
    match options.get(model_option::STOP_SEQUENCES) {
        Some(Json::String(stop)) => attributes.push(KeyValue::new(
            semconv::GEN_AI_REQUEST_STOP_SEQUENCES,
            string_array([stop.clone()]),
        )),
        Some(Json::Array(stops)) => attributes.push(KeyValue::new(
            semconv::GEN_AI_REQUEST_STOP_SEQUENCES,
            string_array(stops.iter().filter_map(|s| s.as_str().map(str::to_owned))),
        )),
        _ => {}
    }
}

/// Number of entries of a conversation context, for `mellea.request.context_size`: 0 for no
/// context; the length of a `Vec<Message>`, `Vec<serde_json::Value>`, `Vec<String>`,
/// `Vec<Object>` or JSON array; `None` (attribute left out) for any other type, whose size
/// cannot be known.
pub fn context_size(context: Option<&Object>) -> Option<i64> {
    let Some(context) = context else {
        return Some(0);
    };
    let len = if let Some(v) = context.downcast_ref::<Vec<Message>>() {
        v.len()
    } else if let Some(v) = context.downcast_ref::<Vec<Json>>() {
        v.len()
    } else if let Some(v) = context.downcast_ref::<Vec<String>>() {
        v.len()
    } else if let Some(v) = context.downcast_ref::<Vec<Object>>() {
        v.len()
    } else if let Some(v) = context.downcast_ref::<Json>() {
        match v {
            Json::Array(items) => items.len(),
            Json::Null => 0,
            _ => return None,
        }
    } else {
        return None;
    };
    Some(count(len as u64))
}

/// A string-array attribute value.
pub fn string_array(items: impl IntoIterator<Item = String>) -> Value {
    Value::Array(Array::String(
        items.into_iter().map(StringValue::from).collect(),
    ))
}

/// The attribute value of a JSON value, by the reference's "safe setter" rules: `null` is
/// skipped (`None`); booleans, integers, floats and strings pass through; an array becomes an
/// array of strings (each element's text); an object becomes its JSON text.
///
/// ```
/// use mellea_runtime::telemetry::attributes::json_attribute_value;
/// use opentelemetry::Value;
/// assert_eq!(json_attribute_value(&serde_json::json!(null)), None);
/// assert_eq!(json_attribute_value(&serde_json::json!(3)), Some(Value::I64(3)));
/// assert_eq!(
///     json_attribute_value(&serde_json::json!([1, "a"])).unwrap().to_string(),
///     r#"["1","a"]"#
/// );
/// ```
pub fn json_attribute_value(value: &Json) -> Option<Value> {
    Some(match value {
        Json::Null => return None,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::I64(i),
            None => match n.as_f64() {
                Some(f) => Value::F64(f),
                None => Value::String(n.to_string().into()),
            },
        },
        Json::String(s) => Value::String(s.clone().into()),
        Json::Array(items) => string_array(items.iter().map(|item| match item {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        })),
        Json::Object(_) => Value::String(value.to_string().into()),
    })
}

/// The standard limit on span attribute value lengths; wins over
/// [`ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV`]. Applied to the captured content attributes.
pub const SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV: &str = "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT";
/// The standard limit on attribute value lengths of every signal.
pub const ATTRIBUTE_VALUE_LENGTH_LIMIT_ENV: &str = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
/// The longest captured prompt or completion attribute, in characters, when neither limit
/// variable is set: 32 Ki characters, about 8,000 tokens of text. A batch of 512 spans with two
/// such attributes each stays near the 4 MiB that OTLP receivers accept by default, where one
/// uncut 50 MB completion would get the whole batch rejected.
pub const DEFAULT_CONTENT_VALUE_LIMIT: usize = 32 * 1024;

/// Appended to a captured content attribute that was cut to its length limit.
pub const TRUNCATION_MARKER: &str = "…[truncated]";

/// `text` cut to at most `limit` characters (Unicode scalar values, as OpenTelemetry counts
/// attribute value lengths), ending in [`TRUNCATION_MARKER`] when it was cut — so a 50 MB
/// completion never becomes a 50 MB attribute that a collector rejects with its whole batch.
///
/// ```
/// use mellea_runtime::telemetry::attributes::truncate_content;
/// assert_eq!(truncate_content("short".into(), 10), "short");
/// assert_eq!(truncate_content("a".repeat(20), 15), "aaa…[truncated]");
/// assert_eq!(truncate_content("héllo".into(), 2), "hé", "no room for the marker");
/// ```
pub fn truncate_content(text: String, limit: usize) -> String {
    let Some((cut, _)) = text.char_indices().nth(limit) else {
        return text;
    };
    let marker = TRUNCATION_MARKER.chars().count();
    if limit <= marker {
        return text[..cut].to_owned();
    }
    let (keep, _) = text
        .char_indices()
        .nth(limit - marker)
        .unwrap_or((cut, ' '));
    let mut cut_text = String::with_capacity(keep + TRUNCATION_MARKER.len());
    cut_text.push_str(&text[..keep]);
    cut_text.push_str(TRUNCATION_MARKER);
    cut_text
}

/// `gen_ai.input.messages` as a JSON string: the prompt's messages; a bare string prompt
/// becomes one user message.
pub(crate) fn input_messages(prompt: &Prompt) -> Option<String> {
    match prompt.to_json() {
        Json::Null => None,
        Json::String(s) if s.is_empty() => None,
        Json::String(s) => Some(Message::user(s).to_semconv_json()),
        other => Some(other),
    }
    .map(|messages| match messages {
        Json::Array(_) => messages.to_string(),
        single => Json::Array(vec![single]).to_string(),
    })
}

/// `gen_ai.output.messages` as a JSON string: one assistant message with the generated text
/// and the tool calls (`tool_call` parts).
pub(crate) fn output_messages(output: &OutputView) -> Option<String> {
    if output.text.is_none() && output.tool_calls.is_empty() {
        return None;
    }
    let text = output.text.as_deref().unwrap_or_default();
    let mut message = Message::assistant(text)
        .with_tool_calls(output.tool_calls.iter().cloned())
        .to_semconv_json();
    if let (Some(reason), Json::Object(map)) = (output.finish_reasons.first(), &mut message) {
        map.insert("finish_reason".into(), Json::String(reason.clone()));
    }
    Some(Json::Array(vec![message]).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn keys(attributes: &[KeyValue]) -> Vec<&str> {
        let mut keys: Vec<&str> = attributes.iter().map(|kv| kv.key.as_str()).collect();
        keys.sort();
        keys
    }

    #[test]
    fn input_messages_wrap_a_bare_prompt_as_one_user_message() {
        let expected = r#"[{"parts":[{"content":"hi","type":"text"}],"role":"user"}]"#;
        let text = input_messages(&Prompt::from(Json::String("hi".into()))).unwrap();
        assert_eq!(text, expected);
        assert_eq!(input_messages(&Prompt::from("hi")).unwrap(), expected);
        assert_eq!(
            input_messages(&Prompt::from(Json::String(String::new()))),
            None
        );
        assert_eq!(input_messages(&Prompt::from(Json::Null)), None);
    }

    #[test]
    fn output_messages_carry_the_text_and_first_finish_reason() {
        let mut view = OutputView::default();
        assert_eq!(output_messages(&view), None);
        view.text = Some("done".into());
        view.finish_reasons = vec!["stop".into()];
        let text = output_messages(&view).unwrap();
        assert!(text.contains(r#""finish_reason":"stop""#), "{text}");
        assert!(text.contains(r#""role":"assistant""#), "{text}");
    }

    #[test]
    fn content_is_cut_to_the_limit_in_characters_with_the_marker() {
        let text = "é".repeat(100);
        let cut = truncate_content(text.clone(), 50);
        assert_eq!(cut.chars().count(), 50);
        assert!(cut.ends_with(TRUNCATION_MARKER));
        assert_eq!(
            truncate_content(text.clone(), 100),
            text,
            "at the limit: untouched"
        );
        assert_eq!(truncate_content(text, 0), "");
    }

    #[test]
    fn model_options_of_the_wrong_type_are_skipped() {
        let mut options = ModelOptions::new();
        options.insert("temperature".into(), "hot".into());
        options.insert("max_tokens".into(), 64.into());
        options.insert("stop".into(), "###".into());
        let attributes = model_option_attributes(&options);
        assert_eq!(
            keys(&attributes),
            ["gen_ai.request.max_tokens", "gen_ai.request.stop_sequences"]
        );
    }

    #[test]
    fn the_end_attributes_come_in_order_and_skip_what_is_unknown() {
        let view = OutputView {
            response_model: Some("m-2026".into()),
            response_id: Some("resp-1".into()),
            finish_reasons: vec!["stop".into(), "length".into()],
            time_to_first_chunk: Some(Duration::from_millis(20)),
            usage: Some(Usage::new(12, 3)),
            ..OutputView::default()
        };
        let strings = |items: &[&'static str]| {
            Value::Array(Array::String(items.iter().map(|s| (*s).into()).collect()))
        };
        assert_eq!(
            response_attributes(&view),
            [
                KeyValue::new("gen_ai.response.model", "m-2026"),
                KeyValue::new("gen_ai.response.id", "resp-1"),
                KeyValue::new(
                    "gen_ai.response.finish_reasons",
                    strings(&["stop", "length"])
                ),
                KeyValue::new("gen_ai.response.time_to_first_chunk", 0.02),
            ]
        );
        assert_eq!(
            usage_attributes(view.usage.as_ref()),
            [
                KeyValue::new("gen_ai.usage.input_tokens", 12),
                KeyValue::new("gen_ai.usage.output_tokens", 3),
                KeyValue::new("mellea.usage.total_tokens", 15),
            ]
        );
        let empty = OutputView {
            response_model: Some("".into()),
            ..OutputView::default()
        };
        assert!(response_attribute_slots(&empty).iter().all(Option::is_none));
        assert!(usage_attribute_slots(None).iter().all(Option::is_none));
    }

    #[test]
    fn a_time_to_first_chunk_is_recorded_in_seconds() {
        let view = OutputView {
            time_to_first_chunk: Some(Duration::from_millis(250)),
            ..OutputView::default()
        };
        assert_eq!(
            response_attributes(&view),
            [KeyValue::new("gen_ai.response.time_to_first_chunk", 0.25)]
        );
    }
}
