//! `#[mellea::tool]`: the definition it derives, the model-call runner, and the tool hooks —
//! a pre-invoke patch changes the arguments the body runs with, a post-invoke patch the output
//! the caller gets, and every run (returned, failed, panicked, dropped) fires exactly one
//! post-invoke.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mellea::PluginViolation;
use mellea::hooks::Object;
use mellea::hooks::{
    ToolPostInvokePatch, ToolPostInvokePayload, ToolPreInvokePatch, ToolPreInvokePayload,
};
use mellea::plugin::{HookAction, HookContext, HookResult};
use mellea::session::in_session;
use mellea::tools::{ToolCall, ToolError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
enum CalcError {
    #[error("division by zero")]
    DivisionByZero,
    #[error(transparent)]
    Blocked(#[from] PluginViolation),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Quotient {
    value: f64,
}

/// Divides `a` by `b`.
#[mellea::tool]
async fn divide(a: f64, b: f64) -> Result<Quotient, CalcError> {
    if b == 0.0 {
        return Err(CalcError::DivisionByZero);
    }
    Ok(Quotient { value: a / b })
}

/// Panics on purpose.
#[mellea::tool(name = "explode")]
async fn explode_tool(message: String) -> Result<String, CalcError> {
    panic!("{message}");
}

/// Never finishes.
#[mellea::tool]
async fn stall() -> Result<(), CalcError> {
    std::future::pending::<()>().await;
    Ok(())
}

struct Calculator {
    offset: f64,
}

impl Calculator {
    /// Adds the calculator's offset to `x`.
    #[mellea::tool(name = "shift")]
    async fn shift(&self, x: f64) -> Result<f64, CalcError> {
        Ok(x + self.offset)
    }
}

#[derive(Debug, Clone)]
enum Seen {
    Pre {
        name: String,
        call_id: Option<String>,
        arguments: String,
    },
    Post {
        success: bool,
        output: Option<Value>,
        error_type: Option<String>,
        call_id: Option<String>,
    },
}

/// Records the tool hooks of its session, and patches as configured.
#[derive(Default)]
struct ToolRecorder {
    seen: Mutex<Vec<Seen>>,
    new_arguments: Option<String>,
    new_output: Option<Value>,
}

#[mellea::plugin(name = "tool-recorder")]
impl ToolRecorder {
    #[hook("tool_pre_invoke", mode = sequential)]
    async fn pre(
        &self,
        payload: &ToolPreInvokePayload,
        _ctx: &HookContext,
    ) -> HookResult<ToolPreInvokePatch> {
        let call = payload
            .model_tool_call
            .as_ref()
            .and_then(|call| call.downcast_ref::<ToolCall>())
            .expect("#[tool] puts a ToolCall in the payload")
            .clone();
        self.seen.lock().unwrap().push(Seen::Pre {
            name: payload.tool_name.clone(),
            call_id: payload.tool_call_id.clone(),
            arguments: call.arguments.clone(),
        });
        Ok(match &self.new_arguments {
            Some(arguments) => {
                let mut patched = call;
                patched.arguments = arguments.clone();
                HookAction::Modify(
                    ToolPreInvokePatch::new().with_model_tool_call(Some(Object::new(patched))),
                )
            }
            None => HookAction::Continue,
        })
    }

    #[hook("tool_post_invoke", mode = sequential)]
    async fn post(
        &self,
        payload: &ToolPostInvokePayload,
        _ctx: &HookContext,
    ) -> HookResult<ToolPostInvokePatch> {
        self.seen.lock().unwrap().push(Seen::Post {
            success: payload.success,
            output: payload
                .tool_output
                .as_ref()
                .and_then(|o| o.downcast_ref::<Value>().cloned()),
            error_type: payload.error.as_ref().map(|e| e.error_type.clone()),
            call_id: payload.tool_call_id.clone(),
        });
        Ok(match &self.new_output {
            Some(output) => HookAction::Modify(
                ToolPostInvokePatch::new().with_tool_output(Some(Object::new(output.clone()))),
            ),
            None => HookAction::Continue,
        })
    }
}

/// Plugin names are unique in the global registry: the tests take turns.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Registered {
    registration: mellea::plugin::Registration,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        mellea::unregister(&self.registration);
    }
}

async fn register(session: &str, recorder: ToolRecorder) -> (Arc<ToolRecorder>, Registered) {
    let turn = TURN.lock().await;
    let recorder = Arc::new(recorder);
    let registration = mellea::register_for_session(session, recorder.clone()).unwrap();
    (
        recorder,
        Registered {
            registration,
            _turn: turn,
        },
    )
}

fn posts(seen: &[Seen]) -> Vec<&Seen> {
    seen.iter()
        .filter(|s| matches!(s, Seen::Post { .. }))
        .collect()
}

#[test]
fn the_definition_has_the_name_doc_and_argument_schema() {
    let definition = divide_tool();
    assert_eq!(definition.name, "divide");
    assert_eq!(definition.description, "Divides `a` by `b`.");
    assert_eq!(definition.parameters["type"], "object");
    assert_eq!(definition.parameters["properties"]["a"]["type"], "number");
    assert_eq!(definition.parameters["required"], json!(["a", "b"]));
    assert!(definition.parameters.get("$schema").is_none());
    assert_eq!(Calculator::shift_tool().name, "shift");
    assert_eq!(explode_tool_tool().name, "explode");
}

#[tokio::test]
async fn a_models_call_runs_with_its_id_and_answers_with_a_tool_message() {
    let (recorder, _registered) = register("tool-call", ToolRecorder::default()).await;
    let call = ToolCall::new("divide", r#"{"a": 1, "b": 4}"#).with_id("call_9");
    let answer = in_session("tool-call", call_divide(&call)).await.unwrap();
    assert_eq!(answer.role, "tool");
    assert_eq!(answer.tool_call_id.as_deref(), Some("call_9"));
    assert_eq!(answer.content, r#"{"value":0.25}"#);
    let seen = recorder.seen.lock().unwrap().clone();
    assert!(
        matches!(&seen[0], Seen::Pre { name, call_id: Some(id), .. } if name == "divide" && id == "call_9")
    );
    assert!(
        matches!(&seen[1], Seen::Post { success: true, call_id: Some(id), .. } if id == "call_9")
    );
    assert_eq!(seen.len(), 2);

    let bad = ToolCall::new("divide", r#"{"a": "one"}"#).with_id("call_10");
    let error = call_divide(&bad).await.unwrap_err();
    assert!(
        matches!(error, ToolError::InvalidArguments { .. }),
        "{error}"
    );
    assert_eq!(
        error.to_message(&bad).tool_call_id.as_deref(),
        Some("call_10")
    );
    let other = ToolCall::new("shift", "{}");
    assert!(matches!(
        call_divide(&other).await,
        Err(ToolError::WrongTool { .. })
    ));
}

#[tokio::test]
async fn a_pre_invoke_patch_replaces_the_arguments_the_body_runs_with() {
    let recorder = ToolRecorder {
        new_arguments: Some(r#"{"a": 9, "b": 3}"#.into()),
        ..Default::default()
    };
    let (recorder, _registered) = register("tool-patch-args", recorder).await;
    let out = in_session("tool-patch-args", divide(1.0, 2.0))
        .await
        .unwrap();
    assert_eq!(out, Quotient { value: 3.0 });
    let seen = recorder.seen.lock().unwrap().clone();
    assert!(
        matches!(&seen[0], Seen::Pre { arguments, call_id: None, .. } if arguments == r#"{"a":1.0,"b":2.0}"#)
    );
    assert!(matches!(&seen[1], Seen::Post { output: Some(o), .. } if o == &json!({"value": 3.0})));
}

#[tokio::test]
async fn a_post_invoke_patch_replaces_the_output_the_caller_gets() {
    let recorder = ToolRecorder {
        new_output: Some(json!({"value": 42.0})),
        ..Default::default()
    };
    let (_recorder, registered) = register("tool-patch-output", recorder).await;
    let out = in_session("tool-patch-output", divide(1.0, 2.0))
        .await
        .unwrap();
    assert_eq!(out, Quotient { value: 42.0 });
    drop(registered);
    let calc = Calculator { offset: 1.0 };
    // An output that does not fit the tool's type is not taken.
    let recorder = ToolRecorder {
        new_output: Some(json!("not a number")),
        ..Default::default()
    };
    let (_recorder, _registered) = register("tool-patch-misfit", recorder).await;
    let out = in_session("tool-patch-misfit", calc.shift(1.0))
        .await
        .unwrap();
    assert_eq!(out, 2.0);
}

#[tokio::test]
async fn an_error_fires_one_failed_post_invoke() {
    let (recorder, _registered) = register("tool-error", ToolRecorder::default()).await;
    let error = in_session("tool-error", divide(1.0, 0.0))
        .await
        .unwrap_err();
    assert!(matches!(error, CalcError::DivisionByZero));
    let seen = recorder.seen.lock().unwrap().clone();
    let posts = posts(&seen);
    assert_eq!(posts.len(), 1);
    assert!(
        matches!(posts[0], Seen::Post { success: false, output: None, error_type: Some(t), .. } if t == "CalcError")
    );
}

#[tokio::test]
async fn a_panic_fires_one_post_invoke_and_resumes() {
    let (recorder, _registered) = register("tool-panic", ToolRecorder::default()).await;
    let task = tokio::spawn(in_session("tool-panic", explode_tool("boom".into())));
    assert!(task.await.unwrap_err().is_panic());
    let seen = recorder.seen.lock().unwrap().clone();
    let posts = posts(&seen);
    assert_eq!(posts.len(), 1);
    assert!(
        matches!(posts[0], Seen::Post { success: false, error_type: Some(t), .. } if t == "panic")
    );
}

#[tokio::test]
async fn a_dropped_call_fires_one_cancelled_post_invoke() {
    let (recorder, _registered) = register("tool-drop", ToolRecorder::default()).await;
    let timed_out =
        tokio::time::timeout(Duration::from_millis(20), in_session("tool-drop", stall())).await;
    assert!(timed_out.is_err());
    let seen = recorder.seen.lock().unwrap().clone();
    let posts = posts(&seen);
    assert_eq!(posts.len(), 1, "{seen:?}");
    assert!(
        matches!(posts[0], Seen::Post { success: false, error_type: Some(t), .. } if t == "cancelled")
    );
}

#[tokio::test]
async fn methods_fire_the_hooks_too() {
    let (recorder, _registered) = register("tool-method", ToolRecorder::default()).await;
    let calc = Calculator { offset: 0.5 };
    let answer = in_session(
        "tool-method",
        calc.call_shift(&ToolCall::new("shift", r#"{"x": 1}"#).with_id("m1")),
    )
    .await
    .unwrap();
    assert_eq!(answer.content, "1.5");
    assert_eq!(posts(&recorder.seen.lock().unwrap()).len(), 1);
}
