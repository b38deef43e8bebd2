//! How a backend's error reads to hooks and spans: a message, a content-free description and a
//! low-cardinality class.

use std::borrow::Cow;
use std::fmt::Display;

use crate::hooks::ErrorInfo;
use crate::hooks::short_type_name;

/// Gives a backend error a low-cardinality class, recorded as `error.type` on spans
/// (e.g. `"rate_limit"`, `"timeout"`, `"auth"`), and says which part of it is free of content.
///
/// An error's `Display` often quotes data: a server's "your message '…' is too long", a
/// content filter's reason, a fragment of a malformed answer. Hooks get that message (it is the
/// caller's own data), but spans and console lines are exported, so with content capture off
/// they record only [`safe_description`](Self::safe_description): text the backend itself wrote
/// (status code, class, endpoint, where in a stream it failed), never the request or anything
/// the server sent.
///
/// Optional: errors that do not implement it are classed by their type name, as in the
/// Python original, and their content-free description is that type name — so an error type
/// that knows nothing of this trait never leaks its message into a span.
///
/// ```
/// use std::borrow::Cow;
/// use mellea_runtime::generation::ClassifyError;
/// #[derive(Debug)]
/// enum BackendError { RateLimited, Rejected { status: u16, server_message: String } }
/// impl ClassifyError for BackendError {
///     fn error_type(&self) -> Cow<'static, str> {
///         match self {
///             BackendError::RateLimited => "rate_limit".into(),
///             BackendError::Rejected { .. } => "invalid_request".into(),
///         }
///     }
///     // The server's message may quote the prompt: leave it out.
///     fn safe_description(&self) -> Cow<'static, str> {
///         match self {
///             BackendError::RateLimited => "HTTP 429".into(),
///             BackendError::Rejected { status, .. } => format!("HTTP {status}").into(),
///         }
///     }
/// }
/// assert_eq!(BackendError::RateLimited.error_type(), "rate_limit");
/// let rejected = BackendError::Rejected { status: 400, server_message: "'secret' is too long".into() };
/// assert_eq!(rejected.safe_description(), "HTTP 400");
/// ```
pub trait ClassifyError {
    /// The class of this error.
    fn error_type(&self) -> Cow<'static, str>;

    /// What went wrong, without any request text or server-provided text: what spans record
    /// (status description, `exception.message`) while content capture is off. Defaults to
    /// the class.
    fn safe_description(&self) -> Cow<'static, str> {
        self.error_type()
    }
}

/// Describes errors of any type for hooks, preferring the most specific information the type
/// offers: [`ClassifyError`] + `Display`, then `std::error::Error`, then `Display`, then only
/// the type name. Only a [`ClassifyError`] gives a content-free description of its own; every
/// other error is described to spans by its type name.
///
/// Generated code calls `(&&&&Describe(error)).mellea_error_info()`; method resolution picks
/// the first trait below that applies (autoref specialisation), which is only possible where
/// the error's concrete type is known, i.e. in the expansion of `#[generation_hook]`.
#[doc(hidden)]
pub mod describe {
    use super::*;

    /// Borrowed error to describe.
    pub struct Describe<'a, T: ?Sized>(pub &'a T);

    impl<T: ?Sized> Clone for Describe<'_, T> {
        fn clone(&self) -> Self {
            *self
        }
    }
    impl<T: ?Sized> Copy for Describe<'_, T> {}

    fn type_name_of<T: ?Sized>() -> String {
        short_type_name(std::any::type_name::<T>()).to_owned()
    }

    /// Most specific: the error classifies itself.
    pub trait ViaClassify {
        /// The description.
        fn mellea_error_info(self) -> ErrorInfo;
    }
    impl<T: ClassifyError + Display + ?Sized> ViaClassify for &&&Describe<'_, T> {
        fn mellea_error_info(self) -> ErrorInfo {
            ErrorInfo::new(self.0.error_type(), type_name_of::<T>(), self.0.to_string())
                .with_description(self.0.safe_description())
        }
    }

    /// A standard error: classed by type name.
    pub trait ViaError {
        /// The description.
        fn mellea_error_info(self) -> ErrorInfo;
    }
    impl<T: std::error::Error + ?Sized> ViaError for &&Describe<'_, T> {
        fn mellea_error_info(self) -> ErrorInfo {
            let name = type_name_of::<T>();
            ErrorInfo::new(name.clone(), name, self.0.to_string())
        }
    }

    /// Anything displayable (e.g. `anyhow::Error`): classed by type name.
    pub trait ViaDisplay {
        /// The description.
        fn mellea_error_info(self) -> ErrorInfo;
    }
    impl<T: Display + ?Sized> ViaDisplay for &Describe<'_, T> {
        fn mellea_error_info(self) -> ErrorInfo {
            let name = type_name_of::<T>();
            ErrorInfo::new(name.clone(), name, self.0.to_string())
        }
    }

    /// Anything else: only the type name is known.
    pub trait ViaTypeName {
        /// The description.
        fn mellea_error_info(self) -> ErrorInfo;
    }
    impl<T: ?Sized> ViaTypeName for Describe<'_, T> {
        fn mellea_error_info(self) -> ErrorInfo {
            let name = type_name_of::<T>();
            ErrorInfo::new(name.clone(), name.clone(), name)
        }
    }
}

/// Describes `error` for hooks; expands to the autoref-specialised lookup of [`describe`].
#[doc(hidden)]
#[macro_export]
macro_rules! __describe_error {
    ($error:expr) => {{
        #[allow(unused_imports)]
        use $crate::generation::describe::{
            ViaClassify as _, ViaDisplay as _, ViaError as _, ViaTypeName as _,
        };
        (&&&&$crate::generation::describe::Describe($error)).mellea_error_info()
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Classified;
    impl Display for Classified {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("too many requests")
        }
    }
    impl std::error::Error for Classified {}
    impl ClassifyError for Classified {
        fn error_type(&self) -> Cow<'static, str> {
            "rate_limit".into()
        }
    }

    #[derive(Debug)]
    struct Plain;
    impl Display for Plain {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("plain failure")
        }
    }
    impl std::error::Error for Plain {}

    struct Opaque;

    #[test]
    fn a_classifying_error_gives_its_own_class() {
        let info = crate::__describe_error!(&Classified);
        assert_eq!(info.error_type, "rate_limit");
        assert_eq!(info.type_name, "Classified");
        assert_eq!(info.message, "too many requests");
        assert_eq!(
            info.description, "rate_limit",
            "the default description is the class"
        );
    }

    #[derive(Debug)]
    struct Quoting;
    impl Display for Quoting {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("your message 'canary' is too long")
        }
    }
    impl ClassifyError for Quoting {
        fn error_type(&self) -> Cow<'static, str> {
            "invalid_request".into()
        }
        fn safe_description(&self) -> Cow<'static, str> {
            "HTTP 400".into()
        }
    }

    #[test]
    fn a_classifying_error_gives_its_own_content_free_description() {
        let info = crate::__describe_error!(&Quoting);
        assert_eq!(info.message, "your message 'canary' is too long");
        assert_eq!(info.description, "HTTP 400");
    }

    #[test]
    fn a_standard_error_is_classed_by_its_type_name() {
        let info = crate::__describe_error!(&Plain);
        assert_eq!(info.error_type, "Plain");
        assert_eq!(info.message, "plain failure");
        assert_eq!(
            info.description, "Plain",
            "unclassified errors keep their text out"
        );
    }

    #[test]
    fn a_displayable_value_is_described_by_display() {
        let info = crate::__describe_error!(&String::from("bad gateway"));
        assert_eq!(info.error_type, "String");
        assert_eq!(info.message, "bad gateway");
        assert_eq!(info.description, "String");
    }

    #[test]
    fn any_other_value_is_described_by_its_type_name() {
        let info = crate::__describe_error!(&Opaque);
        assert_eq!(info.error_type, "Opaque");
    }
}
