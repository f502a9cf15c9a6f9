//! The Grep tool against `rg` on the same 100k-file tree; prints a table.
//! `cargo bench --bench grep` runs full size; under `cargo test` a 1k-file smoke run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::pedantic
)]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use letta::tools::{self, ToolContext};
use tokio_util::sync::CancellationToken;

const WORDS: &[&str] = &[
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda", "sigma",
    "omega", "vector", "matrix", "buffer", "socket", "thread",
];

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (dirs, per_dir) = if full { (1000, 100) } else { (10, 100) };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let t = Instant::now();
    std::fs::write(root.join(".gitignore"), "ignored/\n").unwrap();
    let mut seed = 7u64;
    let mut rand = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for d in 0..dirs {
        let sub = root.join(format!("pkg{d:04}"));
        std::fs::create_dir_all(&sub).unwrap();
        for f in 0..per_dir {
            let mut text = String::new();
            for _ in 0..30 {
                for _ in 0..8 {
                    text.push_str(WORDS[(rand() % WORDS.len() as u64) as usize]);
                    text.push(' ');
                }
                text.push('\n');
            }
            if rand() % 100 == 0 {
                text.push_str("fn needle_function() {}\n");
            }
            std::fs::write(sub.join(format!("file{f:03}.rs")), text).unwrap();
        }
    }
    std::fs::create_dir_all(root.join("ignored")).unwrap();
    std::fs::write(root.join("ignored/x.rs"), "needle_function\n").unwrap();
    let files = dirs * per_dir;
    println!(
        "tree: {files} files, built in {:.1}s",
        t.elapsed().as_secs_f64()
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ctx = Arc::new(ToolContext::new(root.to_path_buf()));
    let cancel = CancellationToken::new();
    let ours = |args: &str| {
        let out = rt.block_on(tools::Registry::builtin().run(&ctx, "Grep", args, &cancel));
        assert!(
            out.ok && !out.text.starts_with("No matches"),
            "{}",
            &out.text[..out.text.len().min(200)]
        );
        out.text.lines().count()
    };
    let rg_available = Command::new("rg").arg("--version").output().is_ok();
    let rg = |args: &[&str]| {
        let o = Command::new("rg")
            .arg("--no-require-git")
            .args(args)
            .arg("needle_function")
            .arg(root)
            .output()
            .unwrap();
        assert!(o.status.success());
        o.stdout
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count()
    };
    println!(
        "| {:<34} | {:>10} | {:>10} | {:>7} |",
        "search", "letta", "rg", "ratio"
    );
    println!(
        "|{}|{}|{}|{}|",
        "-".repeat(36),
        "-".repeat(12),
        "-".repeat(12),
        "-".repeat(9)
    );
    let cases: [(&str, &str, &[&str]); 2] = [
        (
            "files_with_matches",
            r#"{"pattern":"needle_function"}"#,
            &["-l"],
        ),
        (
            "content, line numbers",
            r#"{"pattern":"needle_function","output_mode":"content"}"#,
            &["-n"],
        ),
    ];
    for (name, args, rg_args) in cases {
        ours(args);
        let runs = if full { 7 } else { 2 };
        let t_ours = median(
            (0..runs)
                .map(|_| {
                    let t = Instant::now();
                    ours(args);
                    t.elapsed()
                })
                .collect(),
        );
        if rg_available {
            rg(rg_args);
            let (n_ours, n_rg) = (ours(args), rg(rg_args));
            let t_rg = median(
                (0..runs)
                    .map(|_| {
                        let t = Instant::now();
                        rg(rg_args);
                        t.elapsed()
                    })
                    .collect(),
            );
            println!(
                "| {name:<34} | {:>7.1} ms | {:>7.1} ms | {:>6.2}x |",
                t_ours.as_secs_f64() * 1e3,
                t_rg.as_secs_f64() * 1e3,
                t_ours.as_secs_f64() / t_rg.as_secs_f64()
            );
            let header = usize::from(name == "files_with_matches");
            assert_eq!(n_ours, n_rg + header, "same results as rg");
        } else {
            println!(
                "| {name:<34} | {:>7.1} ms | {:>10} | {:>7} |",
                t_ours.as_secs_f64() * 1e3,
                "no rg",
                "-"
            );
        }
    }
}
