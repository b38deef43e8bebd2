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

/// Not async: the hooks wrap a future.
#[mellea::tool]
fn add(a: i64, b: i64) -> Result<i64, Error> {
    Ok(a + b)
}

fn main() {}
