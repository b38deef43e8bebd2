// `#[plugin]` goes on the impl block, not on the type.
#[mellea::plugin(name = "recorder")]
struct Recorder {
    _seen: u64,
}

fn main() {}
