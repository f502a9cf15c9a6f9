//! MCP servers as tools, through the real binary: the fixture server (rmcp's server side, in
//! `examples/mcp_fixture.rs`) configured in `.mcp.json`, called by the scripted model.

use crate::support;

use serde_json::{Value, json};

use support::bin::{Sandbox, out};
use support::llm::{Reply, ScriptedLlm, call};

/// The fixture server, built by `cargo test --all-targets` beside the test binary: as
/// `examples/mcp_fixture-HASH` (what `cargo test` leaves), or `examples/mcp_fixture` after
/// `cargo build --examples`; the newest wins.
pub fn fixture() -> String {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let newest = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name == "mcp_fixture" || name.starts_with("mcp_fixture-")) && p.extension().is_none()
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok());
    let p = newest.unwrap_or_else(|| {
        panic!(
            "no mcp_fixture in {}: build it with `cargo build --example mcp_fixture` (cargo test --all-targets does)",
            dir.display()
        )
    });
    p.display().to_string()
}

/// A sandbox whose project trusts itself and has `.mcp.json` with these servers.
fn with_servers(llm: &ScriptedLlm, servers: Value) -> Sandbox {
    let sb = Sandbox::new(&llm.openai_url());
    let here = std::fs::canonicalize(sb.project.path()).unwrap();
    sb.settings(
        json!({"defaultModel": "openai/gpt-test", "trustedFolders": [here.display().to_string()]}),
    );
    std::fs::write(
        sb.project.path().join(".mcp.json"),
        json!({"mcpServers": servers}).to_string(),
    )
    .unwrap();
    sb
}

#[test]
fn a_model_calls_an_mcp_tool_and_rules_govern_it() {
    let llm = ScriptedLlm::start_in_background();
    let sb = with_servers(
        &llm,
        json!({"fx": {"command": fixture(), "args": ["--serve"]}}),
    );
    llm.push([
        call("c1", "mcp__fx__echo", json!({"text": "hi there"})),
        Reply::Text("done".into()),
    ]);
    let o = sb.run(&["-p", "use the tool", "--allowedTools", "mcp__fx__*"]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let tools: Vec<String> = llm.requests()[0].body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap().to_string())
        .collect();
    for t in ["mcp__fx__echo", "mcp__fx__add", "mcp__fx__sleep", "Read"] {
        assert!(tools.iter().any(|n| n == t), "{t} missing from {tools:?}");
    }
    let echo = llm.requests()[0].body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["function"]["name"] == "mcp__fx__echo")
        .cloned()
        .unwrap();
    assert_eq!(
        echo["function"]["parameters"]["properties"]["text"]["type"],
        "string"
    );
    assert_eq!(llm.tool_result("c1"), "fixture echo: hi there");

    // Asked by default: headless has no one to ask, so the call is refused with the rule to add.
    llm.push([
        call("c2", "mcp__fx__add", json!({"a": 1, "b": 2})),
        Reply::Text("ok".into()),
    ]);
    let o = sb.run(&["-p", "add"]);
    assert!(o.status.success(), "{:?}", out(&o));
    let r = llm.tool_result("c2");
    assert!(
        r.contains("needs approval") && r.contains("mcp__fx__add"),
        "{r}"
    );

    // A deny rule for the whole server wins over an allow rule for the tool.
    llm.push([
        call("c3", "mcp__fx__add", json!({"a": 1, "b": 2})),
        Reply::Text("ok".into()),
    ]);
    let o = sb.run(&[
        "-p",
        "add",
        "--allowedTools",
        "mcp__fx__add",
        "--disallowedTools",
        "mcp__fx",
    ]);
    assert!(o.status.success(), "{:?}", out(&o));
    let r = llm.tool_result("c3");
    assert!(r.contains("denied by the rule mcp__fx"), "{r}");

    // letta's keys stay out of a server's environment.
    llm.push([
        call("e1", "mcp__fx__env", json!({"name": "OPENAI_API_KEY"})),
        Reply::Text("ok".into()),
    ]);
    let o = sb.run(&["-p", "env", "--allowedTools", "mcp__fx"]);
    assert!(o.status.success(), "{:?}", out(&o));
    assert_eq!(llm.tool_result("e1"), "(unset)");

    // An allow rule for the one tool lets it run.
    llm.push([
        call("c4", "mcp__fx__add", json!({"a": 1, "b": 2})),
        Reply::Text("ok".into()),
    ]);
    let o = sb.run(&["-p", "add", "--allowedTools", "mcp__fx__add"]);
    assert!(o.status.success(), "{:?}", out(&o));
    assert_eq!(llm.tool_result("c4"), "3");
}

#[test]
fn a_hung_or_dead_server_is_a_tool_error_and_the_turn_goes_on() {
    let llm = ScriptedLlm::start_in_background();
    let sb = with_servers(
        &llm,
        json!({"fx": {"command": fixture(), "args": ["--serve"], "timeout": 1},
               "stuck": {"command": fixture(), "args": ["--hang"]},
               "broken": {"command": fixture(), "args": ["--fail"]}}),
    );
    llm.push([
        call("s1", "mcp__fx__sleep", json!({"secs": 30})),
        call("s2", "mcp__fx__crash", json!({})),
        call("s3", "mcp__fx__echo", json!({"text": "again"})),
        Reply::Text("carried on".into()),
    ]);
    let mut sb = sb;
    sb.env.push(("MCP_TIMEOUT".into(), "3000".into()));
    let o = sb.run(&[
        "-p",
        "go",
        "--allowedTools",
        "mcp__fx",
        "--output-format",
        "json",
    ]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["result"], "carried on");
    let slow = llm.tool_result("s1");
    assert!(slow.contains("did not answer sleep within 1 s"), "{slow}");
    let dead = llm.tool_result("s2");
    assert!(dead.contains("stopped"), "{dead}");
    let after = llm.tool_result("s3");
    assert!(after.contains("not connected"), "{after}");
    // The failures at start are named, with what the server said.
    assert!(
        stderr.contains("server broken is not available"),
        "{stderr}"
    );
    assert!(stderr.contains("cannot open its database"), "{stderr}");
    assert!(
        stderr.contains("server stuck is not available: it did not finish starting within 3.0 s"),
        "{stderr}"
    );
}

#[test]
fn an_untrusted_folder_does_not_start_its_servers() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    sb.settings(json!({"defaultModel": "openai/gpt-test"}));
    let marker = sb.project.path().join("started");
    std::fs::write(
        sb.project.path().join(".mcp.json"),
        json!({"mcpServers": {"evil": {"command": "sh", "args": ["-c", format!("touch {}", marker.display())]}}})
            .to_string(),
    )
    .unwrap();
    let o = sb.run(&["-p", "hi"]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("not trusted"), "{stderr}");
    assert!(!marker.exists(), "an untrusted project's server ran");
}

#[test]
fn mcp_add_list_get_remove() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let fx = fixture();
    let o = sb.run(&["mcp", "add", "fx", "--timeout", "5", "--", &fx, "--serve"]);
    assert!(o.status.success(), "{:?}", out(&o));
    let o = sb.run(&[
        "mcp",
        "add",
        "-s",
        "user",
        "-t",
        "http",
        "-H",
        "Authorization: Bearer s3cret",
        "web",
        "http://127.0.0.1:9/mcp",
    ]);
    assert!(o.status.success(), "{:?}", out(&o));
    let local: Value = serde_json::from_str(
        &std::fs::read_to_string(sb.project.path().join(".letta/settings.local.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(local["mcpServers"]["fx"]["args"], json!(["--serve"]));
    assert_eq!(local["mcpServers"]["fx"]["timeout"], 5);
    // Not started until the folder is trusted, as in a session.
    let (list, _) = out(&sb.run(&["mcp", "list"]));
    assert!(list.contains("○ fx — not started"), "{list}");
    let here = std::fs::canonicalize(sb.project.path()).unwrap();
    let global: Value = serde_json::from_str(
        &std::fs::read_to_string(sb.home.path().join("settings.json")).unwrap(),
    )
    .unwrap();
    let mut global = global;
    global["trustedFolders"] = json!([here.display().to_string()]);
    sb.settings(global);
    let (list, _) = out(&sb.run(&["mcp", "list"]));
    assert!(list.contains("● fx — ready, 5 tools"), "{list}");
    assert!(list.contains("✗ web — failed"), "{list}");
    assert!(
        !list.contains("s3cret"),
        "a header value was printed: {list}"
    );
    let (one, _) = out(&sb.run(&["mcp", "get", "fx"]));
    assert!(one.contains("mcp__fx__echo  Say the text back."), "{one}");
    assert!(!sb.run(&["mcp", "get", "nope"]).status.success());
    let o = sb.run(&["mcp", "add", "fx", "--", "other"]);
    assert!(out(&o).1.contains("already there"), "{:?}", out(&o));
    let o = sb.run(&["mcp", "add", "bad__name", "--", "x"]);
    assert!(!o.status.success());
    assert!(
        out(&o).1.contains("not a usable MCP server name"),
        "{:?}",
        out(&o)
    );
    assert!(sb.run(&["mcp", "remove", "fx"]).status.success());
    assert!(sb.run(&["mcp", "remove", "web"]).status.success());
    assert!(!sb.run(&["mcp", "remove", "web"]).status.success());
    let (list, _) = out(&sb.run(&["mcp", "list"]));
    assert!(list.contains("No MCP servers are configured"), "{list}");
}

#[test]
fn the_chat_view_does_not_wait_for_a_slow_server_and_shows_its_state() {
    let llm = ScriptedLlm::start_in_background();
    let sb = with_servers(
        &llm,
        json!({"fx": {"command": fixture(), "args": ["--serve"]}, "stuck": {"command": fixture(), "args": ["--hang"]}}),
    );
    // The stuck server stays "connecting" however slow the machine is.
    let mut p = sb.pty(&["-m", "openai/gpt-test"], &[("MCP_TIMEOUT", "600000")]);
    p.wait_text("MCP 1 ready, 1 connecting…");
    // The prompt works while a server is still starting; its tool asks first.
    llm.push([
        call("t1", "mcp__fx__echo", json!({"text": "from the chat"})),
        Reply::Text("the tool ran".into()),
    ]);
    p.send("use fx\r");
    p.wait_text("fx · echo");
    p.send("1");
    p.wait_text("the tool ran");
    assert_eq!(llm.tool_result("t1"), "fixture echo: from the chat");
    p.send("/mcp\r");
    p.wait_text("● fx — ready, 5 tools");
    p.wait_text("… stuck — connecting");
    p.send("\x03\x03");
    assert_eq!(p.wait_exit(), 0);
}
