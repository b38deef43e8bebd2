//! What a generation is asked: its messages, shared between the request and every hook that
//! reads them, and the prompt as hooks see it.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::Message;

/// The messages of a conversation, shared: cloning is a reference count, and changing a list
/// that is shared copies it first (copy-on-write), so the hooks of a generation can keep the
/// prompt its request was built with without copying it.
///
/// It reads and writes like a `Vec<Message>`:
///
/// ```
/// use mellea_runtime::hooks::{Message, Messages};
/// let mut messages = Messages::from([Message::user("Hello")]);
/// let kept = messages.clone(); // shares the list
/// messages.push(Message::assistant("Hi!")); // copies it first: `kept` is unchanged
/// assert_eq!((kept.len(), messages.len()), (1, 2));
/// assert_eq!(messages[1].content, "Hi!");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Messages(Arc<Vec<Message>>);

impl Messages {
    /// No messages.
    pub fn new() -> Self {
        Self::default()
    }

    /// The messages as a `Vec`, copied only if they are shared.
    pub fn into_vec(self) -> Vec<Message> {
        Arc::unwrap_or_clone(self.0)
    }

    /// Whether `self` and `other` share one list (no copy was made between them).
    pub fn shares(&self, other: &Messages) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Deref for Messages {
    type Target = Vec<Message>;

    fn deref(&self) -> &Vec<Message> {
        &self.0
    }
}

/// Copy-on-write: copies the list first if another clone still shares it.
impl DerefMut for Messages {
    fn deref_mut(&mut self) -> &mut Vec<Message> {
        Arc::make_mut(&mut self.0)
    }
}

impl fmt::Debug for Messages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl From<Vec<Message>> for Messages {
    fn from(messages: Vec<Message>) -> Self {
        Self(Arc::new(messages))
    }
}

impl<const N: usize> From<[Message; N]> for Messages {
    fn from(messages: [Message; N]) -> Self {
        Self::from(Vec::from(messages))
    }
}

impl FromIterator<Message> for Messages {
    fn from_iter<I: IntoIterator<Item = Message>>(messages: I) -> Self {
        Self::from(messages.into_iter().collect::<Vec<_>>())
    }
}

impl<'a> IntoIterator for &'a Messages {
    type Item = &'a Message;
    type IntoIter = std::slice::Iter<'a, Message>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// A prompt as hooks see it: shared (cloning is a reference count), rendered to JSON only
/// when someone asks.
///
/// ```
/// use mellea_runtime::hooks::{Message, Prompt};
/// let prompt = Prompt::from_messages([Message::system("Be brief."), Message::user("Hello")]);
/// assert_eq!(prompt.text(), "Be brief.\nHello");
/// assert_eq!(prompt.to_json()[1]["parts"][0]["content"], "Hello");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Prompt {
    /// Chat messages.
    Messages(Messages),
    /// Any other shape: a plain string, or messages already in JSON.
    Json(Arc<serde_json::Value>),
}

impl Prompt {
    /// A prompt of chat messages.
    pub fn from_messages(messages: impl IntoIterator<Item = Message>) -> Self {
        Prompt::Messages(messages.into_iter().collect())
    }

    /// The prompt in the GenAI semantic conventions' message shape
    /// (`[{"role": ..., "parts": [{"type": "text", "content": ...}]}]`), or the JSON as given.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Prompt::Messages(messages) => {
                serde_json::Value::Array(messages.iter().map(Message::to_semconv_json).collect())
            }
            Prompt::Json(value) => (**value).clone(),
        }
    }

    /// The text of every message, one per line. Reads both the message shape and plain
    /// strings of a JSON prompt.
    pub fn text(&self) -> String {
        fn collect(value: &serde_json::Value, out: &mut Vec<String>) {
            match value {
                serde_json::Value::String(text) => out.push(text.clone()),
                serde_json::Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
                serde_json::Value::Object(map) => {
                    if let Some(parts) = map.get("parts") {
                        collect(parts, out);
                    } else if let Some(content) = map.get("content") {
                        collect(content, out);
                    }
                }
                _ => {}
            }
        }
        match self {
            Prompt::Messages(messages) => messages
                .iter()
                .map(|m| m.content.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            Prompt::Json(value) => {
                let mut lines = Vec::new();
                collect(value, &mut lines);
                lines.join("\n")
            }
        }
    }
}

/// A bare string prompt: one user message.
impl From<&str> for Prompt {
    fn from(text: &str) -> Self {
        Prompt::from_messages([Message::user(text)])
    }
}

/// A bare string prompt: one user message.
impl From<String> for Prompt {
    fn from(text: String) -> Self {
        Prompt::from_messages([Message::user(text)])
    }
}

impl From<serde_json::Value> for Prompt {
    fn from(value: serde_json::Value) -> Self {
        Prompt::Json(Arc::new(value))
    }
}
