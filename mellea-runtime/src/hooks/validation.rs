//! Validation hooks (reference §3.5).

use super::{ErrorInfo, ModelOptions, Object, patch, payload};

payload! {
    /// `validation_pre_check`: requirements are about to be validated.
    pub struct ValidationPreCheckPayload {
        /// Correlation id of this validation.
        pub validation_id: String = String::new(),
        /// Requirements to check. Writable (may be emptied).
        pub requirements: Vec<Object> = Vec::new(),
        /// The output being validated.
        pub target: Option<Object> = None,
        /// The context.
        pub context: Option<Object> = None,
        /// Model options for LLM-judged requirements. Writable.
        pub model_options: ModelOptions = ModelOptions::new(),
    }
}

patch! {
    /// Writable fields of `validation_pre_check`.
    pub struct ValidationPreCheckPatch for ValidationPreCheckPayload {
        /// New requirements.
        requirements: Vec<Object>, with with_requirements,
        /// New model options.
        model_options: ModelOptions, with with_model_options,
    }
}

payload! {
    /// `validation_post_check`: requirements were validated.
    pub struct ValidationPostCheckPayload {
        /// Correlation id of this validation.
        pub validation_id: String = String::new(),
        /// Requirements that were checked.
        pub requirements: Vec<Object> = Vec::new(),
        /// One result per requirement. Writable.
        pub results: Vec<Object> = Vec::new(),
        /// Whether every requirement passed. Writable.
        pub all_validations_passed: bool = false,
        /// Number of passing requirements.
        pub passed_count: u64 = 0,
        /// Number of failing requirements.
        pub failed_count: u64 = 0,
        /// The error validation ended with, if any.
        pub exception: Option<ErrorInfo> = None,
    }
}

patch! {
    /// Writable fields of `validation_post_check`.
    pub struct ValidationPostCheckPatch for ValidationPostCheckPayload {
        /// New results.
        results: Vec<Object>, with with_results,
        /// New overall verdict.
        all_validations_passed: bool, with with_all_validations_passed,
    }
}
