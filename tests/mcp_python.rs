//! MCP against published Python software: the `mcp-server-time` server called by the model on
//! both backends, and `letta mcp serve` driven by the official MCP Python client (PyPI `mcp`),
//! over stdio and over HTTP with a token. Skipped, saying why, only without python3.

use crate::support;

use std::process::Command;

use serde_json::{Value, json};

use support::bin::{Sandbox, out};
use support::llm::{Reply, ScriptedLlm};

fn trust_and_add_time(sb: &Sandbox, venv: &std::path::Path, extra: Value) {
    let here = std::fs::canonicalize(sb.project.path()).unwrap();
    let mut settings =
        json!({"defaultModel": "openai/gpt-test", "trustedFolders": [here.display().to_string()]});
    if let (Some(s), Some(e)) = (settings.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    sb.settings(settings);
    let server = json!({"mcpServers": {"time": {
        "command": venv.join("bin/mcp-server-time").display().to_string(),
        "args": ["--local-timezone", "UTC"]}}});
    std::fs::write(sb.project.path().join(".mcp.json"), server.to_string()).unwrap();
}

#[test]
fn a_published_server_answers_the_model_on_both_backends() {
    let venv = match support::py_mcp::ready() {
        Ok(v) => v,
        Err(why) => return eprintln!("skipped: {why}"),
    };
    let llm = ScriptedLlm::start_in_background();
    let server_home = Sandbox::new(&llm.openai_url());
    let server = server_home.start_server(&[]);
    let local = Sandbox::new(&llm.openai_url());
    let mut remote = Sandbox::new(&llm.openai_url());
    remote
        .env
        .push(("LETTA_BASE_URL".into(), server.url.clone()));
    for (name, sb) in [("local", &local), ("remote", &remote)] {
        trust_and_add_time(sb, &venv, json!({}));
        let id = format!("time-{name}");
        llm.push([
            Reply::Tools {
                text: String::new(),
                calls: vec![(
                    id.clone(),
                    "mcp__time__get_current_time".into(),
                    json!({"timezone": "Europe/Paris"}).to_string(),
                )],
            },
            Reply::Text(format!("{name} knows the time")),
        ]);
        let o = sb.run(&[
            "-p",
            "what time is it in Paris?",
            "-m",
            "openai/gpt-test",
            "--allowedTools",
            "mcp__time",
        ]);
        let (stdout, stderr) = out(&o);
        assert!(o.status.success(), "{name}: {stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!("{name} knows the time")),
            "{stdout}"
        );
        let r = llm.tool_result(&id);
        assert!(
            r.contains("Europe/Paris") && r.contains("datetime"),
            "{name}: {r}"
        );
    }
}

/// The venv, a model, a sandbox and its agent (with history), or `None` (skipped, saying why).
fn served_agent() -> Option<(std::path::PathBuf, ScriptedLlm, Sandbox, String)> {
    let venv = match support::py_mcp::ready() {
        Ok(v) => v,
        Err(why) => {
            eprintln!("skipped: {why}");
            return None;
        }
    };
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let agent = agent_with_history(&sb);
    Some((venv, llm, sb, agent))
}

/// An agent with one message about a lighthouse, in the project's default conversation.
fn agent_with_history(sb: &Sandbox) -> String {
    let o = sb.run(&["-p", "the lighthouse keeper waves", "-m", "openai/gpt-test"]);
    assert!(o.status.success(), "{:?}", out(&o));
    sb.project_session()["agentId"]
        .as_str()
        .unwrap()
        .to_string()
}

fn check_flow(stdout: &str) {
    for want in [
        "tools: conversation_search,memory_read,memory_update,send_message",
        "update: Block \"human\" now holds",
        "reread: <human> The user is Ada; she reviews Rust. </human>",
        "search: [",
        "lighthouse keeper waves",
        "send: echo: hello from mcp",
        "bad: True no block \"nope\"",
        "empty: True message is empty",
        "gone: True no conversation conv-nope",
        "mcp client ok",
    ] {
        assert!(stdout.contains(want), "{want:?} not in:\n{stdout}");
    }
}

#[test]
fn mcp_serve_through_the_official_python_client_shares_memory_with_a_running_chat() {
    let Some((venv, _llm, sb, agent)) = served_agent() else {
        return;
    };
    let mut chat = sb.pty(&["-m", "openai/gpt-test"], &[]);
    chat.wait_text("conversation");

    let mut client = Command::new(venv.join("bin/python"));
    client
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/mcp_client.py"))
        .args(["stdio", env!("CARGO_BIN_EXE_letta"), &agent])
        .current_dir(sb.project.path())
        .env("LETTA_HOME", sb.home.path());
    for (k, v) in &sb.env {
        client.env(k, v);
    }
    let o = client.output().unwrap();
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    check_flow(&stdout);

    // The running chat's memory viewer shows the change.
    chat.send("/memory\r");
    chat.wait_text("characters · Who I am");
    chat.send("\x1b[C");
    chat.wait_text("The user is Ada; she reviews Rust.");
    chat.send("\x1b");
    chat.wait_for("the viewer to close", |s| !s.contains("Memory (shared"));
    chat.send("\x03\x03");
    assert_eq!(chat.wait_exit(), 0);

    // The message went to a conversation with that title.
    let (list, _) = out(&sb.run(&["conversations", "list", "--agent", &agent]));
    assert!(list.contains("from claude"), "{list}");
}

#[test]
fn mcp_serve_over_http_wants_its_token() {
    let Some((venv, _llm, sb, agent)) = served_agent() else {
        return;
    };

    // Off loopback without a token: refused before it listens.
    let o = sb.run(&["mcp", "serve", "--agent", &agent, "--http", "0.0.0.0:0"]);
    assert!(!o.status.success());
    assert!(out(&o).1.contains("give a token"), "{:?}", out(&o));

    let mut serve = sb
        .cmd(&["mcp", "serve", "--agent", &agent, "--http", "127.0.0.1:0"])
        .env("LETTA_MCP_TOKEN", "tok-123")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(serve.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
        "{line}"
    );

    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/mcp_client.py");
    let run = |token: &str| {
        Command::new(venv.join("bin/python"))
            .arg(&script)
            .args(["http", &url, token])
            .output()
            .unwrap()
    };
    let o = run("tok-123");
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    check_flow(&stdout);
    let o = run("wrong");
    assert!(!o.status.success(), "a wrong token was accepted");
    // Another name for this machine (DNS rebinding) is refused, token or not.
    let port = url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/mcp");
    let mut s = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    std::io::Write::write_all(
        &mut s,
        b"POST /mcp HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer tok-123\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    let _ = std::io::Read::read_to_string(&mut s, &mut answer);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    let _ = serve.kill();
    let _ = serve.wait();
}
