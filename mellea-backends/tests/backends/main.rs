//! The backends against scripted loopback servers: wire formats (plain and streamed), typed
//! errors for hostile servers and faults, retries, and the spans they produce. Tests run in
//! parallel, each with its own server and its own session.

#[path = "../support/mod.rs"]
mod support;

mod faults;
mod ollama;
mod openai;
mod spans;
mod tools;
