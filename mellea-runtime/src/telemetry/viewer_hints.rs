//! Opt-in extra attributes for trace viewers that do not read the GenAI conventions' content
//! attributes: `MELLEA_TRACES_VIEWER_HINTS=openinference`.
//!
//! Arize Phoenix (20.x) recognises agent, tool and chat spans from `gen_ai.operation.name`,
//! but fills its input and output columns only from OpenInference's `input.value` /
//! `output.value`. With the hint on, the `invoke_agent` and `execute_tool` spans also carry
//! `openinference.span.kind` and — only while content capture is on — `input.value` /
//! `output.value`. MLflow needs no hint: it reads the GenAI attributes.

use std::sync::Once;

use opentelemetry::KeyValue;

/// The variable that turns viewer hints on.
pub const TRACES_VIEWER_HINTS_ENV: &str = "MELLEA_TRACES_VIEWER_HINTS";

/// Which extra attributes spans carry for viewers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViewerHints {
    /// Only the GenAI semantic conventions (the default).
    #[default]
    None,
    /// Also OpenInference's `openinference.span.kind`, `input.value` and `output.value`.
    OpenInference,
}

impl ViewerHints {
    /// From [`TRACES_VIEWER_HINTS_ENV`]: `openinference`, or nothing. Another value is
    /// ignored with one warning.
    pub fn from_env() -> Self {
        Self::parse(std::env::var(TRACES_VIEWER_HINTS_ENV).ok().as_deref())
    }

    /// From the variable's value.
    pub fn parse(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            None | Some("") | Some("none") => ViewerHints::None,
            Some(value) if value.eq_ignore_ascii_case("openinference") => {
                ViewerHints::OpenInference
            }
            Some(other) => {
                static WARNED: Once = Once::new();
                WARNED.call_once(|| {
                    tracing::warn!(
                        "{TRACES_VIEWER_HINTS_ENV}={other:?} is not a known hint set; expected \
                         `openinference` or nothing. No hints are added"
                    );
                });
                ViewerHints::None
            }
        }
    }

    /// `openinference.span.kind` (`AGENT`, `TOOL`), when hints are on.
    pub(super) fn kind(self, kind: &'static str) -> Option<KeyValue> {
        (self == ViewerHints::OpenInference).then(|| KeyValue::new("openinference.span.kind", kind))
    }

    /// `input.value` or `output.value` (`key`) with its MIME type, when hints are on.
    pub(super) fn value(self, key: &'static str, value: String, json: bool) -> Vec<KeyValue> {
        if self != ViewerHints::OpenInference {
            return Vec::new();
        }
        let mime = if json {
            "application/json"
        } else {
            "text/plain"
        };
        let mime_key = if key == "input.value" {
            "input.mime_type"
        } else {
            "output.mime_type"
        };
        vec![KeyValue::new(key, value), KeyValue::new(mime_key, mime)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_openinference_turns_hints_on() {
        assert_eq!(ViewerHints::parse(None), ViewerHints::None);
        assert_eq!(
            ViewerHints::parse(Some(" OpenInference ")),
            ViewerHints::OpenInference
        );
        assert_eq!(ViewerHints::parse(Some("phoenix")), ViewerHints::None);
        assert!(ViewerHints::None.kind("AGENT").is_none());
        assert!(
            ViewerHints::None
                .value("input.value", "x".into(), false)
                .is_empty()
        );
    }
}
