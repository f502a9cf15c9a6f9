//! The real binary in headless mode against the engine and a scripted LLM.

use crate::support;

use letta::backend::Backend;
use serde_json::Value;
use support::bin::{Sandbox, out};
use support::llm::{Reply, ScriptedLlm};

#[test]
fn prompt_answers_and_the_session_is_remembered() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let o = sb.run(&["-p", "hello", "-m", "openai/gpt-test"]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), "echo: hello");
    assert_eq!(llm.last_body()["model"], "gpt-test");
    let first = sb.project_session();
    assert!(first["agentId"].as_str().unwrap().starts_with("agent-"));
    assert_eq!(first["conversationId"], "default");
    // The global settings remember it too, written 0600.
    let global = sb.home.path().join("settings.json");
    let g: Value = serde_json::from_str(&std::fs::read_to_string(&global).unwrap()).unwrap();
    assert_eq!(g["sessionsByServer"]["local"]["agentId"], first["agentId"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&global).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // A second bare run continues the same conversation: the model sees the first exchange.
    let o = sb.run(&["-p", "again"]);
    assert!(o.status.success(), "{}", out(&o).1);
    let body = llm.last_body().to_string();
    assert!(body.contains("hello") && body.contains("again"));
    assert_eq!(sb.project_session(), first);

    // --new: a parallel conversation on the same agent, remembered for this project.
    let o = sb.run(&["-p", "fresh start", "--new", "--output-format", "json"]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["type"], "result");
    assert_eq!(v["subtype"], "success");
    assert_eq!(v["is_error"], false);
    assert_eq!(v["result"], "echo: fresh start");
    assert_eq!(v["agent_id"], first["agentId"]);
    let conv = v["conversation_id"].as_str().unwrap().to_string();
    assert!(conv.starts_with("conv-"));
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(
        !llm.last_body().to_string().contains("again"),
        "the new conversation starts empty"
    );
    assert_eq!(sb.project_session()["conversationId"], conv.as_str());

    // Scriptable listings.
    let (stdout, _) = out(&sb.run(&["agents", "list"]));
    let agents: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(agents.as_array().unwrap().len(), 1);
    let (stdout, _) = out(&sb.run(&["conversations", "list"]));
    let convs: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(convs[0]["id"], conv.as_str());
    let (stdout, _) = out(&sb.run(&["messages", "search", "fresh"]));
    let hits: Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        hits.as_array()
            .unwrap()
            .iter()
            .any(|h| h["conversation_id"] == conv.as_str()),
        "{hits}"
    );

    // --conv picks a conversation explicitly; an unknown one is a clear error.
    let o = sb.run(&["-p", "back to it", "--conv", &conv]);
    assert!(o.status.success());
    let o = sb.run(&["-p", "x", "--conv", "conv-missing"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).1.contains("Conversation conv-missing not found"));

    // A remembered conversation that was deleted: warn and fall back to the default one.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let engine = letta::local::Engine::new(
            letta::local::store::Store::open(&sb.db()).unwrap(),
            Default::default(),
            None,
        );
        engine.delete_conversation(&conv).await.unwrap();
    });
    let o = sb.run(&["-p", "where am I"]);
    let (_, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("not found, falling back to default"),
        "{stderr}"
    );
    assert_eq!(sb.project_session()["conversationId"], "default");
}

#[test]
fn prompt_from_stdin_and_errors() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let o = sb.run_with_stdin(&["-p", "-m", "openai/gpt-test"], "from stdin");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "echo: from stdin"
    );

    // A provider failure: exit 1, the reason on stderr, the message kept. (A 400 is not
    // retried; a 5xx would be, with backoff.)
    llm.push([Reply::Error {
        status: 400,
        body: r#"{"error":{"message":"upstream exploded"}}"#.into(),
    }]);
    let o = sb.run(&["-p", "this will fail"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout.is_empty());
    assert!(stderr.contains("upstream exploded"), "{stderr}");
    // In JSON the reason is in the result itself, not only on stderr.
    llm.push([Reply::Error {
        status: 400,
        body: r#"{"error":{"message":"upstream exploded again"}}"#.into(),
    }]);
    let o = sb.run(&["-p", "json fail", "--output-format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["is_error"], true);
    assert!(
        v["result"]
            .as_str()
            .unwrap()
            .contains("upstream exploded again"),
        "{v}"
    );
    let (stdout, _) = out(&sb.run(&["messages", "search", "this will fail"]));
    assert!(
        stdout.contains("this will fail"),
        "the user's message was kept: {stdout}"
    );
}

#[test]
fn no_provider_names_the_fix() {
    let sb = Sandbox {
        env: Vec::new(),
        ..Sandbox::new("")
    };
    let o = sb.run(&["-p", "hi", "-m", "openai/gpt-4.1-mini"]);
    let (_, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr.contains("OPENAI_API_KEY") && stderr.contains("letta connect"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

/// In a real terminal (a PTY through `script`), control sequences from the model are shown, not
/// obeyed; piped output stays byte-exact for scripts.
#[cfg(unix)]
#[test]
fn model_control_sequences_are_neutralised_on_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: util-linux `script` is not installed");
        return;
    }
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let evil = "clear\u{1b}[2J title\u{1b}]0;pwned\u{7} done";
    llm.push([Reply::Text(evil.into()), Reply::Text(evil.into())]);
    let exe = env!("CARGO_BIN_EXE_letta");
    let cmdline = format!("{exe} -p hi -m openai/gpt-test");
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &cmdline, "/dev/null"])
        .current_dir(sb.project.path())
        .env("LETTA_HOME", sb.home.path());
    for k in [
        "LETTA_BASE_URL",
        "LETTA_API_KEY",
        "ANTHROPIC_API_KEY",
        "OLLAMA_BASE_URL",
    ] {
        c.env_remove(k);
    }
    for (k, v) in &sb.env {
        c.env(k, v);
    }
    let shown = String::from_utf8_lossy(&c.output().unwrap().stdout).to_string();
    assert!(
        shown.contains("clear␛[2J title␛]0;pwned^G done"),
        "{shown:?}"
    );
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
    let piped = sb.run(&["-p", "again"]);
    assert_eq!(out(&piped).0, format!("{evil}\n"));
}

#[test]
fn name_opens_an_agent_by_its_name() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let o = sb.run_with_stdin(
        &["--plain", "-m", "openai/gpt-test"],
        "/rename agent Harbour Pilot\n/exit\n",
    );
    assert!(out(&o).0.contains("Renamed the agent"), "{:?}", out(&o));
    let first: serde_json::Value =
        serde_json::from_slice(&sb.run(&["-p", "hi", "--output-format", "json"]).stdout).unwrap();
    // A second agent, then -n goes back to the first by name (any case).
    let o = sb.run(&["-p", "hi", "--new-agent", "-m", "openai/gpt-test"]);
    assert!(o.status.success(), "{:?}", out(&o));
    let o = sb.run(&[
        "-p",
        "again",
        "-n",
        "harbour pilot",
        "--output-format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["agent_id"], first["agent_id"]);
    let o = sb.run(&["-p", "hi", "-n", "nobody"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out(&o).1.contains("no agent is named \"nobody\""),
        "{:?}",
        out(&o)
    );
}

#[test]
fn a_driver_runs_two_turns_over_stream_json_allowing_one_call_and_denying_another() {
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        return eprintln!("skipped: python3 is not installed");
    }
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let call = |id: &str, name: &str, args: serde_json::Value| Reply::Tools {
        text: String::new(),
        calls: vec![(id.into(), name.into(), args.to_string())],
    };
    llm.push([
        call(
            "b1",
            "Bash",
            serde_json::json!({"command": "echo original > one.txt"}),
        ),
        Reply::Text("first done".into()),
        call(
            "w1",
            "Write",
            serde_json::json!({"file_path": "two.txt", "content": "x"}),
        ),
        Reply::Text("second done".into()),
    ]);
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/stream_driver.py");
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(script).args([
        env!("CARGO_BIN_EXE_letta"),
        "-m",
        "openai/gpt-test",
        "--input-format",
        "stream-json",
        "--output-format",
        "stream-json",
        "--include-partial-messages",
    ]);
    cmd.current_dir(sb.project.path())
        .env("LETTA_HOME", sb.home.path());
    for (k, v) in &sb.env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.trim_end().ends_with("exit 0"), "{stdout}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |t: &str| lines.iter().filter(|v| v["type"] == t).collect::<Vec<_>>();
    let init = of("control_response");
    assert_eq!(init[0]["response"]["request_id"], "init-1");
    assert!(
        init[0]["response"]["response"]["tools"]
            .as_array()
            .unwrap()
            .len()
            > 3
    );
    assert!(
        of("error")[0]["message"]
            .as_str()
            .unwrap()
            .contains("stdin line 2 is not valid JSON")
    );
    let asks = of("control_request");
    assert_eq!(asks.len(), 2, "{stdout}");
    assert_eq!(asks[0]["request"]["tool_name"], "Bash");
    assert_eq!(asks[0]["request"]["tool_call_id"], "b1");
    assert_eq!(asks[1]["request"]["tool_name"], "Write");
    let results = of("result");
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["result"], "first done");
    assert_eq!(results[1]["result"], "second done");
    assert!(
        !of("stream_event").is_empty(),
        "partial messages were asked for"
    );
    // The allowed call ran with the driver's input; the denied one did not run at all.
    let one = std::fs::read_to_string(sb.project.path().join("one.txt")).unwrap();
    assert_eq!(one.trim(), "changed");
    assert!(!sb.project.path().join("two.txt").exists());
    let denied = llm
        .requests()
        .iter()
        .flat_map(|r| r.body["messages"].as_array().cloned().unwrap_or_default())
        .find(|m| m["role"] == "tool" && m["tool_call_id"] == "w1")
        .unwrap();
    assert!(
        denied["content"]
            .as_str()
            .unwrap()
            .contains("not today, says the driver"),
        "{denied}"
    );
}

#[test]
fn stream_json_input_that_ends_before_a_question_denies_it_and_exits() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    llm.push([
        support::llm::call(
            "w1",
            "Write",
            serde_json::json!({"file_path": "x.txt", "content": "x"}),
        ),
        Reply::Text("gave up".into()),
    ]);
    let o = sb.run_with_stdin(
        &[
            "-p",
            "write it",
            "-m",
            "openai/gpt-test",
            "--input-format",
            "stream-json",
            "--output-format",
            "stream-json",
        ],
        "",
    );
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("\"result\":\"gave up\""), "{stdout}");
    assert!(
        llm.tool_result("w1").contains("closed its input"),
        "{}",
        llm.tool_result("w1")
    );
    assert!(!sb.project.path().join("x.txt").exists());
}
