//! Value types shared by the payloads of several hook families.

use std::any::Any;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use super::HookType;
use crate::tools::ToolCall;

/// A JSON object, used for free-form maps (`user_metadata`, `data`, model options).
pub type JsonMap = serde_json::Map<String, serde_json::Value>;

/// Provider options of one call (`temperature`, `max_tokens`, ...), keyed as in
/// [`model_option`](crate::hooks::model_option).
pub type ModelOptions = JsonMap;

/// Well-known keys of [`ModelOptions`].
pub mod model_option {
    /// `bool`: the call streams its output.
    pub const STREAM: &str = "stream";
    /// `f64`: sampling temperature.
    pub const TEMPERATURE: &str = "temperature";
    /// `u64`: upper bound of generated tokens.
    pub const MAX_TOKENS: &str = "max_tokens";
    /// `f64`: nucleus sampling mass.
    pub const TOP_P: &str = "top_p";
    /// `i64`: sampling seed.
    pub const SEED: &str = "seed";
    /// `[string]`: sequences that stop generation.
    pub const STOP_SEQUENCES: &str = "stop";
}

/// Fields every payload carries.
///
/// `hook` is stamped by the dispatcher; the other fields are set by the call site (most leave
/// them at their defaults, as in the reference).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PayloadBase {
    /// Session the dispatch belongs to, if any. Session-scoped plugins fire only for dispatches
    /// of their own session. Shared with the generation or invocation it belongs to, not copied.
    pub session_id: Option<Arc<str>>,
    /// Free-form request correlation id (empty unless the application sets it).
    pub request_id: String,
    /// When the payload was built.
    pub timestamp: SystemTime,
    /// The hook this payload was dispatched to; `None` until dispatch stamps it.
    pub hook: Option<HookType>,
    /// Application metadata carried along unchanged.
    pub user_metadata: JsonMap,
}

impl Default for PayloadBase {
    fn default() -> Self {
        Self {
            session_id: None,
            request_id: String::new(),
            timestamp: SystemTime::now(),
            hook: None,
            user_metadata: JsonMap::new(),
        }
    }
}

/// A shared, type-erased handle to an application object (an action, a context, a tool...).
///
/// Cloning shares the object; handlers see the very object the call site passed (no copies),
/// and can downcast it to the concrete type they know.
///
/// ```
/// use mellea_runtime::hooks::Object;
/// struct Instruction { text: String }
/// let action = Object::new(Instruction { text: "summarise".into() });
/// assert_eq!(action.type_name(), "Instruction");
/// assert_eq!(action.downcast_ref::<Instruction>().unwrap().text, "summarise");
/// ```
#[derive(Clone)]
pub struct Object {
    value: Arc<dyn Any + Send + Sync>,
    type_name: &'static str,
}

impl Object {
    /// Wraps a value.
    pub fn new<T: Any + Send + Sync>(value: T) -> Self {
        Self::from_arc(Arc::new(value))
    }

    /// Wraps an already shared value without copying it.
    pub fn from_arc<T: Any + Send + Sync>(value: Arc<T>) -> Self {
        Self {
            value,
            type_name: short_type_name(std::any::type_name::<T>()),
        }
    }

    /// The unqualified name of the wrapped type, e.g. `"Instruction"`.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The wrapped value, if it is a `T`.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.value.downcast_ref()
    }

    /// The wrapped value as a shared `Arc<T>`, if it is a `T`.
    pub fn downcast_arc<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.value.clone().downcast().ok()
    }

    /// Whether two handles share one object.
    pub fn ptr_eq(&self, other: &Object) -> bool {
        Arc::ptr_eq(&self.value, &other.value)
    }
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Object<{}>", self.type_name)
    }
}

/// Strips module paths and generic arguments' paths: `a::b::Foo<c::Bar>` → `Foo<Bar>`.
pub(crate) fn short_type_name(full: &'static str) -> &'static str {
    let head = full.split('<').next().unwrap_or(full);
    match head.rfind("::") {
        Some(pos) => &full[pos + 2..],
        None => full,
    }
}

/// One message of a chat prompt.
///
/// Besides text, an assistant message may carry the tool calls the model asked for, and a
/// `tool` message answers one of them by its id.
///
/// ```
/// use mellea_runtime::hooks::Message;
/// use mellea_runtime::tools::ToolCall;
/// let m = Message::user("Summarise this.");
/// assert_eq!(m.role, "user");
/// let asked = Message::assistant("").with_tool_calls([ToolCall::new("add", "{}").with_id("c1")]);
/// let answer = Message::tool_result("c1", "3");
/// assert_eq!(answer.tool_call_id.as_deref(), Some("c1"));
/// assert_eq!(asked.to_semconv_json()["parts"][0]["type"], "tool_call");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// `"system"`, `"user"`, `"assistant"` or `"tool"`.
    pub role: String,
    /// The text of the message (of a `tool` message: the tool's result).
    pub content: String,
    /// Tool calls the model asked for (assistant messages).
    pub tool_calls: Vec<ToolCall>,
    /// The call a `tool` message answers.
    pub tool_call_id: Option<String>,
}

impl Message {
    /// A message with any role.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }

    /// A `tool` message: the result of the call `call_id`.
    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            tool_call_id: Some(call_id.into()),
            ..Self::new("tool", content)
        }
    }

    /// The message with `calls` as its tool calls.
    #[must_use]
    pub fn with_tool_calls(mut self, calls: impl IntoIterator<Item = ToolCall>) -> Self {
        self.tool_calls = calls.into_iter().collect();
        self
    }

    /// The message in the GenAI semantic conventions' message shape: a `text` part (unless
    /// the message is only tool calls), one `tool_call` part per call, and for a `tool`
    /// message a `tool_call_response` part
    /// (`{"role": ..., "parts": [{"type": "text", "content": ...}]}`).
    pub fn to_semconv_json(&self) -> serde_json::Value {
        let mut parts = Vec::with_capacity(1 + self.tool_calls.len());
        if let Some(id) = &self.tool_call_id {
            parts.push(serde_json::json!({
                "type": "tool_call_response", "id": id, "response": self.content,
            }));
        } else if !self.content.is_empty() || self.tool_calls.is_empty() {
            parts.push(serde_json::json!({ "type": "text", "content": self.content }));
        }
        parts.extend(self.tool_calls.iter().map(ToolCall::to_semconv_part));
        serde_json::json!({ "role": self.role, "parts": parts })
    }
}

/// The structured output format a call requests (a JSON schema with a name).
#[derive(Clone, Debug, PartialEq)]
pub struct Format {
    /// The schema's name (recorded as `mellea.request.format_type`).
    pub name: String,
    /// The JSON schema itself.
    pub schema: serde_json::Value,
}

impl Format {
    /// A named JSON schema.
    pub fn new(name: impl Into<String>, schema: serde_json::Value) -> Self {
        Self {
            name: name.into(),
            schema,
        }
    }
}

/// What went wrong, as hooks see it: an error's message and a low-cardinality class.
///
/// Built from the caller's error by reference, so the error itself is returned to the caller
/// untouched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorInfo {
    /// `Display` of the error. It may quote the request or the server's answer (a server's
    /// "your message '…' is too long"), so it is for hooks and the caller only: spans record
    /// [`description`](Self::description) unless content capture is on.
    pub message: String,
    /// What went wrong without any request or server-provided text: status code, error class,
    /// where in the stream it failed. What spans record as status description and
    /// `exception.message` while content capture is off. Backends provide it through
    /// [`ClassifyError::safe_description`](crate::generation::ClassifyError::safe_description);
    /// for other errors it is the class or type name.
    pub description: String,
    /// Unqualified Rust type name of the error, e.g. `"BackendError"`.
    pub type_name: String,
    /// Low-cardinality class for `error.type`: `"cancelled"`, `"panic"`, a backend-defined
    /// class such as `"rate_limit"`, or the type name.
    pub error_type: String,
}

impl ErrorInfo {
    /// Describes an error; its class is its type name.
    pub fn from_error<E: StdError + ?Sized>(error: &E) -> Self {
        let type_name = short_type_name(std::any::type_name::<E>()).to_owned();
        Self {
            message: error.to_string(),
            description: type_name.clone(),
            error_type: type_name.clone(),
            type_name,
        }
    }

    /// Describes an error from its parts; its content-free
    /// [`description`](Self::description) is its class (set another with
    /// [`with_description`](Self::with_description)).
    pub fn new(
        error_type: impl Into<String>,
        type_name: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let error_type = error_type.into();
        Self {
            message: message.into(),
            description: error_type.clone(),
            type_name: type_name.into(),
            error_type,
        }
    }

    /// Replaces the content-free description. It must not quote the request or the server's
    /// answer: spans record it while content capture is off.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// The generation's future was dropped before it finished.
    pub fn cancelled() -> Self {
        let message = "generation cancelled: its future was dropped before it finished";
        Self::new("cancelled", "Cancelled", message).with_description(message)
    }

    /// The generation's body panicked. The panic message may quote data, so the content-free
    /// description only says that it panicked.
    pub fn panic(message: impl Into<String>) -> Self {
        Self::new("panic", "Panic", message)
            .with_description("panicked; the panic message is left out as it may quote data")
    }
}

impl fmt::Display for ErrorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_type_name_strips_paths() {
        assert_eq!(short_type_name("a::b::Foo"), "Foo");
        assert_eq!(short_type_name("Foo"), "Foo");
        assert_eq!(short_type_name("alloc::vec::Vec<a::Bar>"), "Vec<a::Bar>");
    }

    #[test]
    fn object_shares_the_value() {
        let a = Object::new(5u32);
        let b = a.clone();
        assert!(a.ptr_eq(&b));
        assert_eq!(a.downcast_ref::<u32>(), Some(&5));
        assert_eq!(a.downcast_ref::<u64>(), None);
    }
}
