//! Coding tools through the real binary (`letta -p`), the engine and a scripted model.

use crate::support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::{Value, json};
use support::bin::{Sandbox, out};
use support::llm::{Reply, ScriptedLlm};

fn call(id: &str, name: &str, args: Value) -> (String, String, String) {
    (id.into(), name.into(), args.to_string())
}

fn tools(calls: Vec<(String, String, String)>) -> Reply {
    Reply::Tools {
        text: String::new(),
        calls,
    }
}

/// The tool results the model saw in its last request, by tool_call_id.
fn tool_results(llm: &ScriptedLlm) -> Vec<(String, String)> {
    llm.last_body()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| {
            (
                m["tool_call_id"].as_str().unwrap().to_string(),
                m["content"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn project_file(sb: &Sandbox, name: &str, content: &str) -> std::path::PathBuf {
    let p = sb.project.path().join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    p
}

#[test]
fn edit_runs_under_yolo_and_is_denied_in_standard_mode() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let f = project_file(&sb, "src/lib.rs", "fn answer() -> u32 { 41 }\n");
    let edit = json!({"file_path": "src/lib.rs", "old_string": "41", "new_string": "42"});

    // Standard mode: Edit asks; headless cannot ask, so it is denied and the model is told.
    llm.push([
        tools(vec![call("call_e1", "Edit", edit.clone())]),
        Reply::Text("I could not edit.".into()),
    ]);
    let o = sb.run(&["-p", "fix the answer", "-m", "openai/gpt-test"]);
    assert!(o.status.success(), "{}", out(&o).1);
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "fn answer() -> u32 { 41 }\n"
    );
    let results = tool_results(&llm);
    assert_eq!(results[0].0, "call_e1");
    assert!(
        results[0].1.contains("denied")
            && results[0].1.contains("headless")
            && results[0].1.contains("--allowedTools"),
        "{results:?}"
    );

    // --yolo: the file changes and the model gets the result.
    llm.push([
        tools(vec![call("call_e2", "Edit", edit)]),
        Reply::Text("Fixed.".into()),
    ]);
    let o = sb.run(&["-p", "fix it now", "--yolo"]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), "Fixed.");
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "fn answer() -> u32 { 42 }\n"
    );
    assert!(
        tool_results(&llm)
            .iter()
            .any(|(id, r)| id == "call_e2" && r.contains("Updated"))
    );

    // An allow rule works like the mode: acceptEdits via --allowedTools.
    llm.push([
        tools(vec![call(
            "call_e3",
            "Edit",
            json!({"file_path": "src/lib.rs", "old_string": "42", "new_string": "43"}),
        )]),
        Reply::Text("ok".into()),
    ]);
    let o = sb.run(&["-p", "again", "--allowedTools", "Edit(src/**)"]);
    assert!(o.status.success());
    assert!(std::fs::read_to_string(&f).unwrap().contains("43"));
}

#[test]
fn bash_output_and_timeout() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    llm.push([
        tools(vec![call(
            "call_b1",
            "Bash",
            json!({"command": "echo hello-from-bash"}),
        )]),
        Reply::Text("done".into()),
    ]);
    let o = sb.run(&["-p", "say hi", "-m", "openai/gpt-test"]);
    assert!(o.status.success(), "{}", out(&o).1);
    let r = tool_results(&llm);
    assert_eq!(
        r[0].1.trim(),
        "hello-from-bash",
        "echo is read-only, so it ran in standard mode"
    );

    let started = std::time::Instant::now();
    llm.push([
        tools(vec![call(
            "call_b2",
            "Bash",
            json!({"command": "sleep 100", "timeout": 1000}),
        )]),
        Reply::Text("it timed out".into()),
    ]);
    let o = sb.run(&["-p", "wait", "--yolo"]);
    assert!(o.status.success(), "{}", out(&o).1);
    let r = tool_results(&llm);
    assert!(
        r.iter()
            .any(|(id, t)| id == "call_b2" && t.contains("timed out after 1s")),
        "{r:?}"
    );
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn grep_glob_and_parallel_reads() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    project_file(&sb, ".gitignore", "build/\n");
    project_file(&sb, "src/a.rs", "// needle one\n");
    project_file(&sb, "src/b.rs", "// needle two\n");
    project_file(&sb, "build/gen.rs", "// needle generated\n");
    llm.push([
        tools(vec![
            call(
                "g1",
                "Grep",
                json!({"pattern": "needle", "output_mode": "content"}),
            ),
            call("g2", "Glob", json!({"pattern": "**/*.rs"})),
        ]),
        tools(vec![
            call("r1", "Read", json!({"file_path": "src/a.rs"})),
            call("r2", "Read", json!({"file_path": "src/b.rs"})),
        ]),
        Reply::Text("found them".into()),
    ]);
    let o = sb.run(&[
        "-p",
        "find needles",
        "-m",
        "openai/gpt-test",
        "--output-format",
        "stream-json",
    ]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The second step's reads ran together: both started before either finished.
    let events: Vec<(String, String)> = lines
        .iter()
        .filter(|l| {
            l["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("tool_execution"))
        })
        .map(|l| {
            (
                l["type"].as_str().unwrap().to_string(),
                l["tool_call"]["tool_call_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let pos = |t: &str, id: &str| events.iter().position(|e| e.0 == t && e.1 == id).unwrap();
    assert!(
        pos("tool_execution_started", "r2") < pos("tool_execution_finished", "r1"),
        "{events:?}"
    );
    let finished: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "tool_execution_finished")
        .collect();
    let ret = |id: &str| {
        finished
            .iter()
            .find(|l| l["tool_call"]["tool_call_id"] == id)
            .unwrap()["tool_return"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        ret("g1").contains("src/a.rs:1:// needle one")
            && ret("g1").contains("src/b.rs:1:// needle two")
    );
    assert!(!ret("g1").contains("generated"), ".gitignore is honoured");
    assert_eq!(ret("g2").lines().count(), 2);
    assert!(!ret("g2").contains("build"));
    assert!(ret("r1").contains("needle one") && ret("r2").contains("needle two"));
    // Both read results went back in one approval message.
    let r = tool_results(&llm);
    assert!(r.iter().any(|(id, _)| id == "r1") && r.iter().any(|(id, _)| id == "r2"));
}

#[test]
fn output_formats_field_by_field() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    // text
    llm.push([Reply::Text("plain answer".into())]);
    let o = sb.run(&["-p", "q1", "-m", "openai/gpt-test"]);
    assert_eq!(out(&o).0, "plain answer\n");

    // json
    llm.push([
        tools(vec![call("j1", "LS", json!({}))]),
        Reply::Text("json answer".into()),
    ]);
    let o = sb.run(&["-p", "q2", "--output-format", "json"]);
    let v: Value = serde_json::from_str(&out(&o).0).unwrap();
    assert_eq!(v["type"], "result");
    assert_eq!(v["subtype"], "success");
    assert_eq!(v["is_error"], false);
    assert_eq!(v["result"], "json answer");
    assert_eq!(v["num_turns"], 2, "two agent steps");
    assert!(v["duration_ms"].as_u64().is_some() && v["duration_api_ms"].as_u64().is_some());
    assert!(v["agent_id"].as_str().unwrap().starts_with("agent-"));
    assert_eq!(v["conversation_id"], "default");
    assert_eq!(v["usage"]["prompt_tokens"], 22);
    assert_eq!(v["usage"]["completion_tokens"], 14);
    assert_eq!(v["usage"]["total_tokens"], 36);
    assert_eq!(v["usage"]["step_count"], 2);
    assert_eq!(v["stop_reason"], "end_turn");

    // stream-json
    llm.push([
        tools(vec![call(
            "s1",
            "Bash",
            json!({"command": "rm -rf nothing-here"}),
        )]),
        Reply::Text("streamed answer".into()),
    ]);
    let o = sb.run(&["-p", "q3", "--output-format", "stream-json"]);
    assert!(o.status.success());
    let lines: Vec<Value> = out(&o)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for l in &lines {
        assert!(
            l["session_id"].is_string() && l["uuid"].is_string() && l["timestamp"].is_string(),
            "{l}"
        );
    }
    let init = &lines[0];
    assert_eq!(
        (init["type"].as_str(), init["subtype"].as_str()),
        (Some("system"), Some("init"))
    );
    assert_eq!(init["conversation_id"], "default");
    assert_eq!(init["permission_mode"], "standard");
    assert!(
        init["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "Bash")
    );
    assert!(init["cwd"].as_str().is_some() && init["model"].as_str().is_some());
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"message"));
    assert!(
        !lines
            .iter()
            .any(|l| l["message_type"] == "approval_request_message"),
        "approval chunks are left out"
    );
    let denial = lines
        .iter()
        .find(|l| l["type"] == "approval_received")
        .unwrap();
    assert_eq!(denial["decision"], "deny");
    assert_eq!(denial["tool_call"]["name"], "Bash");
    let text: String = lines
        .iter()
        .filter(|l| l["message_type"] == "assistant_message")
        .map(|l| l["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, "streamed answer");
    let result = lines.last().unwrap();
    assert_eq!(result["type"], "result");
    assert_eq!(result["subtype"], "success");
    assert_eq!(result["result"], "streamed answer");
    assert_eq!(result["run_ids"].as_array().unwrap().len(), 2);
    assert_eq!(result["usage"]["step_count"], 2);

    // auto_approval in stream-json, with the matched rule.
    llm.push([
        tools(vec![call("s2", "Bash", json!({"command": "make build"}))]),
        Reply::Text("ok".into()),
    ]);
    let o = sb.run(&[
        "-p",
        "q4",
        "--output-format",
        "stream-json",
        "--allowedTools",
        "Bash(make:*)",
    ]);
    let lines: Vec<Value> = out(&o)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let auto = lines.iter().find(|l| l["type"] == "auto_approval").unwrap();
    assert_eq!(auto["tool_call"]["tool_call_id"], "s2");
    assert_eq!(auto["matched_rule"], "Bash(make:*) (from --allowedTools)");

    // Errors: exit 1, stderr has the reason.
    llm.push([Reply::Error {
        status: 400,
        body: r#"{"error":{"message":"bad request here"}}"#.into(),
    }]);
    let o = sb.run(&["-p", "q5", "--output-format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&out(&o).0).unwrap();
    assert_eq!(
        (v["subtype"].as_str(), v["is_error"].as_bool()),
        (Some("error"), Some(true))
    );
    assert!(out(&o).1.contains("bad request here"));
    // Usage errors exit 2.
    assert_eq!(
        sb.run(&["-p", "x", "--output-format", "yaml"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn max_turns_limits_steps() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    llm.push([
        tools(vec![call("m1", "LS", json!({}))]),
        tools(vec![call("m2", "LS", json!({}))]),
        tools(vec![call("m3", "LS", json!({}))]),
    ]);
    let o = sb.run(&[
        "-p",
        "loop",
        "-m",
        "openai/gpt-test",
        "--max-turns",
        "2",
        "--output-format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&out(&o).0).unwrap();
    // Two steps, then one wind-down step told to stop; it still called a tool, so the turn ends.
    assert_eq!(v["num_turns"], 3, "{v}");
    assert_eq!(v["stop_reason"], "max_steps");
    assert_eq!(v["subtype"], "error_max_turns");
    // Tool results name their tool (strict OpenAI-compatible servers refuse an empty name).
    let body = llm.last_body();
    let names: Vec<&Value> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| &m["name"])
        .collect();
    assert!(
        !names.is_empty() && names.iter().all(|n| *n == "LS"),
        "{names:?}"
    );
    assert_ne!(v["result"], "never");
    let r = tool_results(&llm);
    assert!(
        r.iter()
            .any(|(id, t)| id == "m2" && t.contains("step limit")),
        "{r:?}"
    );
    // The call left pending is cleared by the next turn, which then works. The denial's own
    // step may reach the model before it is cancelled, so there is a reply for it too.
    llm.push([Reply::Text("fine".into()), Reply::Text("fine".into())]);
    let o = sb.run(&["-p", "next"]);
    assert_eq!(out(&o).0.trim(), "fine", "{}", out(&o).1);
}

#[cfg(unix)]
#[test]
fn interrupt_mid_tool_leaves_the_conversation_valid() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    llm.push([tools(vec![call(
        "slow",
        "Bash",
        json!({"command": "sleep 100"}),
    )])]);
    let mut child = sb
        .cmd(&[
            "-p",
            "run something slow",
            "-m",
            "openai/gpt-test",
            "--yolo",
            "--output-format",
            "stream-json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        let v: Value = serde_json::from_str(line.trim()).unwrap();
        line.clear();
        let started = v["type"] == "tool_execution_started";
        lines.push(v);
        if started {
            // SAFETY: signalling our own child process.
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let fin = lines
        .iter()
        .find(|l| l["type"] == "tool_execution_finished")
        .unwrap();
    assert!(
        fin["tool_return"]
            .as_str()
            .unwrap()
            .contains("Interrupted by user")
    );
    let result = lines.last().unwrap();
    assert_eq!(result["type"], "result");
    assert_eq!(result["subtype"], "interrupted");
    // The next message works and the model sees the interrupted call answered.
    llm.push([Reply::Text("back".into())]);
    let o = sb.run(&["-p", "are you there"]);
    assert_eq!(out(&o).0.trim(), "back", "{}", out(&o).1);
    let r = tool_results(&llm);
    assert!(
        r.iter()
            .any(|(id, t)| id == "slow" && t.contains("Interrupted by user")),
        "{r:?}"
    );
}

#[test]
fn the_init_line_says_when_commands_run_unconfined() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    sb.settings(json!({"defaultModel": "openai/gpt-test"}));
    let init = |extra: &[&str]| -> Value {
        llm.push([Reply::Text("ok".into())]);
        let mut args = vec!["-p", "q", "--output-format", "stream-json"];
        args.extend_from_slice(extra);
        let o = sb.run(&args);
        assert!(o.status.success(), "{}", out(&o).1);
        serde_json::from_str(out(&o).0.lines().next().unwrap()).unwrap()
    };
    let plain = init(&[]);
    assert_ne!(plain["sandbox"], "off", "{plain}");
    let yolo = init(&["--yolo"]);
    assert_eq!(yolo["sandbox"], "off", "{yolo}");
}

#[test]
fn json_results_carry_their_errors_and_limits_are_checked() {
    let sb = Sandbox::new("http://127.0.0.1:9/v1");
    let o = sb.run(&[
        "-p",
        "hi",
        "-m",
        "openai/gpt-test",
        "--output-format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&out(&o).0).unwrap();
    assert_eq!(v["is_error"], true, "{v}");
    assert!(
        v["errors"][0]
            .as_str()
            .unwrap_or("")
            .contains("cannot reach"),
        "{v}"
    );
    let o = sb.run(&["-p", "hi", "--max-turns", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(out(&o).1.contains("--max-turns"), "{}", out(&o).1);
}
