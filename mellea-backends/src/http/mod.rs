//! HTTP plumbing both backends share: URLs, the client, trace-context injection, deadlines,
//! size caps, retries, mapping of failures to [`BackendError`], and the streamed-body state
//! machine. Everything that bounds a call lives here, so both backends get it.

mod caller;
mod deadline;
mod errors;
mod propagate;
mod status;
mod stream;
mod url;

pub(crate) use caller::HttpCaller;
pub(crate) use errors::error_message;
pub(crate) use stream::{BadFrame, ChunkParser, Parsed};
pub(crate) use url::{Api, Target, join, parse_base_url, server_of, without_userinfo};

#[cfg(test)]
mod tests;
