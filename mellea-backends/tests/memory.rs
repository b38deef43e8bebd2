//! Hostile bodies cost bounded memory: an endless line, an endless error body and a 50 MB
//! answer each end in a typed error while the process's heap grows by no more than the caps
//! allow. Measured with a counting global allocator (peak bytes live above the level before
//! the call), never with RSS or time.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use mellea_backends::BackendError;
use mellea_backends::ollama::{OllamaBackend, OllamaConfig};
use mellea_backends::openai::{OpenAiBackend, OpenAiConfig};
use mellea_runtime::generation::{ClassifyError, GenerationRequest, Message};
use support::server::{MockServer, Reply};

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size > layout.size() {
                let grown = new_size - layout.size();
                let live = LIVE.fetch_add(grown, Ordering::Relaxed) + grown;
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time: the counters are process-wide.
static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `call` and returns its output and how far the heap rose above where it started.
async fn peak_growth<T>(call: impl Future<Output = T>) -> (T, usize) {
    let start = LIVE.load(Ordering::Relaxed);
    PEAK.store(start, Ordering::Relaxed);
    let output = call.await;
    let growth = PEAK.load(Ordering::Relaxed).saturating_sub(start);
    eprintln!("peak heap growth: {growth} bytes");
    (output, growth)
}

const MIB: usize = 1024 * 1024;
/// A network-sized piece the server sends over and over (allocated once).
const PIECE: usize = 16 * 1024;

fn question() -> GenerationRequest {
    GenerationRequest::new([Message::user("Say something long")])
}

fn openai(server: &MockServer) -> OpenAiConfig {
    OpenAiConfig::new("m")
        .with_base_url(server.url("/v1"))
        .with_max_retries(0)
}

#[tokio::test]
async fn an_endless_sse_line_stops_at_the_frame_cap() {
    let _one = MEASURING.lock().await;
    let server = MockServer::always(Reply::endless(
        "text/event-stream",
        [b'a'; PIECE],
        Duration::ZERO,
    ))
    .await;
    let settings = mellea_backends::HttpSettings::default().with_max_frame_bytes(256 * 1024);
    let backend = OpenAiBackend::new(openai(&server).with_http(settings)).unwrap();
    let (error, growth) = peak_growth(async {
        let mut stream = backend.chat_stream(question()).await.unwrap();
        stream.next().await.unwrap().unwrap_err()
    })
    .await;
    assert!(
        matches!(
            error,
            BackendError::ResponseTooLarge {
                what: "an SSE event",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.error_type(), "response_too_large");
    assert!(growth < 2 * MIB, "the heap grew by {growth} bytes");
}

#[tokio::test]
async fn an_endless_ndjson_line_stops_at_the_default_frame_cap() {
    let _one = MEASURING.lock().await;
    let server = MockServer::always(Reply::endless(
        "application/x-ndjson",
        [b'{'; PIECE],
        Duration::ZERO,
    ))
    .await;
    let backend = OllamaBackend::new(
        OllamaConfig::new("m")
            .with_host(server.url(""))
            .with_max_retries(0),
    )
    .unwrap();
    let (error, growth) = peak_growth(async {
        let mut stream = backend.chat_stream(question()).await.unwrap();
        stream.next().await.unwrap().unwrap_err()
    })
    .await;
    assert!(
        matches!(error, BackendError::ResponseTooLarge { what: "an NDJSON line", limit, .. } if limit == MIB),
        "{error:?}"
    );
    // The 1 MiB line buffer, doubled once while it grows, plus network buffers.
    assert!(growth < 4 * MIB, "the heap grew by {growth} bytes");
}

#[tokio::test]
async fn a_50_mb_answer_stops_at_the_body_cap_whether_declared_or_not() {
    let _one = MEASURING.lock().await;
    let fifty_mb = 50 * 1000 * 1000;
    let server = MockServer::always(Reply::Endless {
        status: 200,
        content_type: "application/json",
        prefix: String::new(),
        piece: [b' '; PIECE].into(),
        gap: Duration::ZERO,
        total: Some(fifty_mb),
    })
    .await;
    let settings = mellea_backends::HttpSettings::default().with_max_body_bytes(2 * MIB);
    let backend = OpenAiBackend::new(openai(&server).with_http(settings)).unwrap();
    let (error, growth) = peak_growth(backend.chat(question())).await;
    let error = error.unwrap_err();
    assert!(
        matches!(
            error,
            BackendError::ResponseTooLarge {
                what: "a response body",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(growth < 6 * MIB, "the heap grew by {growth} bytes");

    // Declared with Content-Length: refused before a byte of it is read, at the default cap.
    let server = MockServer::always(Reply::ShortBody {
        status: 200,
        body: "{".repeat(PIECE),
        declared: fifty_mb,
    })
    .await;
    let backend = OpenAiBackend::new(openai(&server)).unwrap();
    let (error, growth) = peak_growth(backend.chat(question())).await;
    let error = error.unwrap_err();
    assert!(
        matches!(error, BackendError::ResponseTooLarge { limit, .. } if limit == 16 * MIB),
        "{error:?}"
    );
    assert!(growth < MIB, "the heap grew by {growth} bytes");
}

#[tokio::test]
async fn an_endless_error_body_is_read_up_to_its_cap_and_the_status_is_the_error() {
    let _one = MEASURING.lock().await;
    let server = MockServer::always(Reply::Endless {
        status: 500,
        content_type: "text/plain",
        prefix: String::new(),
        piece: [b'x'; PIECE].into(),
        gap: Duration::ZERO,
        total: None,
    })
    .await;
    let backend =
        OpenAiBackend::new(openai(&server).with_timeout(Duration::from_secs(30))).unwrap();
    let (error, growth) = peak_growth(backend.chat(question())).await;
    let error = error.unwrap_err();
    assert!(
        matches!(&error, BackendError::Server { status: 500, message, .. } if message.chars().count() <= 501),
        "{error:?}"
    );
    assert!(growth < MIB, "the heap grew by {growth} bytes");
}

#[tokio::test]
async fn a_slow_endless_error_body_is_abandoned_at_the_idle_timeout() {
    let _one = MEASURING.lock().await;
    let server = MockServer::always(Reply::Endless {
        status: 503,
        content_type: "text/plain",
        prefix: String::new(),
        piece: (*b"x").into(),
        gap: Duration::from_millis(20),
        total: None,
    })
    .await;
    // A stream has no total deadline: the idle timeout bounds its error body.
    let backend =
        OpenAiBackend::new(openai(&server).with_idle_timeout(Duration::from_millis(300))).unwrap();
    let error = match backend.chat_stream(question()).await {
        Err(error) => error,
        Ok(_) => panic!("a 503 is an error of the call"),
    };
    assert_eq!(error.status(), Some(503), "{error}");
    assert!(
        error.to_string().contains("xxx"),
        "what arrived is kept: {error}"
    );
}
