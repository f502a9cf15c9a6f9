//! `letta connect` for each provider, `--list` with masked keys and sources, and `-m` short
//! names, through the real binary against scripted servers.

use crate::support;

use serde_json::Value;
use support::bin::{Sandbox, out};
use support::llm::{REJECTED_KEY, ScriptedLlm};

/// A sandbox with no provider in its environment.
fn bare(llm: &ScriptedLlm) -> Sandbox {
    let mut sb = Sandbox::new(&llm.openai_url());
    sb.env.clear();
    sb
}

fn settings(sb: &Sandbox) -> Value {
    let path = sb.home.path().join("settings.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn openai_with_a_key_variable_then_list_masks_and_names_sources() {
    let llm = ScriptedLlm::start_in_background();
    let mut sb = bare(&llm);
    sb.env.push(("MY_KEY".into(), "sk-test-123456".into()));
    let o = sb.run(&[
        "connect",
        "openai",
        "--base-url",
        &llm.openai_url(),
        "--api-key-env",
        "MY_KEY",
    ]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("Connected openai") && stdout.contains("2 models"),
        "{stdout}"
    );
    assert!(!stdout.contains("sk-test-123456"), "{stdout}");
    let s = settings(&sb);
    assert_eq!(s["providers"]["openai"]["apiKeyEnv"], "MY_KEY");
    assert!(s["providers"]["openai"].get("apiKey").is_none(), "{s}");
    assert_eq!(s["defaultModel"], "openai/gpt-test");

    let o = sb.run(&["connect", "--list"]);
    let (stdout, _) = out(&o);
    assert!(
        stdout.contains("openai") && stdout.contains("…3456"),
        "{stdout}"
    );
    assert!(
        stdout.contains("env MY_KEY (named in settings)"),
        "{stdout}"
    );
    assert!(!stdout.contains("sk-test-123456"));

    // The environment wins over settings, and --list says so.
    sb.env
        .push(("OPENAI_API_KEY".into(), "sk-from-env-7777".into()));
    sb.env.push(("OPENAI_BASE_URL".into(), llm.openai_url()));
    let (stdout, _) = out(&sb.run(&["connect", "--list"]));
    assert!(
        stdout.contains("…7777")
            && stdout.contains("url from env OPENAI_BASE_URL, key from env OPENAI_API_KEY"),
        "{stdout}"
    );

    // And the engine uses it: a first turn gets an answer with the saved default model.
    let o = sb.run(&["-p", "hi"]);
    assert!(o.status.success(), "{}", out(&o).1);
    assert_eq!(out(&o).0.trim(), "echo: hi");
}

#[test]
fn a_stored_key_is_masked_and_a_rejected_key_or_dead_url_explained() {
    let llm = ScriptedLlm::start_in_background();
    let sb = bare(&llm);
    let o = sb.run_with_stdin(
        &[
            "connect",
            "openai",
            "--base-url",
            &llm.openai_url(),
            "--api-key",
            "-",
        ],
        REJECTED_KEY,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(out(&o).1.trim(), "error: the key was rejected");
    assert!(
        !sb.home.path().join("settings.json").exists(),
        "nothing is saved on failure"
    );

    let o = sb.run_with_stdin(
        &[
            "connect",
            "openai",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--api-key",
            "-",
        ],
        "k-1234567",
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        out(&o).1.trim(),
        "error: cannot reach http://127.0.0.1:9/v1: nothing is listening there"
    );
    // Not a URL at all: said at once, before anything is sent.
    let o = sb.run(&["connect", "ollama", "--base-url", "not a url"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(out(&o).1.contains("is not a URL"), "{:?}", out(&o));

    let o = sb.run_with_stdin(
        &[
            "connect",
            "openai",
            "--base-url",
            &llm.openai_url(),
            "--api-key",
            "-",
        ],
        "sk-secret-9999",
    );
    assert!(o.status.success(), "{}", out(&o).1);
    assert!(out(&o).0.contains("key …9999"));
    assert_eq!(
        settings(&sb)["providers"]["openai"]["apiKey"],
        "sk-secret-9999"
    );
    let (stdout, _) = out(&sb.run(&["connect", "--list"]));
    assert!(
        stdout.contains("…9999") && !stdout.contains("sk-secret"),
        "{stdout}"
    );
}

#[test]
fn anthropic_ollama_and_unknown_providers() {
    let llm = ScriptedLlm::start_in_background();
    let sb = bare(&llm);
    let o = sb.run_with_stdin(
        &[
            "connect",
            "anthropic",
            "--base-url",
            &llm.anthropic_url(),
            "--api-key",
            "-",
        ],
        "ak-abcdef",
    );
    assert!(o.status.success(), "{}", out(&o).1);
    let o = sb.run(&[
        "connect",
        "ollama",
        "--base-url",
        llm.openai_url().trim_end_matches("/v1"),
    ]);
    assert!(o.status.success(), "{}", out(&o).1);
    let s = settings(&sb);
    assert_eq!(s["providers"]["anthropic"]["apiKey"], "ak-abcdef");
    assert_eq!(s["providers"]["ollama"]["baseUrl"], llm.openai_url());
    let (stdout, _) = out(&sb.run(&["connect", "--list"]));
    assert!(
        stdout.contains("anthropic") && stdout.contains("ollama") && stdout.contains("…cdef"),
        "{stdout}"
    );
    let o = sb.run(&["connect", "nonsense"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        out(&o)
            .1
            .contains("openai, anthropic, ollama, letta or local")
    );

    // Both providers offer gpt-test: the short name is ambiguous and the candidates listed;
    // gpt-other is not (anthropic's list is the same scripted one, so name a unique one).
    let o = sb.run(&["-p", "hi", "-m", "gpt-test"]);
    assert!(!o.status.success());
    let err = out(&o).1;
    assert!(
        err.contains("ambiguous")
            && err.contains("ollama/gpt-test")
            && err.contains("anthropic/gpt-test"),
        "{err}"
    );
    let o = sb.run(&["-p", "hi", "-m", "no-such-model"]);
    assert!(out(&o).1.contains("letta model list"));
    let o = sb.run(&["-p", "hi", "-m", "ollama/gpt-test"]);
    assert!(o.status.success(), "{}", out(&o).1);
}

#[test]
fn short_model_names_resolve() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let o = sb.run(&["-p", "hi", "-m", "gpt-other"]);
    assert!(o.status.success(), "{}", out(&o).1);
    assert_eq!(llm.last_body()["model"], "gpt-other");
    // The first model named is remembered for new agents.
    assert_eq!(settings(&sb)["defaultModel"], "openai/gpt-other");
    // `letta model list` marks the project's current model and the default.
    let (stdout, _) = out(&sb.run(&["model", "list"]));
    assert!(
        stdout.contains("* openai/gpt-other (current, default)"),
        "{stdout}"
    );
    assert!(stdout.contains("  openai/gpt-test\n"), "{stdout}");

    // A model the provider rejects: named, with how to list the valid ones.
    llm.push([support::llm::Reply::Error {
        status: 404,
        body: r#"{"error":{"message":"The model `nope` does not exist"}}"#.into(),
    }]);
    let o = sb.run(&["-p", "hi", "-m", "openai/nope"]);
    assert!(!o.status.success());
    let all = format!("{}{}", out(&o).0, out(&o).1);
    assert!(
        all.contains("nope") && all.contains("letta model list"),
        "{all}"
    );
}

#[test]
fn a_letta_server_with_a_token() {
    let llm = ScriptedLlm::start_in_background();
    let sb = bare(&llm);
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(async {
        let engine = support::servers::engine(&llm, dir.path());
        support::servers::serve(engine, Some("tok-12345678".into())).await
    });
    let o = sb.run_with_stdin(
        &["connect", "letta", "--base-url", &url, "--api-key", "-"],
        "bad-token",
    );
    assert_eq!(out(&o).1.trim(), "error: the key was rejected");
    let o = sb.run_with_stdin(
        &["connect", "letta", "--base-url", &url, "--api-key", "-"],
        "tok-12345678",
    );
    assert!(o.status.success(), "{}", out(&o).1);
    let s = settings(&sb);
    assert_eq!(s["env"]["LETTA_BASE_URL"], url.as_str());
    let (stdout, _) = out(&sb.run(&["connect", "--list"]));
    assert!(
        stdout.contains(&url) && stdout.contains("…5678") && !stdout.contains("tok-1234"),
        "{stdout}"
    );
    // Now the remote backend is used: a turn goes through the server.
    let o = sb.run(&["-p", "via server"]);
    assert!(o.status.success(), "{}", out(&o).1);
    assert_eq!(out(&o).0.trim(), "echo: via server");
}

#[test]
fn connect_alone_offers_the_choices() {
    let llm = ScriptedLlm::start_in_background();
    let sb = bare(&llm);
    // Not on a terminal: the choices and how to name one.
    let o = sb.run_with_stdin(&["connect"], "");
    assert_eq!(o.status.code(), Some(2));
    let (stdout, stderr) = out(&o);
    assert!(stdout.contains("3. ollama"), "{stdout}");
    assert!(
        stderr.contains("letta connect openai|anthropic|ollama|letta|local"),
        "{stderr}"
    );
    // On a terminal: a number picks one, which is then connected as if it had been named.
    let base = llm.openai_url();
    let base = base.trim_end_matches("/v1");
    let mut p = sb.pty(&["connect", "--base-url", base], &[]);
    p.wait_text("number or name");
    p.send("3\r");
    assert_eq!(p.wait_exit(), 0, "{}", p.transcript());
    assert_eq!(
        settings(&sb)["providers"]["ollama"]["baseUrl"],
        llm.openai_url()
    );
}
