//! Removing credentials from URLs before they reach a log line, a warning or a `Debug` string.

use std::borrow::Cow;

/// `text` with the `user:password@` part of every URL in it removed.
///
/// Every `scheme://` occurrence is looked at, so a whole error message can be passed, not only
/// a bare URL: the authority ends at the first `/`, `?`, `#` or whitespace, and everything in
/// it up to its last `@` is dropped.
///
/// ```
/// use mellea_runtime::telemetry::redact_userinfo;
/// assert_eq!(
///     redact_userinfo("http://alice:s3cret@collector:4318/v1/traces"),
///     "http://collector:4318/v1/traces"
/// );
/// assert_eq!(
///     redact_userinfo("cannot reach https://tok@h/x and https://h2"),
///     "cannot reach https://h/x and https://h2"
/// );
/// ```
pub fn redact_userinfo(text: &str) -> Cow<'_, str> {
    if !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(userinfo_end) => out.push_str(&authority[userinfo_end + 1..]),
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::redact_userinfo;

    #[test]
    fn userinfo_is_removed_and_everything_else_kept() {
        for (given, expected) in [
            ("http://u:p@h:1/v1/traces", "http://h:1/v1/traces"),
            ("http://u@h", "http://h"),
            ("http://h:1/a@b", "http://h:1/a@b"),
            ("https://u:p%40x@h?q=1", "https://h?q=1"),
            ("no url, just a@b", "no url, just a@b"),
            (
                "grpc: http://a:b@h:4317 refused",
                "grpc: http://h:4317 refused",
            ),
            ("", ""),
        ] {
            assert_eq!(redact_userinfo(given), expected, "{given}");
        }
    }
}
