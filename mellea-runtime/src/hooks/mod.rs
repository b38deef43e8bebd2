//! Hook types, their payloads, their patches and the marker types that tie them together.
//!
//! Every hook point of the library has:
//! - a [`HookType`] variant (the run-time name, e.g. `"generation_pre_call"`),
//! - a payload struct handed to handlers by reference (e.g. [`GenerationPreCallPayload`]),
//! - a patch type: for the nine writable hooks a struct holding only the writable fields
//!   (e.g. [`GenerationPreCallPatch`]); for every other hook [`NoPatch`], which cannot be built,
//! - a marker type implementing [`Hook`] (e.g. [`GenerationPreCall`]) that names all three, so
//!   handler signatures can be checked by the compiler.
//!
//! The list of hooks (family, name, writable or not) lives in one table, in the macro crate
//! that checks `#[hook("...")]` names against it; [`HookType`], the marker types and
//! [`HOOK_COUNT`] are generated from it.

mod adapter_function;
mod common;
mod component;
mod generation;
mod prompt;
mod sampling;
mod session;
mod streaming;
mod tool;
mod validation;

pub use adapter_function::*;
pub use common::*;
pub use component::*;
pub use generation::*;
pub use prompt::*;
pub use sampling::*;
pub use session::*;
pub use streaming::*;
pub use tool::*;
pub use validation::*;

use std::fmt;
use std::str::FromStr;

// The hook table (family, name, writable) is written once, in the macro crate, which
// `#[hook("...")]` resolves names against; `__for_each_hook!` hands its rows to
// `define_hook_types!` below as `(family, Marker, "name", Payload, Patch)`. A proc macro is the
// one way both crates read the same rows without a third crate: a proc-macro crate cannot
// depend on the runtime, and `include!` of a file outside a crate's folder breaks its
// published package.
macro_rules! define_hook_types {
    ($(($family:ident, $marker:ident, $name:literal, $payload:ident, $patch:ident)),* $(,)?) => {
        /// Number of hook types (at most 32: [`HookMask`] is a `u32`).
        pub const HOOK_COUNT: usize = [$($name),*].len();

        /// The run-time name of a hook point.
        ///
        /// ```
        /// use mellea_runtime::hooks::HookType;
        /// let hook: HookType = "generation_pre_call".parse().unwrap();
        /// assert_eq!(hook, HookType::GenerationPreCall);
        /// assert_eq!(hook.as_str(), "generation_pre_call");
        /// assert_eq!(HookType::ALL.len(), 27);
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum HookType {
            $(
                #[doc = concat!("`", $name, "` (", stringify!($family), " family)")]
                $marker,
            )*
        }

        impl HookType {
            /// Every hook type, in declaration order.
            pub const ALL: [HookType; HOOK_COUNT] = [$(HookType::$marker),*];

            /// The hook's wire name, e.g. `"generation_pre_call"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(HookType::$marker => $name,)*
                }
            }

            /// Whether handlers of this hook may return a patch.
            pub const fn is_writable(self) -> bool {
                match self {
                    $(HookType::$marker => <$marker as Hook>::WRITABLE,)*
                }
            }

            /// This hook's bit in a [`HookMask`].
            pub const fn bit(self) -> u32 {
                1 << (self as u32)
            }

            /// Dense index in `0..HOOK_COUNT`, used for per-hook tables.
            pub(crate) const fn index(self) -> usize {
                self as usize
            }
        }

        impl FromStr for HookType {
            type Err = UnknownHookType;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok(HookType::$marker),)*
                    _ => Err(UnknownHookType { name: s.to_owned() }),
                }
            }
        }

        $(
            #[doc = concat!(
                "Marker type of the `", $name, "` hook (", stringify!($family),
                " family): payload [`", stringify!($payload), "`], patch [`",
                stringify!($patch), "`]."
            )]
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
            pub struct $marker;

            impl Hook for $marker {
                const TYPE: HookType = HookType::$marker;
                type Payload = $payload;
                type Patch = $patch;
            }
        )*
    };
}

mellea_macros::__for_each_hook!(define_hook_types);
const _: () = assert!(HOOK_COUNT <= 32);

impl fmt::Display for HookType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of hook types, one bit each.
///
/// ```
/// use mellea_runtime::hooks::{HookMask, HookType};
/// assert!(HookMask::CHAT_GENERATION.contains(HookType::GenerationPostCall));
/// assert!(!HookMask::CHAT_GENERATION.contains(HookType::GenerationBatchPostCall));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HookMask(u32);

impl HookMask {
    /// No hook.
    pub const EMPTY: HookMask = HookMask(0);
    /// The hooks of one chat generation: pre-call, post-call, error and event.
    pub const CHAT_GENERATION: HookMask = HookMask::EMPTY
        .with(HookType::GenerationPreCall)
        .with(HookType::GenerationPostCall)
        .with(HookType::GenerationError)
        .with(HookType::GenerationEvent);
    /// The hooks of one batch generation: batch pre-call, post-call and error.
    pub const BATCH_GENERATION: HookMask = HookMask::EMPTY
        .with(HookType::GenerationBatchPreCall)
        .with(HookType::GenerationBatchPostCall)
        .with(HookType::GenerationBatchError);

    /// This mask plus `hook`.
    #[must_use]
    pub const fn with(self, hook: HookType) -> HookMask {
        HookMask(self.0 | hook.bit())
    }

    /// Whether `hook` is in the mask.
    pub const fn contains(self, hook: HookType) -> bool {
        self.0 & hook.bit() != 0
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
}

/// A string that names no hook type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown hook type `{name}`: expected one of the names in `HookType::ALL`, e.g. `generation_pre_call`"
)]
pub struct UnknownHookType {
    /// The name that was given.
    pub name: String,
}

/// Ties a hook's name to its payload and patch types.
///
/// Implemented by one marker type per hook (e.g. [`GenerationPreCall`]); handlers are generic
/// over it, so a handler for one hook cannot be registered for another.
pub trait Hook: Send + Sync + 'static {
    /// The hook's run-time name.
    const TYPE: HookType;
    /// Whether handlers may patch the payload (the nine writable hooks).
    const WRITABLE: bool = <Self::Patch as Patch<Self::Payload>>::WRITABLE;
    /// What handlers receive by reference.
    type Payload: Payload;
    /// What SEQUENTIAL / TRANSFORM handlers may return to change the payload.
    type Patch: Patch<Self::Payload>;
}

/// Common behaviour of every payload struct.
pub trait Payload: Clone + fmt::Debug + Send + Sync + 'static {
    /// The fields every payload carries.
    fn base(&self) -> &PayloadBase;
    /// Mutable access to the base fields (the dispatcher stamps `hook`).
    fn base_mut(&mut self) -> &mut PayloadBase;
}

/// A change to a payload that a handler may propose.
///
/// Writable hooks have a patch struct whose fields are `Option`s of the writable fields; any
/// other hook's patch is [`NoPatch`], which has no values, so a handler of an observe-only hook
/// cannot return a change at all.
pub trait Patch<P>: Send + 'static {
    /// Whether this patch can carry a change.
    const WRITABLE: bool;
    /// Writes the fields this patch sets into `payload`.
    fn apply(self, payload: &mut P);
    /// Names of the fields this patch sets (for logs).
    fn field_names(&self) -> Vec<&'static str>;
}

/// The patch type of observe-only hooks: it has no values, so it can never be returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoPatch {}

impl<P> Patch<P> for NoPatch {
    const WRITABLE: bool = false;
    fn apply(self, _payload: &mut P) {
        match self {}
    }
    fn field_names(&self) -> Vec<&'static str> {
        match *self {}
    }
}

/// Defines a payload struct: the base fields plus the listed fields with their defaults.
macro_rules! payload {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident : $ty:ty = $default:expr
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        #[non_exhaustive]
        pub struct $name {
            /// Fields every payload carries (`session_id`, `request_id`, `timestamp`, `hook`,
            /// `user_metadata`).
            pub base: $crate::hooks::PayloadBase,
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    base: $crate::hooks::PayloadBase::default(),
                    $($field: $default,)*
                }
            }
        }

        impl $crate::hooks::Payload for $name {
            fn base(&self) -> &$crate::hooks::PayloadBase {
                &self.base
            }
            fn base_mut(&mut self) -> &mut $crate::hooks::PayloadBase {
                &mut self.base
            }
        }
    };
}

/// Defines a patch struct for a writable hook: one `Option` per writable field.
macro_rules! patch {
    (
        $(#[$meta:meta])*
        pub struct $name:ident for $payload:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty, with $setter:ident
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        ///
        /// Each field is an `Option`: `Some` replaces the payload's field, `None` leaves it as it
        /// is.
        #[derive(Clone, Debug, Default)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: Option<$ty>,
            )*
        }

        impl $name {
            /// A patch that changes nothing.
            pub fn new() -> Self {
                Self::default()
            }
            $(
                #[doc = concat!("Sets `", stringify!($field), "`.")]
                #[must_use]
                pub fn $setter(mut self, value: $ty) -> Self {
                    self.$field = Some(value);
                    self
                }
            )*
            /// Whether this patch changes nothing.
            pub fn is_empty(&self) -> bool {
                true $(&& self.$field.is_none())*
            }
        }

        impl $crate::hooks::Patch<$payload> for $name {
            const WRITABLE: bool = true;
            fn apply(self, payload: &mut $payload) {
                $(
                    if let Some(value) = self.$field {
                        payload.$field = value;
                    }
                )*
            }
            fn field_names(&self) -> Vec<&'static str> {
                let mut names = Vec::new();
                $(
                    if self.$field.is_some() {
                        names.push(stringify!($field));
                    }
                )*
                names
            }
        }
    };
}

pub(crate) use patch;
pub(crate) use payload;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hook_type_round_trips_through_its_name() {
        for hook in HookType::ALL {
            assert_eq!(hook.as_str().parse::<HookType>(), Ok(hook));
            assert_eq!(HookType::ALL[hook.index()], hook);
        }
    }

    #[test]
    fn exactly_the_nine_reference_hooks_are_writable() {
        let writable: Vec<&str> = HookType::ALL
            .iter()
            .filter(|h| h.is_writable())
            .map(|h| h.as_str())
            .collect();
        assert_eq!(
            writable,
            [
                "session_pre_init",
                "component_pre_execute",
                "generation_pre_call",
                "generation_batch_pre_call",
                "validation_pre_check",
                "validation_post_check",
                "sampling_loop_start",
                "tool_pre_invoke",
                "tool_post_invoke",
            ]
        );
    }

    #[test]
    fn unknown_name_is_an_error_naming_it() {
        let err = "generation_pre_cal".parse::<HookType>().unwrap_err();
        assert!(err.to_string().contains("generation_pre_cal"));
    }
}
