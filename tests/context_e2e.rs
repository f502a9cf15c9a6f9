//! What the model is told about the project: the session reminder (folder, git branch) on the
//! first turn only, the AGENTS.md text, and neither shown to the user.

use crate::support;

use std::process::Command;

use support::bin::{Sandbox, out};
use support::llm::ScriptedLlm;

/// The text of every user message the model was sent in request `i`.
fn user_texts(llm: &ScriptedLlm, i: usize) -> Vec<String> {
    let body = &llm.requests()[i].body;
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| match &m["content"] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let o = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "-c",
            "init.defaultBranch=trunk",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "git {args:?}: {:?}", o);
}

#[test]
fn first_turn_carries_the_session_reminder_and_agents_md() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let p = sb.project.path();
    git(p, &["init", "-q"]);
    std::fs::write(p.join("AGENTS.md"), "Run tests with `make check-all`.\n").unwrap();
    git(p, &["add", "."]);
    git(p, &["commit", "-q", "-m", "first commit here"]);
    std::fs::write(p.join("dirty.txt"), "x").unwrap();

    let o = sb.run_with_stdin(
        &["--plain", "-m", "openai/gpt-test"],
        "hello there\nsecond message\n",
    );
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("instructions: AGENTS.md"), "{stdout}");
    assert!(stdout.contains("echo: hello there"), "{stdout}");
    assert!(!stdout.contains("system-reminder"), "{stdout}");

    let first = user_texts(&llm, 0).join("\n");
    let cwd = std::fs::canonicalize(p).unwrap();
    assert!(
        first.contains(&format!("Working directory: {}", cwd.display())),
        "{first}"
    );
    assert!(first.contains("on branch trunk"), "{first}");
    assert!(first.contains("first commit here"), "{first}");
    assert!(first.contains("?? dirty.txt"), "{first}");
    assert!(first.contains("make check-all"), "{first}");
    assert!(first.contains("hello there"), "{first}");

    // The second turn: the first message keeps what was sent, the new one is bare.
    let second = user_texts(&llm, 1);
    let last = second.last().unwrap();
    assert!(last.contains("second message"), "{last}");
    assert!(!last.contains("system-reminder"), "{last}");

    // A later session tells the model again; history shows no reminder to the user.
    let o = sb.run_with_stdin(
        &[
            "--plain",
            "-m",
            "openai/gpt-test",
            "--no-system-info-reminder",
        ],
        "third\n",
    );
    let (stdout, _) = out(&o);
    let third = user_texts(&llm, 2);
    let last = third.last().unwrap();
    assert!(!last.contains("Working directory"), "{last}");
    assert!(last.contains("make check-all"), "{last}");
    assert!(!stdout.contains("system-reminder"), "{stdout}");
}

#[test]
fn init_studies_the_project_into_a_project_block() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let notes = "Build: cargo build. Test: cargo test. Layout: src/ holds the code.";
    let args = serde_json::json!({"label": "project", "new_memory": notes}).to_string();
    llm.push([
        support::llm::Reply::Tools {
            text: String::new(),
            calls: vec![("init-1".into(), "memory_rethink".into(), args)],
        },
        support::llm::Reply::Text("Stored the build and layout notes.".into()),
    ]);
    let o = sb.run_with_stdin(
        &["--plain", "-m", "openai/gpt-test"],
        "/init --agents-md\n/memory\n/init --bogus\n",
    );
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Stored the build and layout notes."),
        "{stdout}"
    );
    assert!(
        stdout.contains("project") && stdout.contains("Test: cargo test."),
        "{stdout}"
    );
    assert!(stdout.contains("/init knows no --bogus"), "{stdout}");
    let asked = user_texts(&llm, 0).join("\n");
    assert!(asked.contains("memory block labelled"), "{asked}");
    assert!(asked.contains("AGENTS.md at the project root"), "{asked}");
}
