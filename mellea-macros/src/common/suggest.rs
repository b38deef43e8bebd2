//! "Did you mean" suggestions for misspelled names.

/// The candidate closest to `input`, if it is close enough to be a plausible typo.
///
/// Matching ignores case and treats `-` and CamelCase word breaks like `_`, so `GenerationPreCall`
/// and `generation-pre-call` both suggest `generation_pre_call`.
pub(crate) fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let wanted = normalize(input);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let distance = levenshtein(&wanted, &normalize(candidate));
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    let (distance, candidate) = best?;
    // One edit in four characters (at least two edits) still reads as a typo of the same word.
    let limit = (wanted.chars().count() / 4).max(2);
    (distance <= limit).then_some(candidate)
}

/// `snake_case` spelling of `name`, lower-cased.
fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.chars() {
        if c == '-' || c == ' ' {
            out.push('_');
            previous_lower = false;
        } else if c.is_uppercase() {
            if previous_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            previous_lower = false;
        } else {
            out.push(c);
            previous_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

/// Edit distance (insertions, deletions, substitutions) between two strings.
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 4] = [
        "generation_pre_call",
        "generation_post_call",
        "session_pre_init",
        "fire_and_forget",
    ];

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("abc", "abc"), 0);
        assert_eq!(levenshtein("abc", "abd"), 1);
        assert_eq!(levenshtein("abc", "ab"), 1);
        assert_eq!(levenshtein("ab", "abc"), 1);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }

    #[test]
    fn a_typo_suggests_the_nearest_name() {
        assert_eq!(
            did_you_mean("generation_pre_cal", NAMES),
            Some("generation_pre_call")
        );
        assert_eq!(
            did_you_mean("fire_and_foget", NAMES),
            Some("fire_and_forget")
        );
    }

    #[test]
    fn other_spellings_of_the_same_words_suggest_the_snake_case_name() {
        assert_eq!(
            did_you_mean("GenerationPreCall", NAMES),
            Some("generation_pre_call")
        );
        assert_eq!(
            did_you_mean("generation-post-call", NAMES),
            Some("generation_post_call")
        );
        assert_eq!(
            did_you_mean("FireAndForget", NAMES),
            Some("fire_and_forget")
        );
    }

    #[test]
    fn an_unrelated_name_suggests_nothing() {
        assert_eq!(did_you_mean("on_startup", NAMES), None);
        assert_eq!(did_you_mean("x", NAMES), None);
    }
}
