//! Sampling loop hooks (reference §3.6).

use super::{ErrorInfo, Object, patch, payload};

payload! {
    /// `sampling_loop_start`: a sampling loop begins.
    pub struct SamplingLoopStartPayload {
        /// Correlation id of this loop.
        pub sampling_id: String = String::new(),
        /// Name of the strategy.
        pub strategy_name: String = String::new(),
        /// The action being sampled.
        pub action: Option<Object> = None,
        /// The context.
        pub context: Option<Object> = None,
        /// Requirements each sample is validated against.
        pub requirements: Vec<Object> = Vec::new(),
        /// Maximum number of iterations. Writable; must stay at least 1.
        pub loop_budget: u64 = 0,
    }
}

patch! {
    /// Writable fields of `sampling_loop_start`.
    pub struct SamplingLoopStartPatch for SamplingLoopStartPayload {
        /// New iteration budget.
        loop_budget: u64, with with_loop_budget,
    }
}

payload! {
    /// `sampling_iteration`: one sample was generated and validated.
    pub struct SamplingIterationPayload {
        /// Correlation id of the loop.
        pub sampling_id: String = String::new(),
        /// Name of the strategy.
        pub strategy_name: String = String::new(),
        /// 1-based iteration number, unique across concurrent sub-loops.
        pub iteration: u64 = 0,
        /// The action of this iteration.
        pub action: Option<Object> = None,
        /// The sample.
        pub result: Option<Object> = None,
        /// `(requirement, result)` pairs.
        pub validation_results: Vec<(Object, Object)> = Vec::new(),
        /// Whether every requirement passed.
        pub all_validations_passed: bool = false,
        /// Number of passing requirements.
        pub valid_count: u64 = 0,
        /// Number of requirements.
        pub total_count: u64 = 0,
    }
}

payload! {
    /// `sampling_repair`: a failed sample is being repaired for the next iteration.
    pub struct SamplingRepairPayload {
        /// Correlation id of the loop.
        pub sampling_id: String = String::new(),
        /// Kind of repair (`"unknown"` when the strategy does not say).
        pub repair_type: String = String::new(),
        /// The action that failed.
        pub failed_action: Option<Object> = None,
        /// The failed sample.
        pub failed_result: Option<Object> = None,
        /// `(requirement, result)` pairs that failed.
        pub failed_validations: Vec<(Object, Object)> = Vec::new(),
        /// The repaired action.
        pub repair_action: Option<Object> = None,
        /// The repaired context.
        pub repair_context: Option<Object> = None,
        /// Iteration being repaired.
        pub repair_iteration: u64 = 0,
    }
}

payload! {
    /// `sampling_loop_end`: a sampling loop ended (success, exhausted budget or error).
    pub struct SamplingLoopEndPayload {
        /// Correlation id of the loop.
        pub sampling_id: String = String::new(),
        /// Name of the strategy.
        pub strategy_name: String = String::new(),
        /// Whether a sample met every requirement.
        pub success: bool = false,
        /// Iterations run.
        pub iterations_used: u64 = 0,
        /// The chosen sample.
        pub final_result: Option<Object> = None,
        /// The action of the chosen sample.
        pub final_action: Option<Object> = None,
        /// The context of the chosen sample.
        pub final_context: Option<Object> = None,
        /// Why the loop failed, e.g. `"Budget exhausted after 3 iterations"`.
        pub failure_reason: Option<String> = None,
        /// The error the loop ended with, if any.
        pub exception: Option<ErrorInfo> = None,
        /// Every sample.
        pub all_results: Vec<Object> = Vec::new(),
        /// Validation pairs of every sample.
        pub all_validations: Vec<Vec<(Object, Object)>> = Vec::new(),
    }
}
