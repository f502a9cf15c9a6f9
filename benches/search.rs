//! Finding a conversation by what was said in it: the `/resume` search from the query to the
//! drawn list (the engine's full-text search, the hits grouped per conversation, the browser
//! drawn at 100x30), over 100,000 and 1,000,000 messages in 1,000 conversations. The pause
//! the browser waits while the user types is not counted. Prints a table.
//! `cargo bench --bench search`; under `cargo test` a small smoke run.

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

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use letta::backend::Backend;
use letta::llm::ProviderRegistry;
use letta::local::Engine;
use letta::local::store::{NewMessage, Store};
use letta::session::Session;
use letta::ui::tui::overlay::{self, Data, Env, Fetch, Open, Overlay, Req};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const WORDS: &[&str] = &[
    "rust", "sqlite", "tokio", "parser", "terminal", "memory", "agent", "fork", "stream", "cancel",
    "python", "deploy", "docker", "kernel", "compiler", "borrow", "lifetime", "trait", "closure",
    "iterator", "harbour", "ferry", "berth", "tide",
];

fn text(i: usize) -> String {
    let w = |k: usize| WORDS[(i * k + k) % WORDS.len()];
    // A rare word in one message of ten thousand.
    let rare = if i % 10_000 == 17 { " zanzibar" } else { "" };
    format!(
        "message {i} about {} and {} with {}{rare}",
        w(1),
        w(7),
        w(13)
    )
}

fn fill(path: &std::path::Path, total: usize) -> Session {
    let mut st = Store::open(path).unwrap();
    let agent = st
        .create_agent(Default::default(), Vec::new(), Vec::new())
        .unwrap();
    let convs: Vec<String> = (0..1000)
        .map(|i| {
            st.create_conversation(&agent.id, Some(&format!("task {i}")), None)
                .unwrap()
                .id
        })
        .collect();
    for chunk in (0..total).collect::<Vec<_>>().chunks(20_000) {
        let b: Vec<NewMessage> = chunk
            .iter()
            .map(|&i| support::seed::user_message(&convs[i % convs.len()], &agent.id, text(i)))
            .collect();
        st.append_messages(&b).unwrap();
    }
    Session {
        agent_id: agent.id,
        conversation_id: convs[0].clone(),
    }
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn pct(mut v: Vec<Duration>, p: usize) -> f64 {
    v.sort();
    v[(v.len() * p / 100).min(v.len() - 1)].as_secs_f64() * 1e3
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if full {
        &[100_000, 1_000_000]
    } else {
        &[2_000]
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "| {:<46} | {:>9} | {:>9} | {:<8} |",
        "/resume search, query to drawn list", "p50", "p95", "target"
    );
    println!(
        "|{}|{}|{}|{}|",
        "-".repeat(48),
        "-".repeat(11),
        "-".repeat(11),
        "-".repeat(10)
    );
    for &n in sizes {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("search.db");
        let t = Instant::now();
        let session = fill(&db, n);
        let filled = t.elapsed();
        let engine: Arc<dyn Backend> = Arc::new(Engine::new(
            Store::open(&db).unwrap(),
            ProviderRegistry::default(),
            None,
        ));
        let env = Env {
            backend: engine,
            session: session.clone(),
            settings_file: dir.path().join("settings.json"),
        };
        let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
        let queries = [
            "zanzibar",
            "ferry",
            "compiler",
            "harbour",
            "borrow closure",
            "message 4242",
        ];
        let times: Vec<Duration> = rt.block_on(async {
            let mut times = Vec::new();
            for _ in 0..if full { 10 } else { 2 } {
                for q in queries {
                    let (mut o, reqs) = Overlay::open(Open::Resume, &session);
                    for r in reqs {
                        if let Req::Fetch(f) = r {
                            let d = overlay::fetch(&env, f).await;
                            o.apply(d);
                        }
                    }
                    let mut find = None;
                    for c in q.chars() {
                        for r in o.key(key(c)) {
                            if let Req::FetchLater(f) = r {
                                find = Some(f);
                            }
                        }
                    }
                    let f = find.expect("typing asks for a search");
                    assert!(matches!(f, Fetch::Find(_)));
                    let t = Instant::now();
                    let d = overlay::fetch(&env, f).await;
                    if let Data::Found { hits: Ok(h), .. } = &d {
                        assert!(q != "zanzibar" || !h.hits.is_empty(), "{q}");
                    }
                    o.apply(d);
                    term.draw(|f| o.draw(f)).unwrap();
                    times.push(t.elapsed());
                    let screen = term.backend().to_string();
                    assert!(screen.contains("Search: "), "{screen}");
                }
            }
            times
        });
        println!(
            "| {:<46} | {:>6.1} ms | {:>6.1} ms | {:<8} |",
            format!("{}k messages, 1,000 conversations", n / 1000),
            pct(times.clone(), 50),
            pct(times, 95),
            "< 50 ms"
        );
        println!(
            "  (writing {n} messages with their index took {:.1} s)",
            filled.as_secs_f64()
        );
    }
}
