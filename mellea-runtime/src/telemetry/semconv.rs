//! Attribute keys and values of the spans this crate emits: one place for every name.
//!
//! The `gen_ai.*`, `error.type`, `server.*` and `exception.*` names mirror the OpenTelemetry
//! semantic conventions at version [`SEMCONV_VERSION`] (GenAI conventions, status
//! *Development*). They are kept here rather than taken from
//! `opentelemetry-semantic-conventions`, whose `gen_ai` constants are all `#[deprecated]`
//! since they moved to a separate repository. The `mellea.*` names are this library's own and
//! follow the Python original (at its HEAD).

/// The semantic-conventions release the `gen_ai.*` names mirror.
pub const SEMCONV_VERSION: &str = "1.41.1";

/// `gen_ai.operation.name`: `"chat"` or `"text_completion"`; always set.
pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
/// `gen_ai.provider.name`: the provider (`watsonx` is recorded as `ibm.watsonx.ai`).
pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
/// `gen_ai.request.model`: the model the backend was asked for.
pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
/// `gen_ai.request.stream`: `true` on streamed chat generations; absent otherwise.
pub const GEN_AI_REQUEST_STREAM: &str = "gen_ai.request.stream";
/// `gen_ai.request.temperature`, from the `temperature` model option.
pub const GEN_AI_REQUEST_TEMPERATURE: &str = "gen_ai.request.temperature";
/// `gen_ai.request.max_tokens`, from the `max_tokens` model option.
pub const GEN_AI_REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
/// `gen_ai.request.top_p`, from the `top_p` model option.
pub const GEN_AI_REQUEST_TOP_P: &str = "gen_ai.request.top_p";
/// `gen_ai.request.seed`, from the `seed` model option.
pub const GEN_AI_REQUEST_SEED: &str = "gen_ai.request.seed";
/// `gen_ai.request.stop_sequences` (string array), from the `stop` model option.
pub const GEN_AI_REQUEST_STOP_SEQUENCES: &str = "gen_ai.request.stop_sequences";
/// `gen_ai.output.type`: [`OUTPUT_TYPE_JSON`] when a structured format is requested.
pub const GEN_AI_OUTPUT_TYPE: &str = "gen_ai.output.type";
/// `gen_ai.conversation.id`: the session the generation ran in.
pub const GEN_AI_CONVERSATION_ID: &str = "gen_ai.conversation.id";
/// `gen_ai.usage.input_tokens`.
pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
/// `gen_ai.usage.output_tokens`.
pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
/// `gen_ai.usage.cache_read.input_tokens`.
pub const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
/// `gen_ai.usage.cache_creation.input_tokens`.
pub const GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: &str =
    "gen_ai.usage.cache_creation.input_tokens";
/// `gen_ai.usage.reasoning.output_tokens`.
pub const GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
/// `gen_ai.response.model`: the model that answered, as the provider names it.
pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
/// `gen_ai.response.id`: the provider's response id.
pub const GEN_AI_RESPONSE_ID: &str = "gen_ai.response.id";
/// `gen_ai.response.finish_reasons` (string array).
pub const GEN_AI_RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
/// `gen_ai.response.time_to_first_chunk`, in seconds (streamed generations).
pub const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
/// `gen_ai.input.messages` (JSON string); only with content capture on.
pub const GEN_AI_INPUT_MESSAGES: &str = "gen_ai.input.messages";
/// `gen_ai.output.messages` (JSON string); only with content capture on.
pub const GEN_AI_OUTPUT_MESSAGES: &str = "gen_ai.output.messages";

/// `error.type`: low-cardinality class of a failure (`"cancelled"`, `"panic"`, a backend's
/// own class, or the error's type name).
pub const ERROR_TYPE: &str = "error.type";
/// `server.address`: host of the inference server.
pub const SERVER_ADDRESS: &str = "server.address";
/// `server.port`: port of the inference server.
pub const SERVER_PORT: &str = "server.port";

/// Name of the span event recording a failure.
pub const EXCEPTION_EVENT: &str = "exception";
/// `exception.type` on the [`EXCEPTION_EVENT`]: the error's type name.
pub const EXCEPTION_TYPE: &str = "exception.type";
/// `exception.message` on the [`EXCEPTION_EVENT`]: the error's message.
pub const EXCEPTION_MESSAGE: &str = "exception.message";

/// [`GEN_AI_OPERATION_NAME`] of a chat generation.
pub const OPERATION_CHAT: &str = "chat";
/// [`GEN_AI_OPERATION_NAME`] of a batch (raw) generation.
pub const OPERATION_TEXT_COMPLETION: &str = "text_completion";
/// [`GEN_AI_OUTPUT_TYPE`] of a generation that asks for a structured format.
pub const OUTPUT_TYPE_JSON: &str = "json";
/// [`GEN_AI_PROVIDER_NAME`] of IBM watsonx.ai (backends declare it as `watsonx`).
pub const PROVIDER_IBM_WATSONX_AI: &str = "ibm.watsonx.ai";

/// `mellea.usage.total_tokens`: total tokens as the provider reports them (not a semconv
/// attribute).
pub const MELLEA_USAGE_TOTAL_TOKENS: &str = "mellea.usage.total_tokens";
/// `mellea.request.format_type`: name of the requested structured format.
pub const MELLEA_REQUEST_FORMAT_TYPE: &str = "mellea.request.format_type";
/// `mellea.action.tool_calls`: whether tool calls are enabled; always set.
pub const MELLEA_ACTION_TOOL_CALLS: &str = "mellea.action.tool_calls";
/// `mellea.component.type`: type name of the action generated for (chat).
pub const MELLEA_COMPONENT_TYPE: &str = "mellea.component.type";
/// `mellea.request.num_actions`: number of actions of a batch.
pub const MELLEA_REQUEST_NUM_ACTIONS: &str = "mellea.request.num_actions";
/// `mellea.request.context_size`: number of entries of the conversation context (chat).
pub const MELLEA_REQUEST_CONTEXT_SIZE: &str = "mellea.request.context_size";
/// `mellea.session.id`: the session of a `session` application span.
pub const MELLEA_SESSION_ID: &str = "mellea.session.id";

/// Name of the span event recording one processed stream chunk.
pub const CHUNK_PROCESSED_EVENT: &str = "chunk_processed";
/// `mellea.generation.chunk_index` on [`CHUNK_PROCESSED_EVENT`].
pub const MELLEA_GENERATION_CHUNK_INDEX: &str = "mellea.generation.chunk_index";
/// `mellea.generation.chunk_text_length` on [`CHUNK_PROCESSED_EVENT`].
pub const MELLEA_GENERATION_CHUNK_TEXT_LENGTH: &str = "mellea.generation.chunk_text_length";
/// `mellea.generation.time_since_last_chunk_ms` on [`CHUNK_PROCESSED_EVENT`]; absent for the
/// first chunk.
pub const MELLEA_GENERATION_TIME_SINCE_LAST_CHUNK_MS: &str =
    "mellea.generation.time_since_last_chunk_ms";

/// `mellea.http.attempts`: how many HTTP requests one generation's call took (1 without
/// retries), set by the HTTP backends on their generation's span.
pub const MELLEA_HTTP_ATTEMPTS: &str = "mellea.http.attempts";
/// Name of the span event the HTTP backends record for each failed attempt they retry.
pub const HTTP_RETRY_EVENT: &str = "mellea.http.retry";
/// `mellea.http.attempt` on [`HTTP_RETRY_EVENT`]: the number of the failed attempt (from 1).
pub const MELLEA_HTTP_ATTEMPT: &str = "mellea.http.attempt";
/// `http.response.status_code` on [`HTTP_RETRY_EVENT`]: the failed attempt's status, when it
/// got a response.
pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
/// `mellea.http.retry.wait` on [`HTTP_RETRY_EVENT`]: seconds waited before the next attempt.
pub const MELLEA_HTTP_RETRY_WAIT: &str = "mellea.http.retry.wait";

/// Instrumentation scope of backend (generation) spans.
pub const BACKEND_TRACER: &str = "mellea.backend";
/// Instrumentation scope of application spans.
pub const APPLICATION_TRACER: &str = "mellea.application";

/// `gen_ai.operation.name` of a tool call's span.
pub const OPERATION_EXECUTE_TOOL: &str = "execute_tool";
/// `gen_ai.operation.name` of an agent invocation's span.
pub const OPERATION_INVOKE_AGENT: &str = "invoke_agent";
/// `gen_ai.tool.name`.
pub const GEN_AI_TOOL_NAME: &str = "gen_ai.tool.name";
/// `gen_ai.tool.call.id`: the model's id of the call.
pub const GEN_AI_TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
/// `gen_ai.tool.type`: [`TOOL_TYPE_FUNCTION`] for `#[tool]` functions.
pub const GEN_AI_TOOL_TYPE: &str = "gen_ai.tool.type";
/// The `gen_ai.tool.type` of a tool that is a function of the application.
pub const TOOL_TYPE_FUNCTION: &str = "function";
/// `gen_ai.tool.description`.
pub const GEN_AI_TOOL_DESCRIPTION: &str = "gen_ai.tool.description";
/// `gen_ai.tool.call.arguments` (JSON text; content capture only).
pub const GEN_AI_TOOL_CALL_ARGUMENTS: &str = "gen_ai.tool.call.arguments";
/// `gen_ai.tool.call.result` (JSON text; content capture only).
pub const GEN_AI_TOOL_CALL_RESULT: &str = "gen_ai.tool.call.result";
/// `gen_ai.agent.name`.
pub const GEN_AI_AGENT_NAME: &str = "gen_ai.agent.name";
/// `gen_ai.agent.id`.
pub const GEN_AI_AGENT_ID: &str = "gen_ai.agent.id";
/// `gen_ai.agent.description`.
pub const GEN_AI_AGENT_DESCRIPTION: &str = "gen_ai.agent.description";
