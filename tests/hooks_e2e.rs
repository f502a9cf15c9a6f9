//! Hooks through the real binary, on Claude Code's contract: a PreToolUse hook blocks `rm` and
//! the model reads why, a PostToolUse hook sees the output, UserPromptSubmit adds context, a Stop
//! hook sends the agent back once, and broken hooks are reported while the turn goes on.

use crate::support;

use serde_json::{Value, json};

use support::bin::{Sandbox, out};
use support::llm::{Reply, ScriptedLlm, call};

fn hooks(sb: &Sandbox, hooks: Value) {
    sb.settings(json!({"defaultModel": "openai/gpt-test", "hooks": hooks}));
}

/// A PreToolUse hook that blocks `rm` with `why`.
fn no_rm(why: &str) -> Value {
    let c = format!("grep -q '\"command\":\"rm ' && {{ echo '{why}' >&2; exit 2; }}; exit 0");
    json!([{"matcher": "Bash", "hooks": [{"type": "command", "timeout": 5, "command": c}]}])
}

fn command(c: &str) -> Value {
    json!([{"hooks": [{"type": "command", "command": c, "timeout": 5}]}])
}

#[test]
fn pre_tool_use_blocks_rm_and_post_tool_use_sees_the_output() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let p = sb.project.path();
    std::fs::write(p.join("keep.txt"), "precious\n").unwrap();
    hooks(
        &sb,
        json!({
            "PreToolUse": no_rm("rm is not allowed here; move files to .trash instead"),
            "PostToolUse": [{"matcher": "Read|Bash", "hooks": [{"type": "command", "timeout": 5,
                "command": "cat > \"$LETTA_PROJECT_DIR/post-$LETTA_HOOK_EVENT.json\"; echo '{\"hookSpecificOutput\":{\"hookEventName\":\"PostToolUse\",\"additionalContext\":\"the linter is happy\"}}'"}]}]
        }),
    );
    llm.push([
        call("rm1", "Bash", json!({"command": "rm keep.txt"})),
        call("r1", "Read", json!({"file_path": "keep.txt"})),
        Reply::Text("kept it".into()),
    ]);
    let o = sb.run(&["-p", "clean up", "--yolo"]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(p.join("keep.txt").exists(), "the hook did not stop rm");
    let blocked = llm.tool_result("rm1");
    assert!(
        blocked.contains("rm is not allowed here; move files to .trash instead"),
        "{blocked}"
    );
    let read = llm.tool_result("r1");
    assert!(
        read.contains("precious") && read.contains("[hook] the linter is happy"),
        "{read}"
    );
    let seen: Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("post-PostToolUse.json")).unwrap())
            .unwrap();
    assert_eq!(seen["hook_event_name"], "PostToolUse");
    assert_eq!(seen["tool_name"], "Read");
    assert!(
        seen["tool_response"].as_str().unwrap().contains("precious"),
        "{seen}"
    );
    assert_eq!(seen["permission_mode"], "unrestricted");
}

#[test]
fn prompt_context_stop_hooks_and_broken_hooks() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let p = sb.project.path();
    hooks(
        &sb,
        json!({
            "UserPromptSubmit": command("echo 'The secret word is plum.'"),
            // Sends the agent back once, then lets it stop.
            "Stop": command("grep -q '\"stop_hook_active\":false' && { echo 'run the tests first' >&2; exit 2; }; exit 0"),
            "PreToolUse": [{"matcher": "*", "hooks": [
                {"type": "command", "command": "sleep 30", "timeout": 1},
                {"type": "command", "command": "echo '{not json'"},
                {"type": "command", "command": "echo boom >&2; exit 9"}]}],
            "SessionStart": command("echo 'Started from a hook.'"),
            "SessionEnd": command("cat > \"$LETTA_PROJECT_DIR/ended.json\""),
        }),
    );
    llm.push([
        call("g1", "Glob", json!({"pattern": "*"})),
        Reply::Text("first stop".into()),
        Reply::Text("tests run".into()),
    ]);
    let o = sb.run(&["-p", "hello", "--output-format", "json"]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["result"], "tests run");
    let first = llm.requests()[0].body.to_string();
    assert!(first.contains("The secret word is plum."), "{first}");
    assert!(first.contains("Started from a hook."), "{first}");
    let last = llm.requests().last().unwrap().body.to_string();
    assert!(last.contains("run the tests first"), "{last}");
    // The glob ran although every PreToolUse hook failed in its own way.
    assert!(!llm.tool_result("g1").is_empty());
    for want in [
        "did not finish within 1 s",
        "not valid JSON",
        "failed (exit 9): boom",
        "a Stop hook sent the agent back",
    ] {
        assert!(stderr.contains(want), "{want:?} not in {stderr}");
    }
    let ended: Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("ended.json")).unwrap()).unwrap();
    assert_eq!(ended["hook_event_name"], "SessionEnd");

    // A blocked prompt never reaches the model, and says why.
    hooks(
        &sb,
        json!({"UserPromptSubmit": command("echo 'no prompts on Fridays' >&2; exit 2")}),
    );
    let before = llm.requests().len();
    let o = sb.run(&["-p", "hello again"]);
    assert!(!o.status.success());
    assert!(out(&o).1.contains("no prompts on Fridays"), "{:?}", out(&o));
    assert_eq!(llm.requests().len(), before);
}

#[test]
fn hooks_are_listed_and_an_untrusted_projects_hooks_never_run() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let p = sb.project.path();
    hooks(
        &sb,
        json!({"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "true"}]}]}),
    );
    std::fs::create_dir_all(p.join(".letta")).unwrap();
    let marker = p.join("project-hook-ran");
    std::fs::write(
        p.join(".letta/settings.json"),
        json!({"hooks": {"UserPromptSubmit": command(&format!("touch {}", marker.display()))}})
            .to_string(),
    )
    .unwrap();
    // The trust question comes first; it is refused.
    let o = sb.run_with_stdin(&["--plain", "-m", "openai/gpt-test"], "n\n/hooks\nhi\n");
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("PreToolUse [Bash] true"), "{stdout}");
    assert!(stdout.contains("echo: hi"), "{stdout}");
    assert!(!marker.exists(), "an untrusted project's hook ran");
}

#[test]
fn the_chat_view_shows_a_blocked_call_and_a_failing_hook() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let p = sb.project.path();
    std::fs::write(p.join("keep.txt"), "precious\n").unwrap();
    hooks(
        &sb,
        json!({
            "PreToolUse": no_rm("no rm, use trash"),
            "PostToolUse": [{"hooks": [{"type": "command", "command": "echo oops >&2; exit 3"}]}]
        }),
    );
    llm.push([
        call("rm1", "Bash", json!({"command": "rm keep.txt"})),
        call("r1", "Read", json!({"file_path": "keep.txt"})),
        Reply::Text("left it alone".into()),
    ]);
    let mut t = sb.pty(&["-m", "openai/gpt-test", "--yolo"], &[]);
    t.wait_text("conversation");
    t.send("tidy up\r");
    t.wait_text("left it alone");
    let shown = t.transcript();
    assert!(shown.contains("no rm, use trash"), "{shown}");
    assert!(
        shown.contains("hook: hook `echo oops >&2; exit 3` failed (exit 3): oops"),
        "{shown}"
    );
    assert!(p.join("keep.txt").exists());
    t.wait_for("the turn to end", |s| !s.contains("esc to interrupt"));
    t.send("\x03\x03");
    assert_eq!(t.wait_exit(), 0);
}
