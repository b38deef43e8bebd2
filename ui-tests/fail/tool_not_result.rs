#[derive(Debug)]
struct Error;
impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("error")
    }
}
impl From<mellea::PluginViolation> for Error {
    fn from(_: mellea::PluginViolation) -> Self {
        Error
    }
}

/// The output is not a `Result`.
#[mellea::tool]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
