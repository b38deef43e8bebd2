//! Accounting of every span handed to an exporter: delivered, failed, or dropped because the
//! batch queue was full, so that no span is lost without a word.
//!
//! Each exporter the builder adds is one [`Pipeline`]: a [`CountingExporter`] wraps the
//! exporter (handed / exported / failed, last failure's cause), and for batch export a
//! [`BoundedQueue`] processor in front of the SDK's `BatchSpanProcessor` decides which spans
//! the queue can still take. The SDK's processor counts its own drops but does not expose the
//! count; deciding here, with a bound no larger than the SDK queue's capacity, makes the count
//! exact and the SDK queue never overflow.

mod hint;
mod pipeline;
mod span;
mod stats;

pub(crate) use pipeline::{Pipeline, PipelineKind};
pub(crate) use span::{BoundedQueue, CountingExporter};
pub use stats::ExportStats;
