//! What can go wrong when a model's tool call is run.

use crate::hooks::Message;

use super::ToolCall;

/// Why a model's tool call could not produce a result.
///
/// Each is worth sending back to the model as the call's result
/// ([`to_message`](Self::to_message)), so that it can correct the call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The arguments do not fit the tool's parameters (not JSON, a missing or mistyped field).
    #[error(
        "the model called tool `{tool}` with arguments that do not fit its parameters ({source}); \
         send this error back as the call's result so that the model can correct the call"
    )]
    InvalidArguments {
        /// The tool.
        tool: String,
        /// What did not fit.
        #[source]
        source: serde_json::Error,
    },
    /// The call names another tool.
    #[error(
        "the model called tool `{called}`, which is not `{tool}`: dispatch calls by their name"
    )]
    WrongTool {
        /// The tool that was asked to run the call.
        tool: String,
        /// The tool the call names.
        called: String,
    },
    /// The tool ran and returned an error.
    #[error("tool `{tool}` failed: {message}")]
    Failed {
        /// The tool.
        tool: String,
        /// The tool's error, as it displays.
        message: String,
    },
    /// The tool's output could not be written as JSON.
    #[error(
        "the output of tool `{tool}` cannot be written as JSON ({source}); make its `Serialize` \
         implementation infallible (e.g. maps with string keys)"
    )]
    Output {
        /// The tool.
        tool: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

impl ToolError {
    /// The error as the result of `call`: a `tool` message answering the call's id, for the
    /// model to read.
    pub fn to_message(&self, call: &ToolCall) -> Message {
        Message::tool_result(call.id.clone().unwrap_or_default(), self.to_string())
    }
}
