//! Streaming hooks (reference §3.9).

use super::{ErrorInfo, Object, payload};

payload! {
    /// `streaming_start`: a chunked stream is about to start.
    pub struct StreamingStartPayload {
        /// Correlation id of this stream.
        pub streaming_id: String = String::new(),
        /// Whether chunks are validated against requirements.
        pub has_requirements: bool = false,
        /// Number of requirements.
        pub requirement_count: u64 = 0,
        /// Name of the chunking strategy (`"none"` when there is none).
        pub chunking_strategy: String = String::new(),
    }
}

payload! {
    /// `streaming_event`: the stream emitted an event.
    pub struct StreamingEventPayload {
        /// Correlation id of this stream.
        pub streaming_id: String = String::new(),
        /// The event.
        pub event: Option<Object> = None,
        /// Requirements active for the event, in result order.
        pub requirements: Vec<Object> = Vec::new(),
    }
}

payload! {
    /// `streaming_end`: the stream ended; fired exactly once per stream.
    pub struct StreamingEndPayload {
        /// Correlation id of this stream.
        pub streaming_id: String = String::new(),
        /// Whether the stream completed without failure.
        pub success: bool = true,
        /// Why it failed, if it did.
        pub failure_reason: Option<String> = None,
        /// The error it ended with, if any.
        pub exception: Option<ErrorInfo> = None,
        /// Model that generated the stream.
        pub model: Option<String> = None,
        /// Provider of that model.
        pub provider: Option<String> = None,
        /// Length of the full text in characters.
        pub full_text_length: u64 = 0,
    }
}
