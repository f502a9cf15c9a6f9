//! What the extension points cost: an empty hook on each tool call, and a subagent's start.
//! - hooks: `Hooks::fire` with one `true` command hook, and a whole `-p` turn with ten Read
//!   calls with and without a PreToolUse and a PostToolUse hook on every call;
//! - subagents: from a Task call's start to its subagent's first streamed chunk (its
//!   conversation made, its turn sent, the model's first bytes back), from stream-json's
//!   timestamps (millisecond resolution).
//!
//! `cargo bench --bench extend`; under `cargo test` a small smoke run. Prints a table.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::pedantic
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::bin::Sandbox;
use support::llm::{Reply, ScriptedLlm};

fn row(name: &str, value: String) {
    println!("| {name:<52} | {value:>12} |");
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn reads(n: usize) -> Reply {
    Reply::Tools {
        text: String::new(),
        calls: (0..n)
            .map(|i| {
                (
                    format!("r{i}"),
                    "Read".into(),
                    json!({"file_path": "a.txt"}).to_string(),
                )
            })
            .collect(),
    }
}

/// One `-p` turn whose first reply is `first`, then "ok".
fn turn(llm: &ScriptedLlm, sb: &Sandbox, first: Reply) -> Duration {
    llm.push([first, Reply::Text("ok".into())]);
    let t = Instant::now();
    let o = sb.run(&["-p", "go", "-m", "openai/gpt-test"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    t.elapsed()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let runs = if full { 15 } else { 1 };
    println!("| {:<52} | {:>12} |", "extension point", "median");
    println!("|{}|{}|", "-".repeat(54), "-".repeat(14));

    // One empty hook, in process.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let settings =
        json!({"hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "true"}]}]}});
    let hooks =
        letta::hooks::Hooks::load(&[(dir.path().join("s.json"), Some(&settings))], dir.path());
    let fires: Vec<Duration> = (0..runs * 10)
        .map(|_| {
            let t = Instant::now();
            let o =
                rt.block_on(hooks.fire(letta::hooks::Event::PreToolUse, Some("Read"), json!({})));
            assert!(o.notes.is_empty(), "{o:?}");
            t.elapsed()
        })
        .collect();
    row("one empty hook (`true`), fired", ms(median(fires)));

    // Ten Read calls per turn, without and with a Pre and a Post hook on each.
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    std::fs::write(sb.project.path().join("a.txt"), "alpha\n").unwrap();
    // Every phase has the same settings but its hooks, so each turn does the same work.
    sb.settings(json!({"defaultModel": "openai/gpt-test"}));
    // A first turn (answered by the model's echo) creates the agent and its conversation.
    assert!(
        sb.run(&["-p", "warm", "-m", "openai/gpt-test"])
            .status
            .success()
    );
    // Interleaved, so the conversation's growth weighs on both sides alike.
    let no_hooks = json!({"defaultModel": "openai/gpt-test"});
    let with_hooks = json!({"defaultModel": "openai/gpt-test", "hooks": {
        "PreToolUse": [{"hooks": [{"type": "command", "command": "true"}]}],
        "PostToolUse": [{"hooks": [{"type": "command", "command": "true"}]}]}});
    let (mut plain, mut hooked) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        sb.settings(no_hooks.clone());
        plain.push(turn(&llm, &sb, reads(10)));
        sb.settings(with_hooks.clone());
        hooked.push(turn(&llm, &sb, reads(10)));
    }
    let (p, h) = (median(plain), median(hooked));
    row("turn with 10 Read calls, no hooks", ms(p));
    row("same, PreToolUse + PostToolUse empty hooks", ms(h));
    row("  added per tool call", ms(h.saturating_sub(p) / 10));

    // A subagent's start: from the Task call's start to its subagent's first streamed
    // chunk (its conversation made, its turn sent, the model's first bytes back), read off
    // the stream-json timestamps.
    sb.settings(no_hooks);
    let stamp = |v: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(v["timestamp"].as_str().unwrap_or("")).unwrap()
    };
    let mut starts = Vec::new();
    for i in 0..runs {
        llm.push_for(&format!("sub-{i}:"), [Reply::Text("done".into())]);
        llm.push([
            Reply::Tools {
                text: String::new(),
                calls: vec![(
                    format!("t{i}"),
                    "Task".into(),
                    json!({"description": "quick", "prompt": format!("sub-{i}: answer"), "subagent_type": "explore"}).to_string(),
                )],
            },
            Reply::Text("ok".into()),
        ]);
        let o = sb.run(&[
            "-p",
            "go",
            "-m",
            "openai/gpt-test",
            "--output-format",
            "stream-json",
        ]);
        let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let id = format!("t{i}");
        let began = lines
            .iter()
            .find(|v| {
                v["type"] == "tool_execution_started"
                    && v["tool_call"]["tool_call_id"] == id.as_str()
            })
            .map(stamp)
            .unwrap_or_else(|| panic!("no start line in:\n{}", String::from_utf8_lossy(&o.stdout)));
        let first = lines
            .iter()
            .find(|v| v["parent_tool_call_id"] == id.as_str())
            .map(stamp)
            .unwrap_or_else(|| {
                panic!(
                    "no subagent line in:\n{}",
                    String::from_utf8_lossy(&o.stdout)
                )
            });
        starts.push((first - began).to_std().unwrap_or_default());
    }
    row(
        "a subagent's start: Task call → its first chunk",
        ms(median(starts)),
    );
}
