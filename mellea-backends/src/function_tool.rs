//! The `function` tool shape both wire formats use for a tool definition (OpenAI's chat
//! completions `tools`, which Ollama's `/api/chat` accepts as is).

use mellea_runtime::tools::ToolDefinition;
use serde_json::{Value, json};

/// `tool` as `{"type": "function", "function": {name, description, parameters}}`.
pub(crate) fn function_tool(tool: &ToolDefinition) -> Value {
    json!({
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    })
}
