//! Plan mode through the real binary: only read-only tools run, an Edit is refused until the
//! user approves the plan the model hands in with `ExitPlanMode`, and the approval sets the
//! mode the work goes on in.

use crate::support;

use serde_json::json;

use support::bin::{Sandbox, out};
use support::llm::{Reply, ScriptedLlm, call};

#[test]
fn headless_plan_mode_runs_only_what_reads() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let p = sb.project.path();
    std::fs::write(p.join("a.txt"), "alpha\n").unwrap();
    llm.push([
        call("r1", "Read", json!({"file_path": "a.txt"})),
        call("b1", "Bash", json!({"command": "ls"})),
        call("b2", "Bash", json!({"command": "touch made.txt"})),
        call(
            "e1",
            "Edit",
            json!({"file_path": "a.txt", "old_string": "alpha", "new_string": "beta"}),
        ),
        call(
            "x1",
            "ExitPlanMode",
            json!({"plan": "1. Change alpha to beta."}),
        ),
        Reply::Text("planned".into()),
    ]);
    // A hook that allows everything still leaves the plan to the user.
    let allow = "echo '{\"hookSpecificOutput\":{\"permissionDecision\":\"allow\"}}'";
    let answer = "echo '{\"hookSpecificOutput\":{\"decision\":{\"behavior\":\"allow\"}}}'";
    sb.settings(json!({"hooks": {
        "PreToolUse": [{"hooks": [{"type": "command", "command": allow}]}],
        "PermissionRequest": [{"hooks": [{"type": "command", "command": answer}]}]}}));
    let o = sb.run(&[
        "-p",
        "plan it",
        "-m",
        "openai/gpt-test",
        "--permission-mode",
        "plan",
        "--allowedTools",
        "Bash(touch:*)",
    ]);
    assert!(o.status.success(), "{:?}", out(&o));
    assert!(llm.tool_result("r1").contains("alpha"));
    assert!(llm.tool_result("b1").contains("a.txt"));
    for id in ["b2", "e1"] {
        let r = llm.tool_result(id);
        assert!(r.contains("plan mode is on"), "{id}: {r}");
    }
    assert!(!p.join("made.txt").exists());
    assert_eq!(std::fs::read_to_string(p.join("a.txt")).unwrap(), "alpha\n");
    // Nobody can approve a plan in -p.
    assert!(llm.tool_result("x1").contains("needs approval"));
    let first = llm.requests()[0].body.to_string();
    assert!(first.contains("Permission mode: plan"), "{first}");
}

#[test]
fn the_chat_view_refuses_an_edit_until_the_plan_is_approved() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let p = sb.project.path();
    std::fs::write(p.join("a.txt"), "alpha\n").unwrap();
    let edit = json!({"file_path": "a.txt", "old_string": "alpha", "new_string": "beta"});
    llm.push([
        call("e1", "Edit", edit.clone()),
        call(
            "x1",
            "ExitPlanMode",
            json!({"plan": "## The plan\n- change **alpha** to beta"}),
        ),
        call("e2", "Edit", edit),
        Reply::Text("all done".into()),
    ]);
    let mut t = sb.pty(&["-m", "openai/gpt-test", "--permission-mode", "plan"], &[]);
    t.wait_text("plan mode");
    t.send("make it beta\r");
    t.wait_text("Approve this plan and start?");
    t.wait_text("change alpha to beta");
    assert_eq!(std::fs::read_to_string(p.join("a.txt")).unwrap(), "alpha\n");
    assert!(llm.tool_result("e1").contains("plan mode is on"));
    t.send("1");
    t.wait_text("all done");
    // Approved into accept-edits: the edit ran without another question.
    assert_eq!(std::fs::read_to_string(p.join("a.txt")).unwrap(), "beta\n");
    t.wait_text("accept edits");
    assert!(llm.tool_result("x1").contains("approved the plan"));
    t.wait_for("the turn to end", |s| !s.contains("esc to interrupt"));
    t.send("\x03\x03");
    assert_eq!(t.wait_exit(), 0);
}
