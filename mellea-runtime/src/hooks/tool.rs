//! Tool invocation hooks (reference §3.7).

use super::{ErrorInfo, Object, patch, payload};

/// Names of tools that steer the loop rather than act (`final_answer`).
pub const INTERNAL_TOOL_NAMES: &[&str] = &["final_answer"];

/// Whether a tool name is one of the library's control-flow tools.
///
/// ```
/// assert!(mellea_runtime::hooks::is_internal_tool("final_answer"));
/// assert!(!mellea_runtime::hooks::is_internal_tool("search"));
/// ```
pub fn is_internal_tool(name: &str) -> bool {
    INTERNAL_TOOL_NAMES.contains(&name)
}

payload! {
    /// `tool_pre_invoke`: a tool call requested by the model is about to run.
    pub struct ToolPreInvokePayload {
        /// Correlation id of this invocation.
        pub tool_invocation_id: String = String::new(),
        /// The tool's name (`gen_ai.tool.name`).
        pub tool_name: String = String::new(),
        /// What the tool does, as offered to the model (`gen_ai.tool.description`).
        pub tool_description: String = String::new(),
        /// The model's id of the call, when the tool runs for a model's tool call
        /// (`gen_ai.tool.call.id`).
        pub tool_call_id: Option<String> = None,
        /// The tool call: a [`ToolCall`](crate::tools::ToolCall) (name, id, JSON arguments) for
        /// `#[tool]` functions. Writable: replace it (with a `ToolCall` of other arguments) to
        /// run the tool with those arguments.
        pub model_tool_call: Option<Object> = None,
        /// Whether the tool is a control-flow tool.
        pub is_control_flow: bool = false,
    }
}

patch! {
    /// Writable fields of `tool_pre_invoke`.
    pub struct ToolPreInvokePatch for ToolPreInvokePayload {
        /// Replacement tool call.
        model_tool_call: Option<Object>, with with_model_tool_call,
    }
}

payload! {
    /// `tool_post_invoke`: a tool call finished.
    pub struct ToolPostInvokePayload {
        /// Correlation id of this invocation.
        pub tool_invocation_id: String = String::new(),
        /// The tool's name (`gen_ai.tool.name`).
        pub tool_name: String = String::new(),
        /// What the tool does, as offered to the model (`gen_ai.tool.description`).
        pub tool_description: String = String::new(),
        /// The model's id of the call, when the tool runs for a model's tool call
        /// (`gen_ai.tool.call.id`).
        pub tool_call_id: Option<String> = None,
        /// The tool call that ran.
        pub model_tool_call: Option<Object> = None,
        /// What the tool returned: its output as a `serde_json::Value` for `#[tool]` functions
        /// (`None` when it failed). Writable: replace it (with a `Value`) to change what the
        /// caller gets.
        pub tool_output: Option<Object> = None,
        /// The message built from the output.
        pub tool_message: Option<Object> = None,
        /// Wall time of the tool in milliseconds.
        pub execution_time_ms: u64 = 0,
        /// Whether the tool succeeded.
        pub success: bool = true,
        /// The tool's error, if it failed.
        pub error: Option<ErrorInfo> = None,
        /// Whether the tool is a control-flow tool.
        pub is_control_flow: bool = false,
    }
}

patch! {
    /// Writable fields of `tool_post_invoke`.
    pub struct ToolPostInvokePatch for ToolPostInvokePayload {
        /// Replacement output.
        tool_output: Option<Object>, with with_tool_output,
    }
}
