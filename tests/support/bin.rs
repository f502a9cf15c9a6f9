//! Running the real `letta` binary in a temp home and project.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temp `LETTA_HOME` and project folder, with provider env pointing at a scripted server.
pub struct Sandbox {
    pub home: tempfile::TempDir,
    pub project: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

impl Sandbox {
    /// A sandbox whose OpenAI provider is `openai_url`.
    pub fn new(openai_url: &str) -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
            project: tempfile::tempdir().unwrap(),
            env: vec![
                ("OPENAI_BASE_URL".into(), openai_url.into()),
                ("OPENAI_API_KEY".into(), "sk-test".into()),
            ],
        }
    }

    /// Write the global settings file.
    pub fn settings(&self, json: serde_json::Value) {
        std::fs::write(self.home.path().join("settings.json"), json.to_string()).unwrap();
    }

    /// The engine database of this sandbox.
    pub fn db(&self) -> PathBuf {
        self.home.path().join("data").join("letta.db")
    }

    /// A `letta` command with the sandbox's environment (and nothing of the caller's).
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_letta"));
        c.args(args)
            .current_dir(self.project.path())
            .env("LETTA_HOME", self.home.path());
        for k in [
            "LETTA_BASE_URL",
            "LETTA_API_KEY",
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_BASE_URL",
            "OLLAMA_BASE_URL",
        ] {
            c.env_remove(k);
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Run to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// This project's remembered session for the embedded engine.
    pub fn project_session(&self) -> serde_json::Value {
        let p = self.project.path().join(".letta/settings.local.json");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v["sessionsByServer"]["local"].clone()
    }
}

/// stdout and stderr as text.
pub fn out(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

/// Whether a path exists (for readable asserts).
pub fn exists(p: &Path) -> bool {
    p.exists()
}
