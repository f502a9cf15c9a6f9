//! What the sandbox costs per command: `/bin/true` run by the shell directly, through the
//! sandbox helper (letta re-executed, Landlock applied, then exec), and the Bash tool end to
//! end with and without the sandbox. `cargo bench --bench sandbox`; under `cargo test` a
//! short smoke run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::pedantic
)]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use letta::sandbox::{Policy, Sandbox, landlock_abi, writable};
use letta::tools::{Registry, ToolContext};
use tokio_util::sync::CancellationToken;

fn per_run(n: u32, mut f: impl FnMut()) -> Duration {
    f(); // warm-up
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed() / n
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 300 } else { 10 };
    let project = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let policy = Policy {
        hidden: vec![format!("{home}/.config/letta/settings.json").into()],
        writable: writable(project.path(), &[], tmp.path()),
        sealed: vec![format!("{home}/.letta").into()],
        network: false,
    };
    let helper = env!("CARGO_BIN_EXE_letta");
    let json = serde_json::to_string(&policy).unwrap();
    let plain = per_run(n, || {
        assert!(
            Command::new("/bin/sh")
                .args(["-c", "true"])
                .status()
                .unwrap()
                .success()
        );
    });
    let Some(abi) = landlock_abi() else {
        println!(
            "no Landlock on this kernel: nothing to measure beyond {}",
            ms(plain)
        );
        return;
    };
    let boxed = per_run(n, || {
        let ok = Command::new(helper)
            .args(["__sandbox", &json, "/bin/sh", "-c", "true"])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let registry = Registry::builtin();
    let tool = |ctx: Arc<ToolContext>| {
        per_run(n, || {
            let out = rt.block_on(registry.run(
                &ctx,
                "Bash",
                r#"{"command": "true"}"#,
                &CancellationToken::new(),
            ));
            assert!(out.ok, "{}", out.text);
        })
    };
    let unconfined = tool(Arc::new(ToolContext::new(project.path().to_path_buf())));
    let sandbox = Sandbox {
        helper: helper.into(),
        policy,
        tmp: tmp.path().to_path_buf(),
        excluded: Vec::new(),
    };
    let confined = tool(Arc::new(
        ToolContext::new(project.path().to_path_buf()).with_sandbox(Some(sandbox)),
    ));
    println!("\nsandbox start-up cost per command (Landlock ABI {abi}, {n} runs each)");
    println!("| {:<44} | {:>10} |", "measure", "per run");
    println!("|{:-<46}|{:->12}|", "", "");
    for (what, d) in [
        ("sh -c true", plain),
        ("letta __sandbox POLICY sh -c true", boxed),
        ("  cost of the sandbox", boxed.saturating_sub(plain)),
        ("Bash tool, unconfined", unconfined),
        ("Bash tool, in the sandbox", confined),
        (
            "  cost of the sandbox (target < 2 ms)",
            confined.saturating_sub(unconfined),
        ),
    ] {
        println!("| {what:<44} | {:>10} |", ms(d));
    }
}
