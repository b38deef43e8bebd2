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

/// A borrowed argument cannot be read from the model's JSON.
#[mellea::tool]
async fn shout(text: &str) -> Result<String, Error> {
    Ok(text.to_uppercase())
}

/// A misspelt argument of the attribute.
#[mellea::tool(nmae = "yell")]
async fn yell(text: String) -> Result<String, Error> {
    Ok(text)
}

fn main() {}
