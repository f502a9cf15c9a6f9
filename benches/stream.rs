//! Issue 16's table, measured through the real binary in a PTY (screen kept by vt100) against
//! a scripted model that streams as fast as it can, on both backends: the embedded engine, and
//! `letta server` in its own process. Launch to prompt, RSS, a 20k-token reply (wall, the UI
//! process's CPU, RSS after), linearity over 2k/20k/200k tokens, a 200k-word reply with no
//! paragraph break, idle wake-ups, `--version` and the binary's size.
//!
//! `cargo bench --bench stream`; to measure the release build, point `LETTA_BIN` at a copy of
//! it (cargo bench rebuilds target/release/letta with the bench profile). Under `cargo test`
//! a small smoke run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::pedantic
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::bin::{Sandbox, letta};
use support::llm::{Reply, ScriptedLlm};
use support::procstat::{cpu, rss_mib, wakeups};
use support::pty::Pty;

fn ready(s: &str) -> bool {
    s.contains("↑0 ↓0") && s.contains('›')
}

/// A reply of about `tokens` streamed chunks, a line break every `line` words (0: none),
/// ending with a marker no earlier reply has (a resumed conversation shows the last ones).
fn reply(tokens: usize, line: usize) -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    // The scripted model sends four characters per chunk.
    let mut s = String::with_capacity(tokens * 4 + 16);
    let mut i = 0;
    while s.len() < tokens * 4 {
        s.push_str(&format!("w{i}"));
        i += 1;
        s.push(if line > 0 && i % line == 0 { '\n' } else { ' ' });
    }
    s + &format!("END-OF-REPLY-{n}.")
}

struct Turn {
    wall: Duration,
    cpu: Duration,
    rss_after: f64,
}

/// Send a prompt and wait for the reply's last word, with the turn over.
fn turn(llm: &ScriptedLlm, p: &Pty, text: String) -> Turn {
    let pid = p.pid().unwrap();
    let marker = text[text.rfind("END-OF-REPLY").unwrap()..].to_string();
    llm.push([Reply::Text(text)]);
    let (t, c) = (Instant::now(), cpu(pid));
    p.send("go\r");
    p.wait_for("the last token", |s| {
        s.contains(&marker) && !s.contains("esc to interrupt")
    });
    let wall = t.elapsed();
    let cpu = cpu(pid) - c;
    Turn {
        wall,
        cpu,
        rss_after: rss_mib(pid),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Each figure's median over `runs`.
fn median_turn(runs: Vec<Turn>) -> Turn {
    let mut rss: Vec<f64> = runs.iter().map(|t| t.rss_after).collect();
    rss.sort_by(f64::total_cmp);
    Turn {
        wall: median(runs.iter().map(|t| t.wall).collect()),
        cpu: median(runs.iter().map(|t| t.cpu).collect()),
        rss_after: rss[rss.len() / 2],
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

struct Column {
    launch: Duration,
    rss_prompt: f64,
    idle: (Duration, u64),
    t20k: Turn,
    sizes: Vec<(usize, Turn)>,
    nobreak: Option<Turn>,
}

/// One backend's column: `remote` runs the engine in `letta server`.
fn column(full: bool, remote: bool) -> Column {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    assert!(
        sb.run(&["-p", "hi", "-m", "openai/gpt-test"])
            .status
            .success()
    );
    let server = remote.then(|| sb.start_server(&[]));
    let mut env = sb.env.clone();
    env.push(("LETTA_HOME".into(), sb.home.path().display().to_string()));
    if let Some(s) = &server {
        env.push(("LETTA_BASE_URL".into(), s.url.clone()));
    }
    let spawn = || Pty::spawn(&letta(), &[], sb.project.path(), &env, 120, 40);
    // A new conversation: the long replies before it are not sent to the model again.
    let spawn_new = || Pty::spawn(&letta(), &["--new"], sb.project.path(), &env, 120, 40);
    let mut launches = Vec::new();
    let mut rss_prompt = 0.0;
    for _ in 0..if full { 9 } else { 1 } {
        let t = Instant::now();
        let p = spawn();
        p.wait_for("the prompt", ready);
        launches.push(t.elapsed());
        rss_prompt = rss_mib(p.pid().unwrap());
    }
    let p = spawn();
    p.wait_for("the prompt", ready);
    let pid = p.pid().unwrap();
    // Settled, then 5 s at the prompt with nothing happening.
    std::thread::sleep(Duration::from_millis(500));
    let (c, w) = (cpu(pid), wakeups(pid));
    std::thread::sleep(Duration::from_secs(if full { 5 } else { 1 }));
    let idle = (cpu(pid) - c, wakeups(pid) - w);

    let scale = if full { 1 } else { 100 };
    // A warm-up turn, then the median of 5 processes each answering 20k tokens in a new
    // conversation (a loaded 2-core machine makes one run noisy).
    turn(&llm, &p, reply(2_000 / scale, 10));
    let runs: Vec<Turn> = (0..if full { 5 } else { 1 })
        .map(|_| {
            let q = spawn_new();
            q.wait_for("the prompt", ready);
            turn(&llm, &q, reply(20_000 / scale, 10))
        })
        .collect();
    let t20k = median_turn(runs);
    let mut sizes = Vec::new();
    for n in [2_000, 20_000, 200_000] {
        // Each run in a fresh process, so RSS after is that turn's; the median of 3.
        let runs: Vec<Turn> = (0..if full { 3 } else { 1 })
            .map(|_| {
                let q = spawn_new();
                q.wait_for("the prompt", ready);
                turn(&llm, &q, reply(n / scale, 10))
            })
            .collect();
        sizes.push((n, median_turn(runs)));
    }
    let nobreak = full.then(|| {
        let q = spawn_new();
        q.wait_for("the prompt", ready);
        turn(&llm, &q, reply(200_000 * 6 / 4, 0))
    });
    drop(server);
    Column {
        launch: median(launches),
        rss_prompt,
        idle,
        t20k,
        sizes,
        nobreak,
    }
}

fn row(name: &str, a: String, b: String, goal: &str) {
    println!("| {name:<44} | {a:>14} | {b:>14} | {goal:<22} |");
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let bin = letta();
    let mut version = Vec::new();
    for _ in 0..if full { 50 } else { 3 } {
        let t = Instant::now();
        assert!(
            std::process::Command::new(&bin)
                .arg("--version")
                .output()
                .unwrap()
                .status
                .success()
        );
        version.push(t.elapsed());
    }
    let mut truth = Vec::new();
    for _ in 0..if full { 50 } else { 3 } {
        let t = Instant::now();
        std::process::Command::new("true").status().unwrap();
        truth.push(t.elapsed());
    }
    let size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;

    let e = column(full, false);
    let r = column(full, true);
    println!("binary: {bin}");
    println!(
        "| {:<44} | {:>14} | {:>14} | {:<22} |",
        "", "embedded", "remote", "goal"
    );
    println!(
        "|{}|{}|{}|{}|",
        "-".repeat(46),
        "-".repeat(16),
        "-".repeat(16),
        "-".repeat(24)
    );
    row(
        "launch → prompt (median)",
        ms(e.launch),
        ms(r.launch),
        "≤ 25 ms",
    );
    let mib = |v: f64| format!("{v:.1} MiB");
    row(
        "RSS at prompt",
        mib(e.rss_prompt),
        mib(r.rss_prompt),
        "≤ 10 MiB",
    );
    row(
        "20k-token reply: Enter → last token (median)",
        ms(e.t20k.wall),
        ms(r.t20k.wall),
        "≤ 150 ms",
    );
    row(
        "  CPU of the letta process",
        ms(e.t20k.cpu),
        ms(r.t20k.cpu),
        "≤ 80 ms",
    );
    row(
        "  RSS after it",
        mib(e.t20k.rss_after),
        mib(r.t20k.rss_after),
        "≤ 18 MiB",
    );
    for ((n, a), (_, b)) in e.sizes.iter().zip(&r.sizes) {
        row(
            &format!("{n} tokens: wall / per 1k (median of 3)"),
            format!(
                "{} / {:.1}",
                ms(a.wall),
                a.wall.as_secs_f64() * 1e6 / *n as f64
            ),
            format!(
                "{} / {:.1}",
                ms(b.wall),
                b.wall.as_secs_f64() * 1e6 / *n as f64
            ),
            "linear (±10%)",
        );
        row(
            "  RSS after it",
            mib(a.rss_after),
            mib(b.rss_after),
            "≤ 25 MiB at 200k",
        );
    }
    // Linear with a fixed start-up part: the cost of each further 1k tokens.
    let marginal = |c: &Column| {
        let w: Vec<f64> = c.sizes.iter().map(|(_, t)| t.wall.as_secs_f64()).collect();
        let n: Vec<f64> = c.sizes.iter().map(|(n, _)| *n as f64).collect();
        format!(
            "{:.1} / {:.1}",
            (w[1] - w[0]) * 1e6 / (n[1] - n[0]),
            (w[2] - w[1]) * 1e6 / (n[2] - n[1])
        )
    };
    row(
        "  ms per further 1k: 2k→20k / 20k→200k",
        marginal(&e),
        marginal(&r),
        "within 10%",
    );
    if let (Some(a), Some(b)) = (&e.nobreak, &r.nobreak) {
        row(
            "200k words, no paragraph break: wall",
            ms(a.wall),
            ms(b.wall),
            "linear",
        );
        row("  RSS after it", mib(a.rss_after), mib(b.rss_after), "");
    }
    row(
        "idle at the prompt: CPU / wake-ups",
        format!("{} / {}", ms(e.idle.0), e.idle.1),
        format!("{} / {}", ms(r.idle.0), r.idle.1),
        "0 / 0",
    );
    row(
        "--version (median; /bin/true)",
        ms(median(version)),
        ms(median(truth)),
        "≤ 2.5 ms",
    );
    row("binary size", mib(size), String::new(), "≤ 12 MiB");
}
