//! Agents: one `#[agent]` invocation is one component execution (`component_pre_execute` →
//! `component_post_success` / `component_post_error`, exactly once) and one conversation.
//!
//! The conversation id is the invocation's session: the caller's, when it runs the agent
//! inside [`in_session`](crate::session::in_session), else a fresh UUID. Every generation and
//! tool call inside the invocation therefore carries it (`gen_ai.conversation.id` on their
//! spans), and session-scoped plugins of that conversation see them.

pub(crate) mod invoke;
