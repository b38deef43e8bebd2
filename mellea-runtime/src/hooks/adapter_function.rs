//! Adapter function hooks (reference §3.8).

use super::{ErrorInfo, payload};

/// Phase of an adapter function.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AdapterPhase {
    /// Inputs are prepared.
    #[default]
    Prepare,
    /// The adapter is activated.
    Activate,
    /// The adapted model generates.
    Generate,
    /// The output is parsed.
    Parse,
    /// The adapter is deactivated.
    Deactivate,
}

impl AdapterPhase {
    /// The phase's name, e.g. `"prepare"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Prepare => "prepare",
            Self::Activate => "activate",
            Self::Generate => "generate",
            Self::Parse => "parse",
            Self::Deactivate => "deactivate",
        }
    }
}

/// How an adapter function invocation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AdapterOutcome {
    /// It succeeded.
    Success,
    /// Its output did not match the schema.
    SchemaError,
    /// It failed otherwise.
    Error,
}

impl AdapterOutcome {
    /// The outcome's name, e.g. `"schema_error"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::SchemaError => "schema_error",
            Self::Error => "error",
        }
    }
}

payload! {
    /// `adapter_function_phase_complete`: a phase of an adapter function succeeded.
    pub struct AdapterFunctionPhaseCompletePayload {
        /// Adapter function name.
        pub name: String = String::new(),
        /// The phase that completed.
        pub phase: AdapterPhase = AdapterPhase::Prepare,
        /// Duration of the phase in milliseconds.
        pub duration_ms: f64 = 0.0,
    }
}

payload! {
    /// `adapter_function_invocation_complete`: an adapter function invocation ended.
    ///
    /// `outcome` has no meaningful default in the reference; here it defaults to `Error` so a
    /// forgotten outcome never reads as success.
    pub struct AdapterFunctionInvocationCompletePayload {
        /// Adapter function name.
        pub name: String = String::new(),
        /// Adapter revision.
        pub revision: Option<String> = None,
        /// How the adapter is bound.
        pub binding_type: String = "unknown".to_owned(),
        /// Kind of adapter.
        pub adapter_type: String = "unknown".to_owned(),
        /// How the invocation ended.
        pub outcome: AdapterOutcome = AdapterOutcome::Error,
        /// The error, if it failed.
        pub error: Option<ErrorInfo> = None,
    }
}
