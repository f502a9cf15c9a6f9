//! Python packages for tests, in venvs under target/, installed once per build directory: the
//! official MCP Python SDK (PyPI `mcp`) and a published server built on it (`mcp-server-time`).
//! Needs python3 with venv and pip, and the package index (or PIP_FIND_LINKS).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

const PACKAGES: [&str; 2] = ["mcp==1.30.0", "mcp-server-time==2026.10.10"];

/// The venv's folder.
pub fn venv() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mcp-venv")
}

/// Install the packages once; `Err` says why they could not be (python3 missing).
pub fn ready() -> Result<PathBuf, String> {
    static READY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    READY
        .get_or_init(|| venv_with(&venv(), "import mcp, mcp_server_time", &PACKAGES))
        .clone()
}

/// A venv at `dir` in which `probe` (Python code) runs, made with `packages` if it does not.
pub fn venv_with(dir: &std::path::Path, probe: &str, packages: &[&str]) -> Result<PathBuf, String> {
    if Command::new("python3").arg("--version").output().is_err() {
        return Err("python3 is not installed".into());
    }
    let have = Command::new(dir.join("bin/python"))
        .args(["-c", probe])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        let o = Command::new("python3")
            .args(["-m", "venv"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "venv: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let o = Command::new(dir.join("bin/pip"))
            .args(["install", "-q"])
            .args(packages)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "pip install {packages:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    Ok(dir.to_path_buf())
}
