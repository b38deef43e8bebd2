// `#[hook]` goes on an async fn.
#[mellea::hook("generation_post_call")]
struct Recorder;

fn main() {}
