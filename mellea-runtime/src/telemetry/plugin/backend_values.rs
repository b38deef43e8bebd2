//! What a span takes from its backend — its name and the provider, model and server address
//! attribute values — derived once per backend and thread and shared by the spans of its
//! generations (a reference count each) instead of copied per span: four allocations a
//! generation saved.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;

use opentelemetry::Value;

use crate::plugin::BackendInfo;
use crate::telemetry::attributes::{provider_value, span_name};
use crate::telemetry::interner::SPAN_NAMES;
use crate::telemetry::semconv;

/// Backends a thread traced lately. As in the generation's own backend cache (a thread rarely
/// alternates between more than a generator and a judge), a few slots; a backend not among
/// them has its values derived again and takes the oldest slot.
const RECENT: usize = 4;

/// The operations whose span names are remembered, by index.
const OPERATIONS: [&str; 2] = [semconv::OPERATION_CHAT, semconv::OPERATION_TEXT_COMPLETION];

thread_local! {
    static RECENT_BACKENDS: RefCell<Recent> = const {
        RefCell::new(Recent {
            slots: [const { None }; RECENT],
            next: 0,
        })
    };
}

struct Recent {
    slots: [Option<Derived>; RECENT],
    next: usize,
}

/// The values derived from one backend.
struct Derived {
    /// Held so that its address, the key, is not reused while the entry lives.
    backend: Arc<BackendInfo>,
    /// Span names by operation (see [`OPERATIONS`]), derived when first needed.
    names: [Option<Cow<'static, str>>; OPERATIONS.len()],
    values: BackendValues,
}

/// The attribute values a generation's span takes from its backend, each shared, not copied.
#[derive(Clone, Default)]
pub(super) struct BackendValues {
    /// `gen_ai.provider.name`, normalised; `None` when the backend declares none.
    pub(super) provider: Option<Value>,
    /// `gen_ai.request.model`; `None` when the model is unknown.
    pub(super) model: Option<Value>,
    /// `server.address`, when the backend has a server.
    pub(super) server_address: Option<Value>,
}

impl BackendValues {
    fn of(backend: &BackendInfo) -> Self {
        Self {
            provider: provider_value(&backend.provider).map(shared),
            model: (!backend.model_id.is_empty()).then(|| shared_str(&backend.model_id)),
            server_address: backend.server_address.as_deref().map(shared_str),
        }
    }
}

/// A string attribute value whose clones are reference counts (a static one stays static).
fn shared(value: Value) -> Value {
    match value {
        Value::String(text) => shared_str(text.as_str()),
        other => other,
    }
}

fn shared_str(text: &str) -> Value {
    Value::from(Arc::<str>::from(text))
}

/// The span name for `operation` on `backend` and the attribute values the span takes from
/// the backend: shared with the earlier spans of the same backend on this thread.
pub(super) fn span_values(
    backend: &Arc<BackendInfo>,
    operation: &'static str,
) -> (Cow<'static, str>, BackendValues) {
    let derive = || {
        (
            Cow::Owned(span_name(operation, Some(&backend.model_id))),
            BackendValues::of(backend),
        )
    };
    let Some(index) = OPERATIONS.iter().position(|op| *op == operation) else {
        return derive();
    };
    // `try_with`: a span started while the thread's locals are torn down is still named.
    RECENT_BACKENDS
        .try_with(|recent| {
            let mut recent = recent.borrow_mut();
            let derived = recent.find_or_derive(backend);
            let name = derived.names[index].get_or_insert_with(|| {
                match span_name(operation, Some(&backend.model_id)) {
                    bare if bare == operation => Cow::Borrowed(operation),
                    name => SPAN_NAMES.intern(&name),
                }
            });
            (name.clone(), derived.values.clone())
        })
        .unwrap_or_else(|_| derive())
}

impl Recent {
    fn find_or_derive(&mut self, backend: &Arc<BackendInfo>) -> &mut Derived {
        // By address first (generations of one backend share its `Arc`), then by value (a
        // hand-made `GenerationInfo` has its own).
        let found = self
            .slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|d| Arc::ptr_eq(&d.backend, backend)))
            .or_else(|| {
                self.slots
                    .iter()
                    .position(|s| s.as_ref().is_some_and(|d| *d.backend == **backend))
            });
        let index = found.unwrap_or_else(|| {
            let index = self.next;
            self.next = (index + 1) % RECENT;
            self.slots[index] = None;
            index
        });
        self.slots[index].get_or_insert_with(|| Derived {
            backend: Arc::clone(backend),
            names: Default::default(),
            values: BackendValues::of(backend),
        })
    }
}

/// How many backends this thread remembers.
#[cfg(test)]
fn remembered() -> usize {
    RECENT_BACKENDS.with_borrow(|recent| recent.slots.iter().flatten().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(model: &str) -> Arc<BackendInfo> {
        Arc::new(BackendInfo::new("test-provider", model).with_server("llm.test", 8000))
    }

    #[test]
    fn a_backend_seen_before_shares_its_values() {
        std::thread::spawn(|| {
            let info = backend("shared-model");
            let (name, values) = span_values(&info, semconv::OPERATION_CHAT);
            assert_eq!(name, "chat shared-model");
            assert!(matches!(name, Cow::Borrowed(_)), "an interned name");
            assert_eq!(values.model, Some(Value::from("shared-model")));
            assert_eq!(values.provider, Some(Value::from("test-provider")));
            assert_eq!(values.server_address, Some(Value::from("llm.test")));
            let (again, _) = span_values(&info, semconv::OPERATION_CHAT);
            let (Cow::Borrowed(name), Cow::Borrowed(again)) = (name, again) else {
                unreachable!()
            };
            assert!(std::ptr::eq(name, again), "the same name, not a copy");
            let (batch, _) = span_values(&info, semconv::OPERATION_TEXT_COMPLETION);
            assert_eq!(batch, "text_completion shared-model");
            assert_eq!(remembered(), 1);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn past_the_cap_backends_are_still_traced_right_and_the_oldest_is_forgotten() {
        std::thread::spawn(|| {
            let backends: Vec<_> = (0..3 * RECENT)
                .map(|i| backend(&format!("model-{i}")))
                .collect();
            for (i, info) in backends.iter().enumerate() {
                let (name, values) = span_values(info, semconv::OPERATION_CHAT);
                assert_eq!(name, format!("chat model-{i}"));
                assert_eq!(values.model, Some(Value::from(format!("model-{i}"))));
                assert!(remembered() <= RECENT, "the cap holds");
            }
            assert_eq!(remembered(), RECENT);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn an_equal_backend_in_another_arc_shares_the_entry() {
        std::thread::spawn(|| {
            span_values(&backend("twin"), semconv::OPERATION_CHAT);
            span_values(&backend("twin"), semconv::OPERATION_CHAT);
            assert_eq!(remembered(), 1);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn an_unknown_model_names_the_span_by_its_operation() {
        let (name, values) = span_values(&backend(""), semconv::OPERATION_CHAT);
        assert_eq!(name, "chat");
        assert_eq!(values.model, None);
    }
}
