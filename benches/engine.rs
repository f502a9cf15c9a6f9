//! Engine and startup benchmarks; prints a table. `cargo bench --bench engine` runs the full
//! sizes; under `cargo test` it runs a quick smoke pass so the code stays working.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::pedantic
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use letta::backend::Backend;
use letta::llm::ProviderRegistry;
use letta::local::Engine;
use letta::local::store::{NewMessage, Store};
use letta::protocol::*;
use support::provider::InstantTokens;

fn msg(conv: &str, agent: &str, i: usize, words: &[&str]) -> NewMessage {
    let text = format!(
        "message {i} about {} and {} with {}",
        words[i % words.len()],
        words[(i * 7) % words.len()],
        words[(i * 13) % words.len()]
    );
    support::seed::user_message(conv, agent, text)
}

const WORDS: &[&str] = &[
    "rust", "sqlite", "tokio", "parser", "terminal", "memory", "agent", "fork", "stream", "cancel",
    "python", "deploy", "docker", "kernel", "compiler", "borrow", "lifetime", "trait", "closure",
    "iterator",
];

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn row(name: &str, value: String, target: &str) {
    println!("| {name:<44} | {value:>16} | {target:<12} |");
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let scale = if full { 1 } else { 100 };
    let dir = tempfile::tempdir().unwrap();
    println!(
        "| {:<44} | {:>16} | {:<12} |",
        "benchmark", "result", "target"
    );
    println!("|{}|{}|{}|", "-".repeat(46), "-".repeat(18), "-".repeat(14));

    let mut store = Store::open(&dir.path().join("bench.db")).unwrap();
    let agent = store
        .create_agent(Default::default(), Vec::new(), Vec::new())
        .unwrap();
    let conv = store.create_conversation(&agent.id, None, None).unwrap();

    // Append 10k messages, one transaction per message (as the engine writes a step).
    let n = 10_000 / scale;
    let batch: Vec<NewMessage> = (0..n).map(|i| msg(&conv.id, &agent.id, i, WORDS)).collect();
    let t = Instant::now();
    for m in &batch {
        store.append_messages(std::slice::from_ref(m)).unwrap();
    }
    let per_s = n as f64 / t.elapsed().as_secs_f64();
    row(
        &format!("append {n} messages, 1 tx each"),
        format!("{per_s:.0}/s"),
        ">= 20k/s",
    );
    let batch: Vec<NewMessage> = (0..n).map(|i| msg(&conv.id, &agent.id, i, WORDS)).collect();
    let t = Instant::now();
    store.append_messages(&batch).unwrap();
    row(
        &format!("append {n} messages, 1 tx"),
        format!("{:.0}/s", n as f64 / t.elapsed().as_secs_f64()),
        ">= 20k/s",
    );

    // List the last 50 of a 100k-message conversation.
    let big = store.create_conversation(&agent.id, None, None).unwrap();
    let n = 100_000 / scale;
    for chunk in (0..n).collect::<Vec<_>>().chunks(5000) {
        let b: Vec<NewMessage> = chunk
            .iter()
            .map(|&i| msg(&big.id, &agent.id, i, WORDS))
            .collect();
        store.append_messages(&b).unwrap();
    }
    let times: Vec<Duration> = (0..200)
        .map(|_| {
            let t = Instant::now();
            let page = store
                .list_messages(&big.id, &ListParams::latest(50))
                .unwrap();
            let _: Vec<LettaMessage> = page.iter().map(|r| r.decode()).collect();
            t.elapsed()
        })
        .collect();
    row(
        &format!("list last 50 of {n} (decoded), median"),
        format!("{:.3} ms", median(times).as_secs_f64() * 1e3),
        "< 2 ms",
    );

    // Page through 100k conversations, newest activity first (what /resume shows): the first
    // page, and one half-way down through its cursor, cost the same (an index, no sort).
    let n = 100_000 / scale;
    {
        let tx = store.conn().unchecked_transaction().unwrap();
        for i in 0..n {
            let at = format!("2026-01-01T00:00:00.{i:06}Z");
            let (id, summary) = (format!("conv-page-{i:06}"), format!("conversation {i}"));
            support::seed::insert_conversation(&tx, &id, &agent.id, &summary, &at);
        }
        tx.commit().unwrap();
    }
    let by_activity = |after: Option<String>| ListParams {
        limit: Some(50),
        after,
        order_by: Some("last_message_at".into()),
        ..Default::default()
    };
    let deep = format!("conv-page-{:06}", n / 2);
    let deep_name = format!("page {} rows deep", n / 2);
    for (name, after) in [("first page", None), (deep_name.as_str(), Some(deep))] {
        let times: Vec<Duration> = (0..50)
            .map(|_| {
                let t = Instant::now();
                let page = store
                    .list_conversations(Some(&agent.id), None, &by_activity(after.clone()))
                    .unwrap();
                assert_eq!(page.len(), 50);
                t.elapsed()
            })
            .collect();
        row(
            &format!("{n} conversations by activity: {name}"),
            format!("{:.3} ms", median(times).as_secs_f64() * 1e3),
            "< 30 ms",
        );
    }

    // Fork a 10k-message conversation.
    let src = store.create_conversation(&agent.id, None, None).unwrap();
    let n = 10_000 / scale;
    let b: Vec<NewMessage> = (0..n).map(|i| msg(&src.id, &agent.id, i, WORDS)).collect();
    store.append_messages(&b).unwrap();
    let times: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            store
                .fork_conversation(&src, None, |id| {
                    format!(
                        "{{\"id\":\"{id}\",\"message_type\":\"system_message\",\"content\":\"s\"}}"
                    )
                })
                .unwrap();
            t.elapsed()
        })
        .collect();
    row(
        &format!("fork a {n}-message conversation, median"),
        format!("{:.1} ms", median(times).as_secs_f64() * 1e3),
        "< 50 ms",
    );

    // Full-text search over 1M messages.
    let n = 1_000_000 / scale;
    let count = |st: &Store| -> usize {
        st.conn()
            .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get::<_, i64>(0))
            .unwrap() as usize
    };
    let have = count(&store);
    let t = Instant::now();
    let more = n.saturating_sub(have);
    for chunk in (0..more).collect::<Vec<_>>().chunks(10_000) {
        let b: Vec<NewMessage> = chunk
            .iter()
            .map(|&i| msg(&big.id, &agent.id, i + 7, WORDS))
            .collect();
        store.append_messages(&b).unwrap();
    }
    let fill = t.elapsed();
    let queries = [
        "rust",
        "sqlite fork",
        "borrow",
        "kernel",
        "agent",
        "closure",
        "deploy",
        "message 4242",
    ];
    let times: Vec<Duration> = (0..40)
        .map(|i| {
            let t = Instant::now();
            let hits = store
                .search_messages(Some(&agent.id), queries[i % queries.len()], 20)
                .unwrap();
            assert!(!hits.is_empty(), "{}", queries[i % queries.len()]);
            t.elapsed()
        })
        .collect();
    let total = count(&store);
    row(
        &format!("search over {}k messages (limit 20), p50", total / 1000),
        format!("{:.2} ms", median(times).as_secs_f64() * 1e3),
        "< 20 ms",
    );
    println!(
        "  (filling {more} messages with FTS indexing took {:.1} s)",
        fill.as_secs_f64()
    );
    drop(store);

    // Engine cost per token: an instant in-process provider, through the engine. Deltas that
    // arrive together are merged into one chunk; paced ones go out one chunk each.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let tokens = 20_000 / scale;
    for paced in [false, true] {
        let mut reg = ProviderRegistry::default();
        reg.insert("mem", Arc::new(InstantTokens { n: tokens, paced }));
        let engine = Engine::new(
            Store::open(&dir.path().join(format!("stream-{paced}.db"))).unwrap(),
            reg,
            Some("mem/x".into()),
        );
        let (per_token, chunks) = rt.block_on(async {
            let a = engine.create_agent(CreateAgent::default()).await.unwrap();
            let c = engine
                .create_conversation(&a.id, CreateConversation::default())
                .await
                .unwrap();
            let mut best = (Duration::MAX, 0);
            for _ in 0..3 {
                let req = SendMessageRequest {
                    messages: Some(vec![MessageCreate::user("go")]),
                    ..Default::default()
                };
                let t = Instant::now();
                let mut s = engine.send_message(&c.id, req).await.unwrap();
                let (mut n, mut text) = (0usize, 0usize);
                while let Some(ch) = s.next().await {
                    if let LettaMessage::Assistant(a) = ch.unwrap() {
                        n += 1;
                        text += a.content.to_text().len();
                    }
                }
                assert!(text >= tokens * 3, "the whole reply came back");
                if paced {
                    assert_eq!(n, tokens, "paced deltas are not merged");
                }
                best = best.min((t.elapsed() / tokens as u32, n));
            }
            best
        });
        row(
            &if paced {
                format!("engine per token, one chunk each ({tokens})")
            } else {
                format!("engine per token, merged ({tokens} in {chunks} chunks)")
            },
            format!("{:.2} µs", per_token.as_secs_f64() * 1e6),
            "< 20 µs",
        );
    }

    // `letta --version`: wall time and peak memory of the real (release) binary.
    let exe = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/letta");
    if full && exe.exists() {
        let times: Vec<Duration> = (0..50)
            .map(|_| {
                let t = Instant::now();
                let o = std::process::Command::new(&exe)
                    .arg("--version")
                    .output()
                    .unwrap();
                assert!(o.status.success());
                t.elapsed()
            })
            .collect();
        row(
            "letta --version, median wall",
            format!("{:.2} ms", median(times).as_secs_f64() * 1e3),
            "< 5 ms",
        );
        if let Ok(o) = std::process::Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(&exe)
            .arg("--version")
            .output()
        {
            let kb: String = String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_string();
            row("letta --version, peak RSS", format!("{kb} KB"), "< 10 MB");
        }
    } else if full {
        println!("  (build target/release/letta first to measure --version)");
    }
}
