//! Runtime of [mellea](https://docs.rs/mellea): hook types and payloads, the plugin registry,
//! and dispatch through the five execution modes.
//!
//! Most users depend on the `mellea` facade crate, which re-exports this crate together with
//! the `#[plugin]`, `#[hook]`, `#[backend]` and `#[generation_hook]` attributes.
//!
//! ```
//! use mellea_runtime::hooks::{SessionPreInit, SessionPreInitPayload};
//! use mellea_runtime::plugin::{HookAction, HookContext, HookFn, PluginRegistry};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let registry = PluginRegistry::new();
//! let _registration = registry
//!     .register(HookFn::new::<SessionPreInit, _>("audit", |payload, _ctx| {
//!         Box::pin(async move {
//!             println!("session for {}", payload.model_id);
//!             Ok(HookAction::Continue)
//!         })
//!     }))
//!     .unwrap();
//!
//! let mut payload = SessionPreInitPayload::default();
//! payload.model_id = "granite4".into();
//! let dispatched = registry
//!     .dispatch::<SessionPreInit>(payload, HookContext::new())
//!     .await
//!     .unwrap();
//! assert_eq!(dispatched.payload.model_id, "granite4");
//! # });
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
// No `unsafe`: an exception needs a local `#[allow(unsafe_code)]` and a comment proving why
// nothing safe works.
#![deny(unsafe_code)]

pub mod error;
pub mod hooks;
pub mod plugin;

#[doc(hidden)]
pub mod __private;

pub use error::{HandlerFailure, PluginViolation, RegistrationError};
pub mod agents;
pub mod generation;
mod invocation;
pub mod session;
pub mod telemetry;
pub mod tools;
pub use invocation::BodyContext;

mod env;
mod recent_texts;
