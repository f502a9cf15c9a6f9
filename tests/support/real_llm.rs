//! Starts `shared/real-llm` (llama.cpp + SmolLM2, offline) for tests that need a real model.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

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

    /// Set up (cached after the first run) and start the server; `Err` explains a skip.
    pub fn start() -> Result<Self, String> {
        if Command::new("python3").arg("--version").output().is_err() {
            return Err("python3 is not installed".into());
        }
        let dir = super::fixtures::fixtures_dir().join("../real-llm");
        let out = Command::new("bash")
            .arg(dir.join("setup.sh"))
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| e.to_string())?;
        assert!(out.status.success(), "real-llm setup failed");
        let vars: std::collections::HashMap<String, String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(&vars["REAL_LLM_PY"])
            .arg(&vars["REAL_LLM_SERVE"])
            .args([
                "--model",
                &vars["REAL_LLM_MODEL"],
                "--port",
                &port.to_string(),
                "--threads",
                "1",
            ])
            .args(["--template-file", &vars["REAL_LLM_TEMPLATE"]])
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
