//! One generation, end to end: the per-call scope that `#[backend]` / `#[generation_hook]`
//! expansions drive, and the types backends implement for it.
//!
//! A generation begins only when some plugin listens to its hooks (one atomic load
//! otherwise). It then mints a `generation_id`, fires pre-call (whose accepted patch the body
//! sees), runs the body under the generation's OpenTelemetry context, and fires exactly one of
//! post-call / error — also when its future is dropped (`error_type = "cancelled"`) or its
//! body panics (`"panic"`). A streamed generation ends when its stream does.
//!
//! Backends implement [`BackendIdentity`]; their methods take a [`ChatRequest`] /
//! [`BatchRequest`] and return a [`GenerationOutput`](crate::hooks::GenerationOutput), a
//! [`BatchOutput`] or a [`ChunkStream`] of [`StreamChunk`]s.

mod backend;
mod detached;
pub(crate) use detached::drive_detached;
mod error_info;
mod info;
mod kind;
mod live;
mod output;
mod parent;
mod recycled;
mod request;
pub(crate) mod scope;
pub(crate) mod snapshot;
mod span;
mod stream;

pub use crate::hooks::{Message, Prompt};
pub use backend::{BackendIdentity, ServerAddress};
pub use error_info::{ClassifyError, describe};
pub use info::GenerationInfo;
pub use kind::GenerationKind;
pub use live::live_generations;
pub use output::{BatchOutput, ChunkStream, StreamChunk};
pub use request::{BatchGenerationRequest, BatchRequest, ChatRequest, GenerationRequest};
// `Generation` and `BackendSnapshot` are what `#[backend]` expansions drive: reachable through
// `__private` only.
pub(crate) use scope::Generation;
pub(crate) use snapshot::BackendSnapshot;
pub(crate) use span::GenerationSpanId;
pub use span::with_generation_span;
pub use stream::{CHUNK_EVENTS_ENV, chunk_events_flag};
