//! Component lifecycle hooks (reference §3.3).

use super::{ErrorInfo, Format, ModelOptions, Object, patch, payload};

payload! {
    /// `component_pre_execute`: an action is about to be executed.
    pub struct ComponentPreExecutePayload {
        /// Correlation id of this execution.
        pub action_id: String = String::new(),
        /// The agent's name, when the component is a `#[agent]` invocation
        /// (`gen_ai.agent.name`). Its conversation id is the payload's session.
        pub agent_name: Option<String> = None,
        /// The agent's id, when one was given (`gen_ai.agent.id`).
        pub agent_id: Option<String> = None,
        /// What the agent does, its doc comment (`gen_ai.agent.description`).
        pub agent_description: Option<String> = None,
        /// Type name of the action (e.g. `"Instruction"`).
        pub component_type: String = String::new(),
        /// The action.
        pub action: Option<Object> = None,
        /// The context as the generation will see it.
        pub context_view: Option<Vec<Object>> = None,
        /// Requirements the output must meet. Writable.
        pub requirements: Vec<Object> = Vec::new(),
        /// Model options of the call. Writable.
        pub model_options: ModelOptions = ModelOptions::new(),
        /// Requested output format. Writable.
        pub format: Option<Format> = None,
        /// Sampling strategy. Writable.
        pub strategy: Option<Object> = None,
        /// Whether tool calls are enabled. Writable.
        pub tool_calls_enabled: bool = false,
    }
}

patch! {
    /// Writable fields of `component_pre_execute`.
    pub struct ComponentPreExecutePatch for ComponentPreExecutePayload {
        /// New requirements.
        requirements: Vec<Object>, with with_requirements,
        /// New model options.
        model_options: ModelOptions, with with_model_options,
        /// New format (`None` clears it).
        format: Option<Format>, with with_format,
        /// New strategy (`None` clears it).
        strategy: Option<Object>, with with_strategy,
        /// Enables or disables tool calls.
        tool_calls_enabled: bool, with with_tool_calls_enabled,
    }
}

payload! {
    /// `component_post_success`: an action finished successfully.
    pub struct ComponentPostSuccessPayload {
        /// Correlation id of this execution.
        pub action_id: String = String::new(),
        /// The agent's name, when the component is a `#[agent]` invocation
        /// (`gen_ai.agent.name`). Its conversation id is the payload's session.
        pub agent_name: Option<String> = None,
        /// The agent's id, when one was given (`gen_ai.agent.id`).
        pub agent_id: Option<String> = None,
        /// What the agent does, its doc comment (`gen_ai.agent.description`).
        pub agent_description: Option<String> = None,
        /// Type name of the action.
        pub component_type: String = String::new(),
        /// The action.
        pub action: Option<Object> = None,
        /// The action's result.
        pub result: Option<Object> = None,
        /// Context before the action.
        pub context_before: Option<Object> = None,
        /// Context after the action.
        pub context_after: Option<Object> = None,
        /// The generation log.
        pub generate_log: Option<Object> = None,
        /// Results of the sampling loop, if one ran.
        pub sampling_results: Option<Vec<Object>> = None,
        /// Whether sampling succeeded, if one ran.
        pub sampling_success: Option<bool> = None,
        /// Wall time of the action in milliseconds.
        pub latency_ms: u64 = 0,
    }
}

payload! {
    /// `component_post_error`: an action failed.
    pub struct ComponentPostErrorPayload {
        /// Correlation id of this execution.
        pub action_id: String = String::new(),
        /// The agent's name, when the component is a `#[agent]` invocation
        /// (`gen_ai.agent.name`). Its conversation id is the payload's session.
        pub agent_name: Option<String> = None,
        /// The agent's id, when one was given (`gen_ai.agent.id`).
        pub agent_id: Option<String> = None,
        /// What the agent does, its doc comment (`gen_ai.agent.description`).
        pub agent_description: Option<String> = None,
        /// Type name of the action.
        pub component_type: String = String::new(),
        /// The action.
        pub action: Option<Object> = None,
        /// The error.
        pub error: Option<ErrorInfo> = None,
        /// Class of the error.
        pub error_type: String = String::new(),
        /// Formatted backtrace, if captured.
        pub stack_trace: String = String::new(),
        /// The context at the time of the error.
        pub context: Option<Object> = None,
        /// Model options of the failed call.
        pub model_options: ModelOptions = ModelOptions::new(),
    }
}
