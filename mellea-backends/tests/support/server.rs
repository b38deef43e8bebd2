//! A scripted HTTP/1.1 server on 127.0.0.1 for backend tests.
//!
//! It records every request (method, path, headers, body) and answers each with what the
//! test's handler returns: a whole body, a chunked stream (completed or cut off), a body
//! shorter than its `Content-Length`, or nothing at all. Raw TCP rather than a web framework,
//! so tests control every byte, including the broken ones. Every response closes its
//! connection, so each request arrives on a fresh one.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

/// How the server answers one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A whole body with its `Content-Length`.
    Body {
        status: u16,
        content_type: &'static str,
        body: String,
        headers: Vec<(&'static str, String)>,
    },
    /// `Transfer-Encoding: chunked`, one HTTP chunk per piece, `gap` apart; `complete: false`
    /// closes the connection after the last piece without the terminating chunk (a stream
    /// cut mid-way).
    Chunked {
        content_type: &'static str,
        pieces: Vec<String>,
        gap: Duration,
        complete: bool,
    },
    /// Declares `declared` bytes, sends `body`, closes.
    ShortBody {
        status: u16,
        body: String,
        declared: usize,
    },
    /// Reads the request and never answers.
    Silence,
    /// `status` with a chunked body: `prefix`, then `piece` over and over, `gap` apart, until
    /// `total` bytes of pieces were sent (`None`: until the client hangs up). The server
    /// allocates nothing per piece, so memory tests measure the client alone.
    Endless {
        status: u16,
        content_type: &'static str,
        prefix: String,
        piece: std::sync::Arc<[u8]>,
        gap: Duration,
        total: Option<usize>,
    },
    /// Reads the request, then resets the connection (RST) without a response byte.
    Reset,
}

impl Reply {
    /// 200 with a JSON body.
    pub fn json(body: impl Into<String>) -> Self {
        Self::status_json(200, body)
    }

    /// `status` with a JSON body.
    pub fn status_json(status: u16, body: impl Into<String>) -> Self {
        Reply::Body {
            status,
            content_type: "application/json",
            body: body.into(),
            headers: Vec::new(),
        }
    }

    /// A completed chunked stream.
    pub fn stream(content_type: &'static str, pieces: Vec<String>) -> Self {
        Reply::Chunked {
            content_type,
            pieces,
            gap: Duration::from_millis(5),
            complete: true,
        }
    }

    /// `piece` forever, `gap` apart, with status 200.
    pub fn endless(content_type: &'static str, piece: impl AsRef<[u8]>, gap: Duration) -> Self {
        Reply::Endless {
            status: 200,
            content_type,
            prefix: String::new(),
            piece: piece.as_ref().into(),
            gap,
            total: None,
        }
    }

    /// Adds a response header (only to `Body` replies).
    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        if let Reply::Body { headers, .. } = &mut self {
            headers.push((name, value.to_owned()));
        }
        self
    }
}

type Handler = dyn Fn(&Received) -> Reply + Send + Sync;

/// The server; it stops accepting when dropped.
pub struct MockServer {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl MockServer {
    /// Answers every request with `handler(&request)`.
    pub async fn start(handler: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = received.clone();
        let accept = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let handler = handler.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let _ = serve(socket, &*handler, &log).await;
                });
            }
        });
        Self {
            addr,
            received,
            accept,
        }
    }

    /// Answers every request with `reply`.
    pub async fn always(reply: Reply) -> Self {
        Self::start(move |_| reply.clone()).await
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The one request received; fails if there were more or none.
    pub fn only_request(&self) -> Received {
        let received = self.received();
        assert_eq!(received.len(), 1, "expected one request: {received:#?}");
        received.into_iter().next().unwrap()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// A port nothing listens on (bound, then released).
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn serve(
    mut socket: TcpStream,
    handler: &Handler,
    log: &Mutex<Vec<Received>>,
) -> std::io::Result<()> {
    let Some(request) = read_request(&mut socket).await? else {
        return Ok(());
    };
    log.lock().unwrap().push(request.clone());
    match handler(&request) {
        Reply::Body {
            status,
            content_type,
            body,
            headers,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n",
                reason(status),
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(body.as_bytes()).await?;
        }
        Reply::Chunked {
            content_type,
            pieces,
            gap,
            complete,
        } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
            );
            socket.write_all(head.as_bytes()).await?;
            for piece in pieces {
                socket
                    .write_all(format!("{:x}\r\n{piece}\r\n", piece.len()).as_bytes())
                    .await?;
                socket.flush().await?;
                if !gap.is_zero() {
                    tokio::time::sleep(gap).await;
                }
            }
            if complete {
                socket.write_all(b"0\r\n\r\n").await?;
            }
        }
        Reply::ShortBody {
            status,
            body,
            declared,
        } => {
            let head = format!(
                "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\nconnection: close\r\n\r\n",
                reason(status)
            );
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(body.as_bytes()).await?;
        }
        Reply::Silence => {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Reply::Endless {
            status,
            content_type,
            prefix,
            piece,
            gap,
            total,
        } => {
            let head = format!(
                "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
                reason(status)
            );
            socket.write_all(head.as_bytes()).await?;
            if !prefix.is_empty() {
                socket
                    .write_all(format!("{:x}\r\n{prefix}\r\n", prefix.len()).as_bytes())
                    .await?;
            }
            let size = format!("{:x}\r\n", piece.len());
            let mut sent = 0;
            while total.is_none_or(|total| sent < total) {
                // Fails once the client hangs up, which ends the loop.
                socket.write_all(size.as_bytes()).await?;
                socket.write_all(&piece).await?;
                socket.write_all(b"\r\n").await?;
                sent += piece.len();
                if !gap.is_zero() {
                    socket.flush().await?;
                    tokio::time::sleep(gap).await;
                }
            }
            socket.write_all(b"0\r\n\r\n").await?;
        }
        Reply::Reset => {
            socket.set_zero_linger()?;
            drop(socket);
            return Ok(());
        }
    }
    socket.flush().await?;
    socket.shutdown().await
}

/// Reads one request: head up to the blank line, then `Content-Length` bytes of body.
async fn read_request(socket: &mut TcpStream) -> std::io::Result<Option<Received>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(Received {
        method,
        path,
        headers,
        body,
    }))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
