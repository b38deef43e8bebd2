//! Which path a generation takes.

use crate::hooks::HookMask;

/// Which path a generation takes: its hooks and its GenAI operation name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GenerationKind {
    /// One chat completion (also streamed): `generation_pre_call` / `_post_call` / `_error`.
    Chat,
    /// Several prompts in one call: `generation_batch_pre_call` / `_post_call` / `_error`.
    Batch,
}

impl GenerationKind {
    /// The hooks a generation of this kind fires.
    pub const fn hooks(self) -> HookMask {
        match self {
            GenerationKind::Chat => HookMask::CHAT_GENERATION,
            GenerationKind::Batch => HookMask::BATCH_GENERATION,
        }
    }

    /// The GenAI operation name: `"chat"` or `"text_completion"`.
    pub const fn operation_name(self) -> &'static str {
        match self {
            GenerationKind::Chat => "chat",
            GenerationKind::Batch => "text_completion",
        }
    }
}
