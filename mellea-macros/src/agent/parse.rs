//! Parsing of `#[agent(...)]` arguments.

use proc_macro2::{Span, TokenStream};
use syn::LitStr;

use crate::common::args::{Arg, parse_args, set_once, str_value, unknown_key};
use crate::common::errors::Errors;

/// The arguments of `#[agent(...)]`.
#[derive(Default)]
pub(crate) struct AgentArgs {
    pub(crate) name: Option<LitStr>,
    pub(crate) id: Option<LitStr>,
}

const AGENT_KEYS: [&str; 2] = ["name", "id"];

/// Parses `name = "...", id = "..."`, recording every mistake; `name` is required.
pub(crate) fn parse_agent_args(tokens: TokenStream, errors: &mut Errors) -> AgentArgs {
    let mut parsed = AgentArgs::default();
    let Some(args) = errors.record(parse_args(tokens)) else {
        return parsed;
    };
    let mut name_given = false;
    for arg in &args {
        match arg {
            Arg::Named { key, value } if key == "name" || key == "id" => {
                let is_name = key == "name";
                name_given |= is_name;
                let text = match str_value(value) {
                    Some(text) if !text.value().trim().is_empty() => Some(text.clone()),
                    Some(text) => {
                        errors.spanned(text, format!("`{key}` cannot be empty"));
                        None
                    }
                    None => {
                        errors.spanned(
                            value,
                            format!(
                                "`{key}` takes a string literal, e.g. `{key} = \"travel_planner\"`"
                            ),
                        );
                        None
                    }
                };
                let slot = if is_name {
                    &mut parsed.name
                } else {
                    &mut parsed.id
                };
                set_once(slot, key, text, errors);
            }
            Arg::Named { key, .. } => {
                // A misspelt `name` is one error, not also "missing".
                name_given |= unknown_key(key, "agent", &AGENT_KEYS, errors) == Some("name");
            }
            Arg::Positional(value) => errors.spanned(
                value,
                "`#[agent]` takes `name = \"...\"` and optionally `id = \"...\"`",
            ),
        }
    }
    if !name_given {
        errors.at(
            Span::call_site(),
            "`#[agent]` needs a name: `#[agent(name = \"...\")]` (recorded as `gen_ai.agent.name`)",
        );
    }
    parsed
}
