//! The first-run screen's checks through the real binary in a PTY: a URL is checked at once,
//! an answered error goes away, Esc on the key goes back to the URL, and leaving the screen
//! leaves nothing of it behind but a hint.

use crate::support;

use support::bin::Sandbox;
use support::llm::ScriptedLlm;

fn bare(llm: &ScriptedLlm) -> Sandbox {
    let mut sb = Sandbox::new(&llm.openai_url());
    sb.env.clear();
    sb.env
        .push(("OLLAMA_PROBE_URL".into(), "http://127.0.0.1:9".into()));
    sb
}

#[test]
fn the_url_is_checked_errors_clear_and_esc_steps_back() {
    let llm = ScriptedLlm::start_in_background();
    let sb = bare(&llm);
    let mut p = sb.pty(&[], &[]);
    p.wait_text("Connect a model to start");
    p.send("2");
    p.wait_text("openai base URL");
    p.send("\x15not a url\r");
    p.wait_text("✗ \"not a url\" is not a URL");
    assert!(
        p.screen().contains("openai base URL"),
        "still asking for it"
    );
    p.send(&format!("\x15{}\r", llm.openai_url()));
    p.wait_text("openai API key");
    assert!(
        !p.screen().contains("✗"),
        "the answered error is gone: {}",
        p.screen()
    );
    // Esc on the key goes back to the URL, as typed.
    p.send("\x1b");
    p.wait_text("openai base URL");
    assert!(p.screen().contains(&llm.openai_url()), "{}", p.screen());
    p.send("\r");
    p.wait_text("openai API key");
    p.send("sk-fine-1234\r");
    p.wait_text("Pick a model");
    assert!(
        p.raw().contains("Checking the key with"),
        "a check is announced"
    );
    // Leaving: the menu goes, a hint stays.
    p.send("\x1b");
    p.wait_text("6. Exit");
    p.send("\x1b");
    assert_eq!(p.wait_exit(), 0);
    let t = p.transcript();
    assert!(
        t.contains("letta connect openai|anthropic|ollama|letta|local"),
        "{t}"
    );
    assert!(!t.contains("Connect a model to start"), "{t}");
}

#[test]
fn with_only_the_environment_the_model_is_chosen_before_the_first_message() {
    let llm = ScriptedLlm::start_in_background();
    // OPENAI_BASE_URL and OPENAI_API_KEY only, as the README suggests; no model named.
    let sb = Sandbox::new(&llm.openai_url());
    let mut p = sb.pty(&[], &[]);
    p.wait_text("Choose the model for the new agent:");
    p.wait_text("2. openai/gpt-other");
    p.send("2\r");
    p.wait_text("conversation");
    assert!(
        p.transcript()
            .contains("uses openai/gpt-other, as you chose")
    );
    p.send("hello\r");
    p.wait_text("echo: hello");
    assert_eq!(llm.last_body()["model"], "gpt-other");
    p.wait_for("the turn to end", |s| !s.contains("esc to interrupt"));
    p.send("\x03\x03");
    assert_eq!(p.wait_exit(), 0);
    let s: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sb.home.path().join("settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        s["defaultModel"], "openai/gpt-other",
        "later agents take it too"
    );
    // Without a person to ask (a script), the first is taken and said.
    let other = Sandbox::new(&llm.openai_url());
    let o = other.run(&["-p", "hi"]);
    let (_, stderr) = support::bin::out(&o);
    assert!(
        stderr.contains("uses openai/gpt-test, the first the backend offers"),
        "{stderr}"
    );
}
