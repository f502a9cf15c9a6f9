//! The official Python SDK (`letta-client` from PyPI) against the real `letta server`.
//! Skipped, with the reason printed, only when python3 is missing.

use crate::support;

use std::process::Command;

use support::bin::{Sandbox, out};
use support::llm::ScriptedLlm;

const SDK: &str = "letta-client==1.12.1";

#[test]
fn official_python_sdk_works_against_letta_server() {
    if Command::new("python3").arg("--version").output().is_err() {
        println!("skipped: python3 is not installed");
        return;
    }
    // A venv under target/, reused across runs.
    let venv = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-venv");
    let py = venv.join("bin/python");
    let ready = Command::new(&py)
        .args(["-c", "import letta_client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        let o = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "venv: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let o = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", SDK])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "pip install {SDK}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    sb.settings(serde_json::json!({"defaultModel": "openai/gpt-test"}));
    let server = sb.start_server(&[]);
    let url = server.url.clone();

    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/sdk_check.py");
    let o = Command::new(&py)
        .arg(script)
        .env("LETTA_BASE_URL", &url)
        .output()
        .unwrap();
    drop(server);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "sdk script failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("sdk ok"));
}
