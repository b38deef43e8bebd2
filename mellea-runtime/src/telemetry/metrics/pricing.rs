//! User-supplied per-model prices for `mellea.llm.cost.usd`. There is no built-in price list:
//! prices change too often to ship.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

/// What one token of a model costs, in US dollars.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ModelPrice {
    /// Price of one input (prompt) token.
    pub input: f64,
    /// Price of one output (completion) token.
    pub output: f64,
}

/// Prices per model, keyed by the request model (`gen_ai.request.model`).
///
/// The file named by `MELLEA_PRICING_FILE` is a JSON object of model → prices per token:
///
/// ```
/// use mellea_runtime::telemetry::metrics::Pricing;
/// let pricing = Pricing::from_json(r#"{"gpt-4o-mini": {"input": 0.00000015, "output": 0.0000006}}"#).unwrap();
/// let cost = pricing.cost("gpt-4o-mini", 1000, 100).unwrap();
/// assert!((cost - 0.00021).abs() < 1e-12);
/// assert_eq!(pricing.cost("unpriced-model", 1000, 100), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pricing {
    models: HashMap<String, ModelPrice>,
}

/// Why a pricing file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PricingError {
    /// The file could not be read.
    #[error(
        "cannot read the pricing file {path}: {source}; check MELLEA_PRICING_FILE (no cost is \
         recorded meanwhile)"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a JSON object of model → `{"input": price, "output": price}`.
    #[error(
        "the pricing file{at} is not usable: {reason}; it must be a JSON object of model → \
         {{\"input\": USD per token, \"output\": USD per token}} (no cost is recorded meanwhile)",
        at = .path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default()
    )]
    Malformed {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// What is wrong, without the file's content.
        reason: String,
    },
}

impl Pricing {
    /// No prices.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the price of `model`.
    #[must_use]
    pub fn with_model(mut self, model: impl Into<String>, price: ModelPrice) -> Self {
        self.models.insert(model.into(), price);
        self
    }

    /// Reads a pricing file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, PricingError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PricingError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text).map_err(|error| match error {
            PricingError::Malformed { reason, .. } => PricingError::Malformed {
                path: Some(path.to_owned()),
                reason,
            },
            other => other,
        })
    }

    /// Parses prices from JSON text.
    pub fn from_json(text: &str) -> Result<Self, PricingError> {
        let malformed = |reason: String| PricingError::Malformed { path: None, reason };
        let value: Json = serde_json::from_str(text).map_err(|e| {
            malformed(format!(
                "invalid JSON at line {} column {}",
                e.line(),
                e.column()
            ))
        })?;
        let Json::Object(entries) = value else {
            return Err(malformed("the top level is not an object".to_owned()));
        };
        let mut models = HashMap::with_capacity(entries.len());
        for (model, prices) in entries {
            let price = |key: &str| {
                let value = prices.get(key).and_then(Json::as_f64);
                match value {
                    Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
                    _ => Err(malformed(format!(
                        "model `{model}` has no non-negative number `{key}`"
                    ))),
                }
            };
            let price = ModelPrice {
                input: price("input")?,
                output: price("output")?,
            };
            models.insert(model, price);
        }
        Ok(Self { models })
    }

    /// The price of `model`, if known.
    pub fn price(&self, model: &str) -> Option<ModelPrice> {
        self.models.get(model).copied()
    }

    /// What `input` and `output` tokens of `model` cost, if its price is known.
    pub fn cost(&self, model: &str, input: u64, output: u64) -> Option<f64> {
        let price = self.price(model)?;
        Some(input as f64 * price.input + output as f64 * price.output)
    }

    /// Whether no model has a price.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }
}
