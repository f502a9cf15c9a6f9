//! The chat view measured through the real binary in a PTY (screen kept by vt100):
//! start to first frame, idle RSS, a 20,000-token reply (time and the UI process's CPU),
//! typing latency on a 5,000-message conversation, opening `/resume` over 10,000
//! conversations and switching to one of 10,000 messages.
//! `cargo bench --bench tui`; under `cargo test` a small smoke run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::pedantic
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use letta::local::store::{NewMessage, Store};
use support::bin::Sandbox;
use support::llm::{Reply, ScriptedLlm};
use support::procstat::{cpu, rss_mib as rss_mb};
use support::pty::Pty;

fn row(name: &str, value: String, target: &str) {
    println!("| {name:<48} | {value:>12} | {target:<10} |");
}

fn env_of(sb: &Sandbox, extra: &[(&str, String)]) -> Vec<(String, String)> {
    let mut env = sb.env.clone();
    env.push(("LETTA_HOME".into(), sb.home.path().display().to_string()));
    for (k, v) in extra {
        env.push((k.to_string(), v.clone()));
    }
    env
}

fn ready(s: &str) -> bool {
    s.contains("↑0 ↓0") && s.contains('›')
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (tokens, messages, starts) = if full {
        (20_000, 5_000, 7)
    } else {
        (500, 100, 1)
    };
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let bin = env!("CARGO_BIN_EXE_letta");
    // A first headless turn creates the agent and remembers the session.
    assert!(
        sb.run(&["-p", "hi", "-m", "openai/gpt-test"])
            .status
            .success()
    );

    println!(
        "| {:<48} | {:>12} | {:<10} |",
        "chat view (real binary in a PTY)", "result", "target"
    );
    println!("|{}|{}|{}|", "-".repeat(50), "-".repeat(14), "-".repeat(12));

    // Start to first frame with the input ready, and idle RSS.
    let mut firsts = Vec::new();
    let mut rss = 0.0;
    for _ in 0..starts {
        let t = Instant::now();
        let p = Pty::spawn(bin, &[], sb.project.path(), &env_of(&sb, &[]), 100, 30);
        p.wait_for("first frame", ready);
        firsts.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(300));
        rss = rss_mb(p.pid().unwrap());
    }
    firsts.sort();
    row(
        "start → first frame, input ready (median)",
        format!("{:.1} ms", firsts[firsts.len() / 2].as_secs_f64() * 1e3),
        "< 50 ms",
    );
    row("idle RSS after start", format!("{rss:.1} MB"), "< 20 MB");

    // The same start with three MCP servers, one of which never answers its handshake
    // (`letta mcp serve` twice, and `sleep`): the first frame does not wait for them.
    let agent_id = sb.project_session()["agentId"]
        .as_str()
        .unwrap()
        .to_string();
    let settings_file = sb.home.path().join("settings.json");
    let mut settings: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&settings_file).unwrap_or_else(|_| "{}".into()),
    )
    .unwrap_or_default();
    let here = std::fs::canonicalize(sb.project.path()).unwrap();
    settings["trustedFolders"] = serde_json::json!([here.display().to_string()]);
    std::fs::write(&settings_file, settings.to_string()).unwrap();
    let serve = serde_json::json!({"command": bin, "args": ["mcp", "serve", "--agent", agent_id]});
    let mcp_file = sb.project.path().join(".mcp.json");
    std::fs::write(
        &mcp_file,
        serde_json::json!({"mcpServers": {"one": serve, "two": serve,
            "stuck": {"command": "sleep", "args": ["600"]}}})
        .to_string(),
    )
    .unwrap();
    let mut firsts = Vec::new();
    for _ in 0..starts {
        let t = Instant::now();
        let p = Pty::spawn(bin, &[], sb.project.path(), &env_of(&sb, &[]), 100, 30);
        p.wait_for("first frame", ready);
        firsts.push(t.elapsed());
        p.wait_for("the servers", |s| s.contains("MCP 2 ready, 1 connecting"));
    }
    firsts.sort();
    row(
        "same, 3 MCP servers (1 hangs) (median)",
        format!("{:.1} ms", firsts[firsts.len() / 2].as_secs_f64() * 1e3),
        "as without",
    );
    std::fs::remove_file(&mcp_file).unwrap();

    // The engine runs in its own `letta server` process, so the UI's CPU is measured alone.
    let server = sb.start_server(&[]);
    let url = server.url.clone();

    // A conversation with `messages` messages, opened through the server.
    let (agent, conv) = {
        let mut store = Store::open(&sb.db()).unwrap();
        let agent = store
            .create_agent(Default::default(), Vec::new(), Vec::new())
            .unwrap();
        let conv = store.create_conversation(&agent.id, None, None).unwrap();
        let batch: Vec<NewMessage> = (0..messages)
            .map(|i| {
                let text = format!("message number {i} of the long conversation");
                support::seed::user_message(&conv.id, &agent.id, text)
            })
            .collect();
        store.append_messages(&batch).unwrap();
        (agent.id, conv.id)
    };
    let env = env_of(&sb, &[("LETTA_BASE_URL", url)]);
    let p = Pty::spawn(
        bin,
        &["--agent", &agent, "--conv", &conv, "-m", "openai/gpt-test"],
        sb.project.path(),
        &env,
        100,
        30,
    );
    p.wait_for("first frame", ready);
    let pid = p.pid().unwrap();

    // A long reply: `tokens` words, a line break every 10.
    let text: String = (0..tokens)
        .map(|i| {
            if i % 10 == 9 {
                format!("w{i}\n")
            } else {
                format!("w{i} ")
            }
        })
        .collect::<String>()
        + "END-OF-REPLY";
    llm.push([Reply::Text(text)]);
    let (t, c) = (Instant::now(), cpu(pid));
    p.send("go\r");
    p.wait_for("the final frame", |s| {
        s.contains("END-OF-REPLY") && !s.contains("esc to interrupt")
    });
    let (wall, ui_cpu) = (t.elapsed(), cpu(pid) - c);
    row(
        &format!("{tokens}-token reply to its final frame"),
        format!("{:.0} ms", wall.as_secs_f64() * 1e3),
        "",
    );
    row(
        "  UI process CPU for it",
        format!("{:.0} ms", ui_cpu.as_secs_f64() * 1e3),
        "< 500 ms",
    );

    // Typing: keypress to the frame that shows it.
    let mut lat = Vec::new();
    for i in 0..40 {
        let ch = (b'a' + (i % 26) as u8) as char;
        let before = p.screen();
        let t = Instant::now();
        p.send(&ch.to_string());
        p.wait_for("the typed key", |s| s != before);
        lat.push(t.elapsed());
    }
    lat.sort();
    row(
        &format!("keypress → frame, {messages}-message conversation (p50)"),
        format!("{:.2} ms", lat[lat.len() / 2].as_secs_f64() * 1e3),
        "< 5 ms",
    );
    row(
        "  (p90)",
        format!("{:.2} ms", lat[lat.len() * 9 / 10].as_secs_f64() * 1e3),
        "",
    );
    drop(server);
    drop(p);
    browse_and_switch(&sb, full);
}

/// The conversation browser over 10,000 conversations (keypress to its first frame, and to
/// the frame that lists them), and a switch to a conversation of 10,000 messages.
fn browse_and_switch(sb: &Sandbox, full: bool) {
    let (convs, long) = if full { (10_000, 10_000) } else { (300, 300) };
    let bin = env!("CARGO_BIN_EXE_letta");
    let mut store = Store::open(&sb.db()).unwrap();
    let agent = store
        .create_agent(Default::default(), Vec::new(), Vec::new())
        .unwrap()
        .id;
    let big = store
        .create_conversation(&agent, Some("the long one"), None)
        .unwrap()
        .id;
    let batch: Vec<NewMessage> = (0..long)
        .map(|i| {
            support::seed::user_message(&big, &agent, format!("long conversation message {i}"))
        })
        .collect();
    store.append_messages(&batch).unwrap();
    drop(store);
    // Conversations written in one transaction: newest first is "conversation number 0".
    let mut db = rusqlite::Connection::open(sb.db()).unwrap();
    let tx = db.transaction().unwrap();
    let base = chrono::Utc::now() - chrono::Duration::minutes(5);
    let mut msgs = Vec::new();
    for i in 0..convs {
        let id = format!("conv-bench-{i:05}");
        let at = (base - chrono::Duration::seconds(i as i64))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let summary = format!("conversation number {i}");
        support::seed::insert_conversation(&tx, &id, &agent, &summary, &at);
        msgs.push(support::seed::user_message(
            &id,
            &agent,
            format!("question {i}."),
        ));
    }
    tx.commit().unwrap();
    drop(db);
    Store::open(&sb.db())
        .unwrap()
        .append_messages(&msgs)
        .unwrap();

    let p = Pty::spawn(
        bin,
        &["--agent", &agent, "-m", "openai/gpt-test"],
        sb.project.path(),
        &env_of(sb, &[]),
        100,
        30,
    );
    p.wait_for("first frame", ready);
    let (mut first, mut listed) = (Vec::new(), Vec::new());
    for _ in 0..if full { 15 } else { 2 } {
        p.send("/resume");
        p.wait_for("the command popup", |s| {
            s.contains("Browse conversations and switch")
        });
        let t = Instant::now();
        p.send("\r");
        p.wait_for("the browser", |s| {
            s.contains("Resume a previous conversation")
        });
        first.push(t.elapsed());
        p.wait_for("the first rows", |s| s.contains("conversation number 0  ("));
        listed.push(t.elapsed());
        p.send("\x1b");
        p.wait_for("the chat", |s| {
            !s.contains("Resume a previous conversation") && ready(s)
        });
    }
    first.sort();
    listed.sort();
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    row(
        &format!("/resume, {convs} conversations: key → first frame"),
        ms(first[first.len() / 2]),
        "< 30 ms",
    );
    row(
        "  key → frame listing them (median)",
        ms(listed[listed.len() / 2]),
        "",
    );

    // Switch: Enter on `/resume ID` to the frame that shows its newest message (the last of
    // the 50 drawn), alternating between the long conversation and a short one.
    let mut switch = Vec::new();
    for i in 0..if full { 10 } else { 2 } {
        let (to, last) = if i % 2 == 0 {
            (
                big.clone(),
                format!("long conversation message {}", long - 1),
            )
        } else {
            ("conv-bench-00001".to_string(), "question 1.".to_string())
        };
        let cmd = format!("/resume {to}");
        p.send(&cmd);
        p.wait_for("the typed command", |s| s.contains(&cmd));
        let seen = p.raw().matches(&last).count();
        let t = Instant::now();
        p.send("\r");
        p.wait_for_raw("the switch", |s| s.matches(&last).count() > seen);
        if i % 2 == 0 {
            switch.push(t.elapsed());
        }
    }
    switch.sort();
    row(
        &format!("switch to a {long}-message conversation → frame"),
        ms(switch[switch.len() / 2]),
        "< 100 ms",
    );
}
