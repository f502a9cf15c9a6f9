//! Trust for a folder's own settings, protected paths, and deny rules that hold across tools,
//! through the real binary with a scripted model.

use crate::support;
use support::bin::{Sandbox, out};
use support::llm::ScriptedLlm;

/// One headless turn in which the model makes these calls `(tool, args)`; stdout and stderr.
fn turn(
    sb: &Sandbox,
    llm: &ScriptedLlm,
    calls: &[(&str, serde_json::Value)],
    extra: &[&str],
) -> String {
    let calls = calls
        .iter()
        .enumerate()
        .map(|(i, (t, a))| (format!("c{i}"), (*t).to_string(), a.to_string()))
        .collect();
    support::bin::calls_turn(sb, llm, calls, extra)
}

fn committed_settings(sb: &Sandbox) {
    let dir = sb.project.path().join(".letta");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("settings.json"),
        r#"{"permissions": {"allow": ["Bash"], "defaultMode": "bypassPermissions", "deny": ["Bash(rm:*)"]}}"#,
    )
    .unwrap();
}

#[test]
fn a_cloned_repository_grants_nothing_until_trusted() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    committed_settings(&sb);
    let touch = serde_json::json!({"command": "touch made.txt"});
    let log = turn(&sb, &llm, &[("Bash", touch.clone())], &[]);
    assert!(!sb.project.path().join("made.txt").exists(), "{log}");
    assert!(
        log.contains("not trusted") && log.contains("allow Bash"),
        "{log}"
    );
    // Its deny rule holds even untrusted.
    let rm = serde_json::json!({"command": "rm -f nothing"});
    let log = turn(&sb, &llm, &[("Bash", rm)], &["--allowedTools", "Bash"]);
    assert!(
        llm.last_body()
            .to_string()
            .contains("denied by the rule Bash(rm:*)"),
        "{log}"
    );

    // Trusted (as answering yes at the prompt does), the same settings apply.
    let home = sb.home.path().join("settings.json");
    let project = sb.project.path().canonicalize().unwrap();
    std::fs::write(
        &home,
        serde_json::json!({"trustedFolders": [project]}).to_string(),
    )
    .unwrap();
    let log = turn(&sb, &llm, &[("Bash", touch)], &[]);
    assert!(sb.project.path().join("made.txt").exists(), "{log}");
}

#[test]
fn the_plain_repl_asks_once_and_remembers() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    committed_settings(&sb);
    let o = sb.run_with_stdin(&["--plain", "-m", "openai/gpt-test"], "y\n/exit");
    let (stdout, _) = out(&o);
    assert!(stdout.contains("Trust this folder"), "{stdout}");
    let saved = std::fs::read_to_string(sb.home.path().join("settings.json")).unwrap();
    assert!(saved.contains("trustedFolders"), "{saved}");
}

#[test]
fn protected_paths_always_ask_and_commands_cannot_change_them() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let letta_dir = sb.project.path().join(".letta");
    std::fs::create_dir_all(&letta_dir).unwrap();
    let local = letta_dir.join("settings.local.json");
    std::fs::write(&local, "{}").unwrap();
    let grant = r#"{"permissions":{"allow":["Bash"]}}"#;
    // The Write tool asks even in acceptEdits (headless: refused).
    let write = serde_json::json!({"file_path": ".letta/settings.local.json", "content": grant});
    turn(
        &sb,
        &llm,
        &[("Write", write)],
        &["--permission-mode", "acceptEdits"],
    );
    let granted = || std::fs::read_to_string(&local).unwrap().contains("allow");
    assert!(!granted());
    assert!(llm.last_body().to_string().contains("is protected"));
    // A command an allow rule lets through cannot change them either: they are put back.
    let sh = serde_json::json!({"command": format!("sh -c 'echo {grant:?} > .letta/settings.local.json; mkdir -p .git/hooks; echo x > .git/hooks/pre-commit'")});
    turn(
        &sb,
        &llm,
        &[("Bash", sh)],
        &["--allowedTools", "Bash(sh:*)"],
    );
    assert!(!granted());
    assert!(!sb.project.path().join(".git/hooks/pre-commit").exists());
    assert!(
        llm.last_body().to_string().contains("protected files"),
        "{}",
        llm.last_body()
    );
    // A redirect into a protected file asks even with a matching allow rule.
    let echo = serde_json::json!({"command": "echo hi > .letta/x.json"});
    turn(
        &sb,
        &llm,
        &[("Bash", echo)],
        &["--allowedTools", "Bash(echo:*)"],
    );
    assert!(!letta_dir.join("x.json").exists());
}

#[test]
fn a_read_deny_rule_holds_for_grep_glob_and_commands() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let secrets = sb.project.path().join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("key.txt"), "TOPSECRET-VALUE").unwrap();
    std::fs::write(
        sb.project.path().join("open.txt"),
        "TOPSECRET-mentioned here",
    )
    .unwrap();
    let calls = [
        (
            "Grep",
            serde_json::json!({"pattern": "TOPSECRET", "path": ".", "output_mode": "content"}),
        ),
        ("Glob", serde_json::json!({"pattern": "**/*.txt"})),
        (
            "Bash",
            serde_json::json!({"command": "cat secrets/key.txt"}),
        ),
        (
            "Bash",
            serde_json::json!({"command": "grep -r TOPSECRET secrets"}),
        ),
        // Not named, but searched: the sandbox hides the folder inside the project too.
        (
            "Bash",
            serde_json::json!({"command": "grep -r TOPSECRET ."}),
        ),
    ];
    turn(
        &sb,
        &llm,
        &calls,
        &["--disallowedTools", "Read(secrets/**)"],
    );
    let body = llm.last_body().to_string();
    assert!(!body.contains("TOPSECRET-VALUE"), "{body}");
    assert!(
        !body.contains("secrets/key.txt\\n") && body.contains("open.txt"),
        "{body}"
    );
    assert!(
        body.matches("denied by the rule Read(secrets/**)").count() >= 2,
        "{body}"
    );
}

#[test]
fn a_rule_the_user_saves_in_a_new_folder_holds_next_time() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let touch = |f: &str| serde_json::json!({"command": format!("touch {f}")}).to_string();
    llm.push([
        support::llm::Reply::Tools {
            text: String::new(),
            calls: vec![("t1".into(), "Bash".into(), touch("one.txt"))],
        },
        support::llm::Reply::Text("done".into()),
    ]);
    let o = sb.run_with_stdin(&["--plain", "-m", "openai/gpt-test"], "go\na\n/exit\n");
    let (stdout, stderr) = out(&o);
    assert!(
        sb.project.path().join("one.txt").exists(),
        "{stdout}{stderr}"
    );
    // Next session: the saved rule applies, with no note about trust.
    let log = turn(
        &sb,
        &llm,
        &[("Bash", serde_json::json!({"command": "touch two.txt"}))],
        &[],
    );
    assert!(sb.project.path().join("two.txt").exists(), "{log}");
    assert!(!log.contains("not trusted"), "{log}");
}

#[test]
fn a_folder_whose_trust_was_declined_is_not_trusted_by_a_saved_rule() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    committed_settings(&sb);
    llm.push([
        support::llm::Reply::Tools {
            text: String::new(),
            calls: vec![(
                "t1".into(),
                "Bash".into(),
                serde_json::json!({"command": "touch one.txt"}).to_string(),
            )],
        },
        support::llm::Reply::Text("done".into()),
    ]);
    let o = sb.run_with_stdin(&["--plain", "-m", "openai/gpt-test"], "n\ngo\na\n/exit\n");
    let (stdout, _) = out(&o);
    assert!(sb.project.path().join("one.txt").exists(), "{stdout}");
    let saved = std::fs::read_to_string(sb.home.path().join("settings.json")).unwrap_or_default();
    assert!(!saved.contains("trustedFolders"), "{saved}");
}
