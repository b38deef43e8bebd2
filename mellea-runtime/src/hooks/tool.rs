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
        /// The tool call (name, arguments, tool). Writable: replace it to change what runs.
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
        /// The tool call that ran.
        pub model_tool_call: Option<Object> = None,
        /// What the tool returned. Writable: replace it to change what the model sees.
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
