//! Arguments whose value is one of a few bare identifiers: `mode = audit`,
//! `on_error = disable`. One reader for all of them, so each gets the same help for a string
//! (`mode = "audit"`), a path (`mode = PluginMode::Audit`) or a near miss (`mode = adit`).

use syn::Expr;

use super::args::{ident_value, str_value};
use super::errors::Errors;
use super::suggest::did_you_mean;

/// A set of identifier values for one argument key.
pub(crate) struct Keywords<T: 'static> {
    /// How a value is written, with `{}` for its spelling: `on_error = {}`, or
    /// `#[generation_hook({})]` for a positional value.
    pub(crate) form: &'static str,
    /// What the value is called in messages, e.g. `failure policy`.
    pub(crate) what: &'static str,
    /// Every value with its spelling.
    pub(crate) values: &'static [(&'static str, T)],
    /// Said after the list when an unknown value has no near miss: what the values mean.
    pub(crate) meaning: Option<&'static str>,
}

impl<T: Copy> Keywords<T> {
    /// "`a`, `b`, `c`".
    pub(crate) fn spellings(&self) -> String {
        self.values
            .iter()
            .map(|(name, _)| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The spelling of `value`.
    pub(crate) fn name_of(&self, value: T) -> &'static str
    where
        T: PartialEq,
    {
        self.values
            .iter()
            .find(|(_, v)| *v == value)
            .map_or("", |(name, _)| name)
    }

    fn find(&self, written: &str) -> Option<T> {
        self.values
            .iter()
            .find(|(name, _)| *name == written)
            .map(|(_, value)| *value)
    }

    fn nearest(&self, written: &str) -> Option<&'static str> {
        did_you_mean(written, self.values.iter().map(|(name, _)| *name))
    }

    /// Reads `value`, recording a mistake at it.
    pub(crate) fn parse(&self, value: &Expr, errors: &mut Errors) -> Option<T> {
        let what = self.what;
        let form = |name: &str| self.form.replace("{}", name);
        let written = match (ident_value(value), str_value(value)) {
            (Some(ident), _) => ident.to_string(),
            (None, Some(text)) => {
                let hint = match self.find(&text.value()) {
                    Some(_) => format!("write `{}`", form(&text.value())),
                    None => format!("one of {}", self.spellings()),
                };
                errors.spanned(
                    value,
                    format!("the {what} is an identifier, not a string: {hint}"),
                );
                return None;
            }
            (None, None) => {
                // A path such as `PluginMode::Audit`: point at the spelling this key takes.
                let last = match super::args::ungrouped(value) {
                    Expr::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
                    _ => None,
                };
                let message = match last.as_deref().and_then(|last| self.nearest(last)) {
                    Some(name) => {
                        format!("write the {what} as a bare identifier: `{}`", form(name))
                    }
                    None => format!("unknown {what}: expected one of {}", self.spellings()),
                };
                errors.spanned(value, message);
                return None;
            }
        };
        if let Some(found) = self.find(&written) {
            return Some(found);
        }
        let message = match (self.nearest(&written), self.meaning) {
            (Some(name), _) => format!(
                "unknown {what} `{written}`: did you mean `{name}`? (expected one of {})",
                self.spellings()
            ),
            (None, Some(meaning)) => format!(
                "unknown {what} `{written}`: expected one of {} ({meaning})",
                self.spellings()
            ),
            (None, None) => format!(
                "unknown {what} `{written}`: expected one of {}",
                self.spellings()
            ),
        };
        errors.spanned(value, message);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::TokenStream;
    use quote::quote;

    const COLOURS: Keywords<u8> = Keywords {
        form: "colour = {}",
        what: "colour",
        values: &[("red", 1), ("green", 2), ("light_blue", 3)],
        meaning: None,
    };

    fn parse(value: TokenStream) -> (Option<u8>, Vec<String>) {
        let mut errors = Errors::new();
        let value: Expr = syn::parse2(value).unwrap();
        (COLOURS.parse(&value, &mut errors), errors.messages())
    }

    #[test]
    fn each_spelling_parses_to_its_value() {
        assert_eq!(parse(quote!(green)), (Some(2), vec![]));
        assert_eq!(COLOURS.name_of(3), "light_blue");
    }

    #[test]
    fn a_near_miss_is_suggested_with_the_list() {
        assert_eq!(
            parse(quote!(gren)).1,
            [
                "unknown colour `gren`: did you mean `green`? (expected one of `red`, `green`, `light_blue`)"
            ]
        );
        assert_eq!(
            parse(quote!(purple)).1,
            ["unknown colour `purple`: expected one of `red`, `green`, `light_blue`"]
        );
    }

    #[test]
    fn strings_and_paths_are_told_the_bare_spelling() {
        assert_eq!(
            parse(quote!("red")).1,
            ["the colour is an identifier, not a string: write `colour = red`"]
        );
        assert_eq!(
            parse(quote!(Colour::LightBlue)).1,
            ["write the colour as a bare identifier: `colour = light_blue`"]
        );
        assert_eq!(
            parse(quote!(1 + 1)).1,
            ["unknown colour: expected one of `red`, `green`, `light_blue`"]
        );
    }
}
