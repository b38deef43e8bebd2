//! Tools: tool calls in conversations, tool definitions on requests, and the invocations
//! `#[tool]` functions fire hooks for.
//!
//! A request offers tools as typed [`ToolDefinition`]s
//! ([`GenerationRequest::with_tools`](crate::generation::GenerationRequest::with_tools)); the
//! model answers with [`ToolCall`]s (streamed answers in pieces, put back together by
//! [`ToolCallAssembler`]); the program runs them and answers each with a
//! [`Message::tool_result`](crate::hooks::Message::tool_result).

mod call;
mod error;
pub(crate) mod invoke;

pub use call::{ToolCall, ToolCallAssembler, ToolCallChunk, ToolDefinition};
pub use error::ToolError;
