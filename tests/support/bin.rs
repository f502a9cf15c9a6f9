//! Running the real `letta` binary in a temp home and project.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The binary to run: this build's, or `LETTA_BIN` (a bench measuring the release build).
pub fn letta() -> String {
    std::env::var("LETTA_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_letta").to_string())
}

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
        let mut c = Command::new(letta());
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

    /// Start in the background, output discarded (for signals and crashes).
    pub fn spawn_quiet(&self, args: &[&str]) -> Child {
        self.cmd(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Run to completion with exactly `input` on stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Start `letta server --port 0 EXTRA…` on this sandbox; returns once it listens.
    pub fn start_server(&self, extra: &[&str]) -> ServerProc {
        let mut args = vec!["server", "--port", "0"];
        args.extend_from_slice(extra);
        let mut child = self
            .cmd(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().rsplit(' ').next().unwrap().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{line}");
        ServerProc { child, url }
    }

    /// The real `letta ARGS` on a 100×30 pseudo-terminal in this sandbox, with `extra_env`.
    pub fn pty(&self, args: &[&str], extra_env: &[(&str, &str)]) -> super::pty::Pty {
        let mut env = self.env.clone();
        env.push(("LETTA_HOME".into(), self.home.path().display().to_string()));
        for (k, v) in extra_env {
            env.push((k.to_string(), v.to_string()));
        }
        super::pty::Pty::spawn(&letta(), args, self.project.path(), &env, 100, 30)
    }

    /// This project's remembered session for the embedded engine.
    pub fn project_session(&self) -> serde_json::Value {
        let p = self.project.path().join(".letta/settings.local.json");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v["sessionsByServer"]["local"].clone()
    }
}

/// A running `letta server`; killed on drop.
pub struct ServerProc {
    pub child: Child,
    pub url: String,
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// One headless turn (`-p go`) in which the model makes these calls `(id, tool, arguments)`
/// in one step, then says "done"; stdout and stderr together.
pub fn calls_turn(
    sb: &Sandbox,
    llm: &super::llm::ScriptedLlm,
    calls: Vec<(String, String, String)>,
    extra: &[&str],
) -> String {
    llm.push([
        super::llm::Reply::Tools {
            text: String::new(),
            calls,
        },
        super::llm::Reply::Text("done".into()),
    ]);
    let mut args = vec!["-p", "go", "-m", "openai/gpt-test"];
    args.extend_from_slice(extra);
    let (o, e) = out(&sb.run(&args));
    format!("{o}\n{e}")
}
