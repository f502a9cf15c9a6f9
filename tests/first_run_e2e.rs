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
    p.wait_text("1.");
    p.send("\x1b");
    assert_eq!(p.wait_exit(), 0);
    let t = p.transcript();
    assert!(
        t.contains("letta connect openai|anthropic|ollama|letta|local"),
        "{t}"
    );
    assert!(!t.contains("Connect a model to start"), "{t}");
}
