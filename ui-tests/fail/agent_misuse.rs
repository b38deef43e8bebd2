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

/// No name.
#[mellea::agent]
async fn unnamed() -> Result<String, Error> {
    Ok(String::new())
}

/// Not async, and not a `Result`.
#[mellea::agent(name = "sync", nmae = "x")]
fn sync_agent() -> String {
    String::new()
}

fn main() {}
