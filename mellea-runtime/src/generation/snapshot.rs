//! What a generation knows of its backend, taken when the call is made, and shared between
//! the generations of one backend rather than copied per call.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::sync::Arc;

use super::BackendIdentity;
use crate::plugin::BackendInfo;

/// Backends a thread ran generations on lately. A backend's identity rarely changes, so most
/// generations find theirs here and share it (one reference count) instead of copying the
/// model id and host (two allocations). A few slots serve a thread that alternates between
/// backends (a generator and a judge); a backend not among them is copied and remembered.
const RECENT: usize = 4;

thread_local! {
    static RECENT_BACKENDS: RefCell<[Option<Arc<BackendInfo>>; RECENT]> =
        const { RefCell::new([const { None }; RECENT]) };
    static NEXT_SLOT: Cell<usize> = const { Cell::new(0) };
}

/// What a generation needs to know of its backend, taken when the call is made (the backend
/// itself stays with the body).
#[derive(Clone, Debug)]
pub struct BackendSnapshot(Arc<BackendInfo>);

impl BackendSnapshot {
    /// The identity of `backend`: shared with earlier generations of the same backend on this
    /// thread, copied otherwise.
    pub fn of<B: BackendIdentity + ?Sized>(backend: &B) -> Self {
        let model_id = backend.model_id();
        let server = backend.server();
        let same = |info: &BackendInfo| {
            info.model_id == model_id
                && match &server {
                    Some(server) => {
                        info.server_address.as_deref() == Some(server.host)
                            && info.server_port == Some(server.port)
                    }
                    None => info.server_address.is_none() && info.server_port.is_none(),
                }
        };
        let known = RECENT_BACKENDS.with_borrow(|recent| {
            recent
                .iter()
                .flatten()
                .find(|info| same(info))
                .map(Arc::clone)
        });
        Self(known.unwrap_or_else(|| {
            let mut info = BackendInfo::new("", model_id);
            if let Some(server) = server {
                info = info.with_server(server.host, server.port);
            }
            Arc::new(info)
        }))
    }

    /// The backend's identity under `provider`, remote as `remote` says (else when it has a
    /// server): the shared one when it already says so, else a copy that is remembered.
    pub(crate) fn into_info(
        self,
        provider: &'static str,
        remote: Option<bool>,
    ) -> Arc<BackendInfo> {
        let mut info = self.0;
        let remote = remote.unwrap_or(info.server_address.is_some());
        if info.provider != provider || info.remote != remote {
            let owned = Arc::make_mut(&mut info);
            owned.provider = Cow::Borrowed(provider);
            owned.remote = remote;
            remember(&info);
        }
        info
    }
}

/// Puts `info` among the thread's recent backends, in place of the one with the same identity
/// (and another provider), else of the oldest.
fn remember(info: &Arc<BackendInfo>) {
    RECENT_BACKENDS.with_borrow_mut(|recent| {
        let slot = recent
            .iter()
            .position(|known| {
                known.as_ref().is_some_and(|k| {
                    k.model_id == info.model_id
                        && k.server_address == info.server_address
                        && k.server_port == info.server_port
                })
            })
            .unwrap_or_else(|| {
                let next = NEXT_SLOT.get();
                NEXT_SLOT.set((next + 1) % RECENT);
                next
            });
        recent[slot] = Some(Arc::clone(info));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generation::ServerAddress;

    struct Named(&'static str, Option<(&'static str, u16)>);

    impl BackendIdentity for Named {
        fn model_id(&self) -> &str {
            self.0
        }
        fn server(&self) -> Option<ServerAddress<'_>> {
            self.1.map(|(host, port)| ServerAddress { host, port })
        }
    }

    #[test]
    fn a_backend_seen_before_is_shared_not_copied() {
        let backend = Named("snapshot-model", Some(("snapshot.host", 1)));
        let first = BackendSnapshot::of(&backend).into_info("p", None);
        let second = BackendSnapshot::of(&backend).into_info("p", None);
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(first.model_id, "snapshot-model");
        assert_eq!(first.server_address.as_deref(), Some("snapshot.host"));
        assert_eq!(first.server_port, Some(1));
        assert!(first.remote);
        assert_eq!(first.provider, "p");
    }

    #[test]
    fn another_identity_is_never_mistaken_for_a_known_one() {
        let a = BackendSnapshot::of(&Named("snapshot-a", None)).into_info("p", None);
        let b = BackendSnapshot::of(&Named("snapshot-a", Some(("h", 2)))).into_info("p", None);
        let c = BackendSnapshot::of(&Named("snapshot-a", None)).into_info("q", Some(true));
        let d = BackendSnapshot::of(&Named("snapshot-b", None)).into_info("p", None);
        assert!(!a.remote && a.server_address.is_none());
        assert_eq!(
            (b.server_address.as_deref(), b.server_port),
            (Some("h"), Some(2))
        );
        assert!(b.remote);
        assert_eq!((&*c.provider, c.remote), ("q", true));
        assert_eq!(d.model_id, "snapshot-b");
        // `a` is still what it was: a later provider did not change a shared identity.
        assert_eq!((&*a.provider, a.remote), ("p", false));
    }
}
