//! Secrets and files: private modes, keys never on the command line, credentials in URLs
//! masked, and the environment merged with saved settings field by field.

use std::os::unix::fs::PermissionsExt;

use crate::support;
use support::bin::{Sandbox, out};
use support::llm::ScriptedLlm;

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_database_history_and_settings_are_private() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let o = sb.run(&["-p", "hello", "-m", "openai/gpt-test"]);
    assert!(o.status.success(), "{}", out(&o).1);
    assert_eq!(mode(&sb.db()), 0o600, "the database");
    assert_eq!(
        mode(&sb.home.path().join("settings.json")),
        0o600,
        "settings"
    );
}

#[test]
fn keys_are_never_taken_from_the_command_line() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let o = sb.run(&[
        "connect",
        "openai",
        "--base-url",
        &llm.openai_url(),
        "--api-key",
        "sk-visible",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).1.contains("`ps`"), "{}", out(&o).1);
    let o = sb.run(&["server", "--port", "0", "--token", "visible"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).1.contains("--token -"), "{}", out(&o).1);
}

#[test]
fn environment_and_settings_merge_per_field_and_urls_hide_passwords() {
    let llm = ScriptedLlm::start_in_background();
    let mut sb = Sandbox::new(&llm.openai_url());
    sb.env.clear();
    sb.settings(serde_json::json!({
        "providers": {"openai": {"baseUrl": "https://user:pa55word@proxy.example/v1", "apiKey": "sk-saved-1234"}},
        "env": {"LETTA_BASE_URL": "https://me:hunter2@letta.example"}
    }));
    // Only the key in the environment: the saved URL stays.
    sb.env.push(("OPENAI_API_KEY".into(), "sk-env-5678".into()));
    let (list, _) = out(&sb.run(&["connect", "--list"]));
    assert!(
        list.contains("proxy.example") && list.contains("…5678"),
        "{list}"
    );
    assert!(
        list.contains("url from settings") && list.contains("key from env OPENAI_API_KEY"),
        "{list}"
    );
    assert!(
        !list.contains("pa55word") && !list.contains("hunter2"),
        "{list}"
    );
    // Only the URL in the environment: the saved key stays.
    sb.env.clear();
    sb.env.push(("OPENAI_BASE_URL".into(), llm.openai_url()));
    let (list, _) = out(&sb.run(&["connect", "--list"]));
    assert!(
        list.contains("…1234") && list.contains("url from env OPENAI_BASE_URL"),
        "{list}"
    );
}
