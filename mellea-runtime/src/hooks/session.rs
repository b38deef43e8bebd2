//! Session lifecycle hooks (reference §3.2).

use super::{ErrorInfo, ModelOptions, Object, patch, payload};

payload! {
    /// `session_pre_init`: a session is about to be created; fired before its backend is built.
    pub struct SessionPreInitPayload {
        /// Requested backend name (e.g. `"ollama"`).
        pub backend_name: String = String::new(),
        /// Requested model id. Writable.
        pub model_id: String = String::new(),
        /// Requested model options. Writable.
        pub model_options: Option<ModelOptions> = None,
        /// Name of the context type the session will use.
        pub context_type: String = "SimpleContext".to_owned(),
    }
}

patch! {
    /// Writable fields of `session_pre_init`.
    pub struct SessionPreInitPatch for SessionPreInitPayload {
        /// New model id.
        model_id: String, with with_model_id,
        /// New model options (`None` clears them).
        model_options: Option<ModelOptions>, with with_model_options,
    }
}

payload! {
    /// `session_post_init`: a session has been created and its plugins registered.
    pub struct SessionPostInitPayload {
        /// The new session's id.
        pub session_id: String = String::new(),
        /// The model id the session uses.
        pub model_id: String = String::new(),
        /// The session's initial context.
        pub context: Option<Object> = None,
    }
}

payload! {
    /// `session_reset`: a session's context is about to be replaced.
    pub struct SessionResetPayload {
        /// The context being discarded.
        pub previous_context: Option<Object> = None,
    }
}

payload! {
    /// `session_cleanup`: a session is ending, before its session-scoped plugins are removed.
    pub struct SessionCleanupPayload {
        /// The session's final context.
        pub context: Option<Object> = None,
        /// Number of context updates during the session.
        pub interaction_count: u64 = 0,
        /// The error the session ended with, if any.
        pub exception: Option<ErrorInfo> = None,
    }
}
