//! What a backend tells hooks and spans about itself.

use std::sync::Arc;

/// The network endpoint of an inference server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerAddress<'a> {
    /// Host name or address, e.g. `"api.openai.com"`.
    pub host: &'a str,
    /// Port, e.g. `443`.
    pub port: u16,
}

/// The identity of a backend: the model it calls and, for remote backends, the server.
///
/// Every type whose impl carries `#[mellea::backend(provider = "...")]` implements it; the
/// provider name comes from the attribute.
///
/// ```
/// use mellea_runtime::generation::{BackendIdentity, ServerAddress};
/// struct OpenAi { model: String, host: String }
/// impl BackendIdentity for OpenAi {
///     fn model_id(&self) -> &str { &self.model }
///     fn server(&self) -> Option<ServerAddress<'_>> {
///         Some(ServerAddress { host: &self.host, port: 443 })
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not say which model it calls",
    label = "`#[backend]` needs `{Self}: mellea::generation::BackendIdentity`",
    note = "implement `mellea::generation::BackendIdentity` for `{Self}`: `fn model_id(&self) -> &str` (and `fn server(&self)` for a remote backend)"
)]
pub trait BackendIdentity {
    /// The model id this backend calls (recorded as `gen_ai.request.model`).
    fn model_id(&self) -> &str;

    /// The inference server, for backends that call one over the network. A backend that
    /// declares a server is remote (spans of kind CLIENT) unless its `#[backend]` attribute
    /// says `remote = false`.
    fn server(&self) -> Option<ServerAddress<'_>> {
        None
    }
}

/// Forwards the identity through pointer types, so `self` of any receiver kind works.
macro_rules! forward_identity {
    ($($pointer:ty),*) => {$(
        impl<T: BackendIdentity + ?Sized> BackendIdentity for $pointer {
            fn model_id(&self) -> &str {
                (**self).model_id()
            }
            fn server(&self) -> Option<ServerAddress<'_>> {
                (**self).server()
            }
        }
    )*};
}

forward_identity!(&T, &mut T, Arc<T>, Box<T>);
