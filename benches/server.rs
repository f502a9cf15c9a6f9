//! `letta server` under load: the real binary against a scripted model, driven through the
//! remote client. Turns per second at 1/8/32/128 clients, the server's CPU per streamed token,
//! and its RSS over 1,000 turns of 20,000 tokens (it must stay flat).
//!
//! `cargo bench --bench server`; to measure the release build, point `LETTA_BIN` at a copy of
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

use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use letta::backend::Backend;
use letta::protocol::*;
use letta::remote::RemoteClient;
use support::bin::Sandbox;
use support::llm::ScriptedLlm;
use support::procstat::{cpu, rss_mib};

/// One turn in a new conversation; the number of assistant chunks streamed back.
async fn turn(client: &RemoteClient, agent: &str, tokens: usize) -> usize {
    let conv = client
        .create_conversation(agent, CreateConversation::default())
        .await
        .unwrap()
        .id;
    let req = SendMessageRequest {
        messages: Some(vec![MessageCreate::user(format!("TOKENS:{tokens}"))]),
        ..Default::default()
    };
    let mut s = client.send_message(&conv, req).await.unwrap();
    let mut n = 0;
    while let Some(ch) = s.next().await {
        if matches!(ch.unwrap(), LettaMessage::Assistant(_)) {
            n += 1;
        }
    }
    n
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let server = sb.start_server(&[]);
    let pid = server.child.id();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let client = Arc::new(RemoteClient::new(&server.url, None));
    let agent = rt.block_on(async {
        client
            .create_agent(CreateAgent {
                model: Some("openai/gpt-test".into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .id
    });
    println!(
        "| {:<46} | {:>16} | {:<16} |",
        "letta server", "result", "goal"
    );
    println!("|{}|{}|{}|", "-".repeat(48), "-".repeat(18), "-".repeat(18));

    // Throughput: short turns (50 tokens) from N clients at once.
    for clients in [1, 8, 32, 128] {
        let per = if full { (400 / clients).max(2) } else { 1 };
        let t = Instant::now();
        let done: usize = rt.block_on(async {
            let mut tasks = Vec::new();
            for _ in 0..clients {
                let (c, a) = (client.clone(), agent.clone());
                tasks.push(tokio::spawn(async move {
                    for _ in 0..per {
                        turn(&c, &a, 50).await;
                    }
                    per
                }));
            }
            let mut n = 0;
            for t in tasks {
                n += t.await.unwrap();
            }
            n
        });
        let secs = t.elapsed().as_secs_f64();
        println!(
            "| {:<46} | {:>16} | {:<16} |",
            format!("{clients} clients: turns/s ({done} turns of 50 tokens)"),
            format!("{:.0}", done as f64 / secs),
            "2× 76 at 8"
        );
    }

    // CPU per token: 20k-token turns, one at a time.
    let (turns, tokens) = if full { (10, 20_000) } else { (1, 500) };
    let c = cpu(pid);
    let mut streamed = 0;
    for _ in 0..turns {
        streamed += rt.block_on(turn(&client, &agent, tokens));
    }
    // Per token the model sent: the server merges tokens that arrive together into one chunk.
    let per_token = (cpu(pid) - c).as_secs_f64() * 1e6 / (turns * tokens) as f64;
    assert!(streamed >= turns, "every turn streamed text");
    println!(
        "| {:<46} | {:>16} | {:<16} |",
        format!("server CPU per model token ({turns}×{tokens}, {streamed} chunks)"),
        format!("{per_token:.2} µs"),
        "≤ 4 µs"
    );

    // Memory over many long turns.
    let total = if full { 1000 } else { 3 };
    let mut marks = Vec::new();
    for i in 1..=total {
        rt.block_on(turn(&client, &agent, tokens));
        if i == 1 || i % (total / 4).max(1) == 0 {
            marks.push((i, rss_mib(pid)));
        }
    }
    let peak = marks.iter().map(|m| m.1).fold(0.0, f64::max);
    println!(
        "| {:<46} | {:>16} | {:<16} |",
        format!("RSS over {total} turns of {tokens} tokens"),
        marks
            .iter()
            .map(|(i, r)| format!("{i}:{r:.0}"))
            .collect::<Vec<_>>()
            .join(" "),
        "flat, ≤ 64 MiB"
    );
    println!(
        "| {:<46} | {:>16} | {:<16} |",
        "  peak",
        format!("{peak:.1} MiB"),
        ""
    );
}
