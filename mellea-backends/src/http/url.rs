//! Base URLs: parsed and checked once, shown without credentials, joined with API paths.

use mellea_runtime::generation::ServerAddress;
use reqwest::Url;

use crate::error::ConfigError;

/// What a backend tells its users when something fails: hints that name its own settings.
#[derive(Debug)]
pub(crate) struct Api {
    /// Added to "cannot connect" errors.
    pub(crate) unreachable_hint: &'static str,
    /// Added to 401 / 403 errors.
    pub(crate) auth_hint: &'static str,
    /// The API the backend expects at its URL, for malformed-response errors.
    pub(crate) expected: &'static str,
}

/// A URL the backend calls, and how it is shown in messages (without credentials).
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub(crate) url: Url,
    pub(crate) shown: String,
}

impl Target {
    pub(crate) fn new(url: Url) -> Self {
        let mut shown = url.clone();
        // Userinfo in a base URL is a credential: never echo it.
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        Self {
            shown: shown.to_string(),
            url,
        }
    }
}

/// Parses a base URL: absolute, `http` or `https`, with a host; the trailing `/` trimmed so
/// paths join with one.
pub(crate) fn parse_base_url(
    raw: &str,
    variable: &'static str,
    example: &'static str,
) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::InvalidUrl {
        variable,
        url: without_userinfo(raw),
        reason,
        example,
    };
    let url = Url::parse(raw.trim()).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "the scheme is {:?}, not http or https",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host".into()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it has a query or fragment".into()));
    }
    Ok(url)
}

/// `raw` with the userinfo of its authority (`user:password@`) replaced by `***`, whether or
/// not it parses as a URL, so that no message or `Debug` output shows a credential.
pub(crate) fn without_userinfo(raw: &str) -> String {
    let authority_start = raw.find("://").map_or(0, |at| at + 3);
    let rest = &raw[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!(
            "{}***@{}",
            &raw[..authority_start],
            &raw[authority_start + at + 1..]
        ),
        None => raw.to_owned(),
    }
}

/// `base` joined with `path` (`base` may or may not end in `/`).
pub(crate) fn join(base: &Url, path: &str) -> Target {
    let mut url = base.clone();
    let joined = format!("{}/{path}", base.path().trim_end_matches('/'));
    url.set_path(&joined);
    Target::new(url)
}

/// The server a base URL names, as spans record it.
pub(crate) fn server_of(url: &Url) -> Option<ServerAddress<'_>> {
    Some(ServerAddress {
        host: url.host_str()?,
        port: url.port_or_known_default()?,
    })
}
