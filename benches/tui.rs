//! The chat view measured through the real binary in a PTY (screen kept by vt100):
//! start to first frame, idle RSS, a 20,000-token reply (time and the UI process's CPU),
//! and typing latency on a 5,000-message conversation.
//! `cargo bench --bench tui`; under `cargo test` a small smoke run.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use letta::local::store::{NewMessage, Store};
use support::bin::Sandbox;
use support::llm::{Reply, ScriptedLlm};
use support::pty::Pty;

fn row(name: &str, value: String, target: &str) {
    println!("| {name:<48} | {value:>12} | {target:<10} |");
}

/// utime + stime of a process.
fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // Fields 14 and 15 of stat; `after` starts at field 3 (state, not numeric, skipped).
    let ticks = f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
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
}
