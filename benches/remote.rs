//! A 20,000-token stream from `letta server` to the remote backend: wall time, and the client's
//! CPU time per 1k tokens (the client runs alone on one thread; that thread's CPU clock is it).
//! `cargo bench --bench remote`; under `cargo test` a 500-token smoke run.

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
use letta::local::store::Store;
use letta::protocol::*;
use letta::remote::RemoteClient;
use support::provider::InstantTokens;

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let tokens = if full { 20_000 } else { 500 };
    let dir = tempfile::tempdir().unwrap();
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut reg = ProviderRegistry::default();
    // Paced: one chunk per token, the stream whose decoding this measures.
    reg.insert(
        "mem",
        Arc::new(InstantTokens {
            n: tokens,
            paced: true,
        }),
    );
    let engine = Arc::new(Engine::new(
        Store::open(&dir.path().join("db")).unwrap(),
        reg,
        Some("mem/x".into()),
    ));
    let url = server_rt.block_on(async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let app = letta::server::router(engine, None);
        tokio::spawn(async move { axum::serve(l, app).await });
        format!("http://{addr}")
    });
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = RemoteClient::new(&url, None);
    let conv = client_rt.block_on(async {
        let a = client.create_agent(CreateAgent::default()).await.unwrap();
        client
            .create_conversation(&a.id, CreateConversation::default())
            .await
            .unwrap()
            .id
    });
    println!("| {:<40} | {:>12} |", "remote stream", "result");
    println!("|{}|{}|", "-".repeat(42), "-".repeat(14));
    let mut best: Option<(Duration, Duration)> = None;
    for _ in 0..if full { 3 } else { 1 } {
        let (wall, cpu) = client_rt.block_on(async {
            let (t, c) = (Instant::now(), thread_cpu());
            let req = SendMessageRequest {
                messages: Some(vec![MessageCreate::user("go")]),
                ..Default::default()
            };
            let mut s = client.send_message(&conv, req).await.unwrap();
            let mut n = 0;
            while let Some(ch) = s.next().await {
                if matches!(ch.unwrap(), LettaMessage::Assistant(_)) {
                    n += 1;
                }
            }
            assert_eq!(n, tokens);
            (t.elapsed(), thread_cpu() - c)
        });
        if best.is_none_or(|(_, c)| cpu < c) {
            best = Some((wall, cpu));
        }
    }
    let (wall, cpu) = best.unwrap();
    println!(
        "| {:<40} | {:>9.0} ms |",
        format!("{tokens} tokens, wall"),
        wall.as_secs_f64() * 1e3
    );
    println!(
        "| {:<40} | {:>9.0} ms |",
        "client CPU, total",
        cpu.as_secs_f64() * 1e3
    );
    println!(
        "| {:<40} | {:>9.3} ms |",
        "client CPU per 1k tokens (target < 1)",
        cpu.as_secs_f64() * 1e3 / (tokens as f64 / 1000.0)
    );
}
