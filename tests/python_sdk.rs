//! The official Python SDK (`letta-client` from PyPI) against the real `letta server`.
//! Skipped, with the reason printed, only when python3 is missing.

use crate::support;

use std::process::Command;

use support::bin::{Sandbox, out};
use support::llm::ScriptedLlm;

const SDK: &str = "letta-client==1.12.1";

#[test]
fn official_python_sdk_works_against_letta_server() {
    // A venv under target/, reused across runs.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-venv");
    let venv = match support::py_mcp::venv_with(&dir, "import letta_client", &[SDK]) {
        Ok(v) => v,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let py = venv.join("bin/python");

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
