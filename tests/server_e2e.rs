//! The real `letta server`, and the real `letta` talking to it as a remote backend.

use crate::support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use support::bin::{Sandbox, ServerProc, out};
use support::llm::{Reply, ScriptedLlm};

fn start(sb: &Sandbox, extra: &[&str]) -> ServerProc {
    sb.settings(serde_json::json!({"defaultModel": "openai/gpt-test"}));
    sb.start_server(extra)
}

fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut r = reqwest::Client::new().get(url);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let resp = r.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    })
}

#[test]
fn remote_backend_through_the_real_binaries() {
    let llm = ScriptedLlm::start_in_background();
    let mut server_box = Sandbox::new(&llm.openai_url());
    // The token comes from the environment: on the command line `ps` would show it.
    server_box
        .env
        .push(("LETTA_SERVER_TOKEN".into(), "s3cret".into()));
    let server = start(&server_box, &[]);
    // Health needs no token; everything else does.
    assert_eq!(get(&format!("{}/v1/health/", server.url), None).0, 200);
    let (status, body) = get(&format!("{}/v1/agents/", server.url), None);
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        get(&format!("{}/v1/agents/", server.url), Some("s3cret")).0,
        200
    );

    // A client with no provider of its own uses the server's engine.
    let mut client = Sandbox::new("");
    client.env = vec![
        ("LETTA_BASE_URL".into(), server.url.clone()),
        ("LETTA_API_KEY".into(), "s3cret".into()),
    ];
    llm.push([Reply::Text("from the server".into())]);
    let o = client.run(&["-p", "hello there", "--output-format", "json"]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["result"], "from the server");
    // The session is remembered under the server's key.
    let local: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(client.project.path().join(".letta/settings.local.json")).unwrap(),
    )
    .unwrap();
    let key = server.url.trim_start_matches("http://");
    assert_eq!(local["sessionsByServer"][key]["agentId"], v["agent_id"]);
    let o = client.run(&["conversations", "list"]);
    assert!(o.status.success(), "{}", out(&o).1);

    // A wrong key is named as the problem.
    client.env[1].1 = "wrong".into();
    let o = client.run(&["agents", "list"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).1.contains("check LETTA_API_KEY"), "{}", out(&o).1);
    // Nothing listening: the address is named.
    client.env = vec![("LETTA_BASE_URL".into(), "http://127.0.0.1:9".into())];
    let o = client.run(&["agents", "list"]);
    assert!(out(&o).1.contains("http://127.0.0.1:9"), "{}", out(&o).1);
}

#[test]
fn non_loopback_needs_a_token() {
    let sb = Sandbox::new("");
    let o = sb.run(&["server", "--host", "0.0.0.0", "--port", "0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).1.contains("--token"), "{}", out(&o).1);
    let o = sb.run(&["server", "--host", "not an address"]);
    assert_eq!(o.status.code(), Some(1));
}

#[cfg(unix)]
#[test]
fn sigterm_cancels_runs_in_flight_and_stops() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let mut server = start(&sb, &[]);
    let words: String = (0..500).map(|i| format!("w{i} ")).collect();
    llm.push([Reply::Slow {
        text: words,
        delay_ms: 20,
    }]);
    let mut client = Sandbox::new("");
    client.env = vec![("LETTA_BASE_URL".into(), server.url.clone())];
    let mut turn = client
        .cmd(&["-p", "talk for a while", "--output-format", "stream-json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first token, then stop the server.
    let mut reader = BufReader::new(turn.stdout.take().unwrap());
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 && !line.contains("assistant_message") {
        line.clear();
    }
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) };
    let status = server.child.wait().unwrap();
    assert!(status.success(), "graceful exit: {status:?}");
    let _ = turn.wait();
    // The run was recorded as cancelled, not left running.
    let store = letta::local::store::Store::open(&sb.db()).unwrap();
    let statuses: Vec<String> = store
        .conn()
        .prepare("SELECT status FROM runs")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(statuses, ["cancelled"]);
}
