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

struct Point {
    x: i64,
}

/// An argument that is not a serde type.
#[mellea::tool]
async fn norm(point: Point) -> Result<i64, Error> {
    Ok(point.x.abs())
}

fn main() {}
