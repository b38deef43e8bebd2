//! What a generation shares and reuses does not outlive it: the prompt the hooks see is the
//! request's own (no copy) and stays as the request was, and every payload shares the
//! generation's session; the allocation of a generation's
//! facts is reused by the next generation on the thread, but its plugins' per-call state, its
//! session and its body context end with it and are never seen by the next one.

use std::sync::{Arc, Mutex};

use crate::support::echo_backend::Echo;

use mellea::generation::{GenerationRequest, Message};
use mellea::hooks::{GenerationPostCall, GenerationPreCall, Messages, Prompt};
use mellea::plugin::HookFn;
use mellea::session::in_session;
use mellea::{HookAction, HookContext};

/// Per-call state a plugin leaves in the generation's extensions; its `Arc` counts whether the
/// state still exists.
#[derive(Clone)]
struct Left(#[allow(dead_code)] Arc<()>);

#[derive(Debug, Default, PartialEq)]
struct Seen {
    /// Whether pre-call found state left by an earlier generation.
    stale_state: bool,
    session: Option<String>,
    ids: Vec<String>,
}

fn observe(seen: &Arc<Mutex<Seen>>, marker: &Arc<()>, ctx: &HookContext) {
    let generation = ctx.generation().expect("a generation's hook");
    let mut seen = seen.lock().unwrap();
    seen.stale_state |= generation.extensions().get::<Left>().is_some();
    seen.session = ctx.session_id().map(str::to_owned);
    seen.ids.push(generation.id().to_owned());
    generation.extensions().insert(Left(marker.clone()));
}

#[tokio::test]
async fn a_reused_generation_starts_empty_and_its_state_ends_with_the_previous_one() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let marker = Arc::new(());
    let (s, m) = (seen.clone(), marker.clone());
    let hook = HookFn::new::<GenerationPreCall, _>("leaves-state", move |_, ctx| {
        observe(&s, &m, ctx);
        Box::pin(async { Ok(HookAction::Continue) })
    });
    let registration = mellea::register_for_session("reuse-state", hook).unwrap();
    let echo = Echo::new();

    for _ in 0..3 {
        let request = GenerationRequest::new([Message::user("hello")]);
        in_session("reuse-state", echo.generate(request))
            .await
            .unwrap();
        // The generation has ended: the state its plugin left is gone with it (what remains
        // is this test's reference and the hook's).
        assert_eq!(
            Arc::strong_count(&marker),
            2,
            "per-call state outlived its generation: {:?}",
            seen.lock().unwrap()
        );
    }
    let seen = seen.lock().unwrap();
    assert!(
        !seen.stale_state,
        "a generation saw the state of an earlier one"
    );
    assert_eq!(seen.session.as_deref(), Some("reuse-state"));
    assert_eq!(seen.ids.len(), 3);
    assert!(
        seen.ids[0] != seen.ids[1] && seen.ids[1] != seen.ids[2],
        "every generation has its own id: {:?}",
        seen.ids
    );
    mellea::unregister(&registration);
}

#[tokio::test]
async fn hooks_share_the_requests_prompt_and_the_generations_session() {
    let shared = Arc::new(Mutex::new(Vec::new()));
    let (pre, post) = (shared.clone(), shared.clone());
    let pre_hook = HookFn::new::<GenerationPreCall, _>("prompt-pre", move |payload, _| {
        pre.lock()
            .unwrap()
            .push((payload.prompt.clone(), payload.base.session_id.clone()));
        Box::pin(async { Ok(HookAction::Continue) })
    });
    let post_hook = HookFn::new::<GenerationPostCall, _>("prompt-post", move |payload, _| {
        post.lock()
            .unwrap()
            .push((payload.prompt.clone(), payload.base.session_id.clone()));
        Box::pin(async { Ok(HookAction::Continue) })
    });
    let pre_registration = mellea::register_for_session("reuse-prompt", pre_hook).unwrap();
    let post_registration = mellea::register_for_session("reuse-prompt", post_hook).unwrap();

    let request = GenerationRequest::new([Message::user("what is 2 + 2?")]);
    let kept = request.messages.clone();
    in_session("reuse-prompt", Echo::new().generate(request))
        .await
        .unwrap();

    let prompts = shared.lock().unwrap();
    assert_eq!(prompts.len(), 2, "pre- and post-call each saw the prompt");
    let (Some(pre_session), Some(post_session)) = (&prompts[0].1, &prompts[1].1) else {
        panic!("both payloads carry the session: {prompts:?}");
    };
    assert_eq!(&**pre_session, "reuse-prompt");
    assert!(
        Arc::ptr_eq(pre_session, post_session),
        "the session was copied into each payload instead of shared"
    );
    for (prompt, _) in prompts.iter() {
        let Some(Prompt::Messages(messages)) = prompt else {
            panic!("the hooks should see the request's messages: {prompt:?}");
        };
        assert!(
            messages.shares(&kept),
            "the prompt was copied for the hooks"
        );
        assert_eq!(messages[0].content, "what is 2 + 2?");
    }
    drop(prompts);
    mellea::unregister(&pre_registration);
    mellea::unregister(&post_registration);
}

#[test]
fn changing_shared_messages_copies_them_first() {
    let original = Messages::from([Message::user("one")]);
    let mut changed = original.clone();
    assert!(changed.shares(&original));
    changed.push(Message::assistant("two"));
    changed[0].content = "uno".into();
    assert!(!changed.shares(&original));
    assert_eq!(original.len(), 1);
    assert_eq!(original[0].content, "one");
    assert_eq!(
        changed
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>(),
        ["uno", "two"]
    );
    assert_eq!(changed.clone().into_vec().len(), 2);
}
