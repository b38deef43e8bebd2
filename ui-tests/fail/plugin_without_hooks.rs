// A plugin without `#[hook]` methods would register nothing.
struct Recorder;

#[mellea::plugin(name = "recorder")]
impl Recorder {
    #[allow(dead_code)]
    fn record(&self) {}
}

fn main() {
    let _ = mellea::register(Recorder);
}
