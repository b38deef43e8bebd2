//! `MELLEA_GENERATION_CHUNK_EVENTS` turns on one `chunk_processed` event per streamed chunk.
//!
//! In the `process` binary, which runs its tests one at a time: it sets a process environment
//! variable. The variable is read once per process, so the test asks for a re-read after
//! changing it.

use crate::support::echo_backend;

use echo_backend::{Echo, Fired, Recorder, record_session};
use futures_util::StreamExt;
use mellea::generation::{CHUNK_EVENTS_ENV, GenerationRequest, Message};
use mellea::session::in_session;

async fn stream_three_chunks(session: &str) -> Vec<Fired> {
    let (recorder, registration) = record_session(session, Recorder::named(session));
    in_session(session.to_owned(), async {
        let stream = Echo::new()
            .generate_stream(GenerationRequest::new([Message::user("hi")]))
            .await
            .unwrap();
        let _: Vec<_> = stream.collect().await;
    })
    .await;
    mellea::unregister(&registration);
    recorder.fired()
}

#[tokio::test]
async fn chunk_events_fire_per_chunk_only_when_the_variable_is_truthy() {
    let _exclusive = crate::support::exclusive();
    // SAFETY: the only test of this binary; no other thread reads the environment meanwhile.
    unsafe { std::env::remove_var(CHUNK_EVENTS_ENV) };
    let quiet = stream_three_chunks("events-off").await;
    assert!(!quiet.iter().any(|f| matches!(f, Fired::Event { .. })));

    // SAFETY: as above.
    unsafe { std::env::set_var(CHUNK_EVENTS_ENV, " True ") };
    // The flag is read once per process, not on every streamed call: the change is not seen
    // until the cached flags are told to read the environment again.
    let cached = stream_three_chunks("events-cached").await;
    assert!(!cached.iter().any(|f| matches!(f, Fired::Event { .. })));
    mellea::telemetry::reread_env_flags();
    let fired = stream_three_chunks("events-on").await;
    let events: Vec<_> = fired
        .iter()
        .filter_map(|f| match f {
            Fired::Event { name, data, .. } => Some((name.clone(), data.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 3, "{fired:?}");
    for (index, (name, data)) in events.iter().enumerate() {
        assert_eq!(name, "chunk_processed");
        assert_eq!(data["chunk_index"], index as u64);
        assert_eq!(data["chunk_text_length"], 3);
        assert_eq!(data["time_since_last_chunk_ms"].is_null(), index == 0);
    }
    assert!(
        matches!(fired.last(), Some(Fired::Post { .. })),
        "events come before post-call: {fired:?}"
    );
}
