//! Settling what a handler did that a dispatch cannot simply apply: a failure (by its
//! handler's policy), a block (warned about without its reason), a block of a hook whose
//! operation already happened, and the blocks and patches of modes that cannot use them.
//!
//! Logs name the plugin, the hook and what happened, at most once a minute per handler
//! ([`WarnLimit`](super::warn_limit::WarnLimit)); a handler's own words (error and panic
//! messages, a block's reason) may quote the prompt, so they go to DEBUG, and only when the
//! registry opts in.

use super::adapter::Adapter;
use super::run::Failure;
use super::warn_limit::left_out_note;
use super::{OnError, Violation};
use crate::error::PluginViolation;
use crate::hooks::{Hook, Patch};

/// A SEQUENTIAL or CONCURRENT handler blocked: warned about (at most once a minute per
/// handler) with its plugin, hook and code. The reason is the plugin's own text and may quote
/// the prompt: it goes to the caller in the error, and to the logs only at DEBUG and only when
/// the registry opts in.
pub(super) fn warn_blocked<H: Hook>(adapter: &Adapter, v: &PluginViolation) {
    if adapter.logs_handler_messages() {
        tracing::debug!(
            plugin = %v.plugin_name, hook = %H::TYPE, code = %v.code,
            "Plugin {} blocked {}: {}", v.plugin_name, H::TYPE, v.reason,
        );
    }
    let Some(left_out) = adapter.warnings.admit() else {
        return;
    };
    let code = if v.code.is_empty() {
        String::new()
    } else {
        format!(" [{}]", v.code)
    };
    tracing::warn!(
        hook = %H::TYPE, code = %v.code, plugin = %v.plugin_name,
        "Plugin {} blocked {}{code}{}", v.plugin_name, H::TYPE, left_out_note(left_out),
    );
}

/// A block of a hook whose operation has already happened (post-call, error, event, a tool's
/// post-invoke...): nothing is stopped. The dispatch warned about the block; this only notes
/// that it is ignored, at DEBUG and without the reason.
pub(crate) fn ignore_late_block(violation: &PluginViolation, what: &str) {
    tracing::debug!(
        hook = %violation.hook, plugin = %violation.plugin_name,
        "{what} has already happened and cannot be blocked; the block of {} is ignored",
        violation.hook,
    );
}

/// Applies the handler's failure policy, with one warning: `Some` blocks the dispatch.
///
/// The warning names the plugin, the hook and the failure class, never the handler's own words
/// (an error's text or a panic message may quote the prompt, and logs are not behind content
/// capture): those go to DEBUG, and only when the registry opts in.
pub(super) fn settle_failure<H: Hook>(
    adapter: &Adapter,
    failure: Failure,
) -> Option<PluginViolation> {
    let Failure {
        kind,
        detail,
        message,
    } = failure;
    if let Some(message) = message
        && adapter.logs_handler_messages()
    {
        tracing::debug!(
            plugin = %adapter.name, hook = %H::TYPE, failure = %kind,
            "Plugin {} {} on {}: {}", adapter.name, detail, H::TYPE, message,
        );
    }
    // Counted every time; warned about at most once a minute per handler.
    let warn = adapter.warnings.admit().map(left_out_note);
    match adapter.on_error {
        OnError::Fail if adapter.mode.may_block() => {
            adapter.count(|c| &c.failed_closed);
            // The only warning of this failure: the dispatch does not log the violation again.
            if let Some(left_out) = warn {
                tracing::warn!(
                    plugin = %adapter.name, hook = %H::TYPE, failure = %kind, on_error = %adapter.on_error,
                    "Plugin {} {}; on_error = fail: blocking {}{left_out}", adapter.name, detail, H::TYPE,
                );
            }
            Some(PluginViolation::handler_failed(
                H::TYPE,
                adapter.name.clone(),
                kind,
            ))
        }
        OnError::Disable => {
            // Said every time: it happens once per handler (it is unregistered).
            let consequence = if adapter.disable() {
                "on_error = disable: this handler is unregistered (the plugin's other handlers \
                 stay; register it again to re-enable it)"
            } else {
                "on_error = disable: this handler was already being unregistered"
            };
            tracing::warn!(
                plugin = %adapter.name, hook = %H::TYPE, failure = %kind, on_error = %adapter.on_error,
                "Plugin {} {}; {}", adapter.name, detail, consequence,
            );
            None
        }
        OnError::Ignore | OnError::Fail => {
            if let Some(left_out) = warn {
                tracing::warn!(
                    plugin = %adapter.name, hook = %H::TYPE, failure = %kind,
                    "Plugin {} {}; continuing without it{left_out}", adapter.name, detail,
                );
            }
            None
        }
    }
}

pub(super) fn blocked<H: Hook>(adapter: &Adapter, violation: Violation) -> PluginViolation {
    PluginViolation::blocked(H::TYPE, adapter.name.clone(), violation)
}

/// A handler whose mode cannot block tried to: counted, and warned about at most once a minute
/// per handler, without the reason (the plugin's own text, which may quote the prompt; at DEBUG
/// when the registry opts in).
pub(super) fn suppress_block<H: Hook>(adapter: &Adapter, violation: &Violation) {
    adapter.count(|c| &c.suppressed_blocks);
    if adapter.logs_handler_messages() {
        tracing::debug!(
            plugin = %adapter.name, hook = %H::TYPE, mode = %adapter.mode,
            "Plugin {} tried to block {}: {}", adapter.name, H::TYPE, violation.reason,
        );
    }
    if let Some(left_out) = adapter.warnings.admit() {
        tracing::warn!(
            plugin = %adapter.name, hook = %H::TYPE, mode = %adapter.mode,
            "Plugin {} tried to block {} in {} mode, which cannot block; ignored{}",
            adapter.name, H::TYPE, adapter.mode, left_out_note(left_out),
        );
    }
}

pub(super) fn discard_patch<H: Hook>(adapter: &Adapter, patch: &H::Patch) {
    adapter.count(|c| &c.discarded_patches);
    tracing::debug!(
        plugin = %adapter.name, hook = %H::TYPE, mode = %adapter.mode, fields = ?patch.field_names(),
        "patch discarded: {} mode cannot modify the payload", adapter.mode,
    );
}
