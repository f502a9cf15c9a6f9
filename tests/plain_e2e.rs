//! `letta --plain` through piped stdin: replies, typed approvals, slash commands and numbered
//! choices, against the engine and a scripted LLM.

use crate::support;

use support::bin::Sandbox;
use support::llm::{Reply, ScriptedLlm};

fn run_plain(sb: &Sandbox, input: &str) -> (String, String, Option<i32>) {
    run_plain_with(sb, &[], input)
}

fn run_plain_with(sb: &Sandbox, extra: &[&str], input: &str) -> (String, String, Option<i32>) {
    let mut args = vec!["--plain", "-m", "openai/gpt-test"];
    args.extend_from_slice(extra);
    let o = sb.run_with_stdin(&args, input);
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code(),
    )
}

#[test]
fn plain_repl_talks_approves_and_runs_commands() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    std::fs::write(sb.project.path().join("notes.txt"), "alpha\nbeta\n").unwrap();
    let args =
        serde_json::json!({"file_path": "notes.txt", "old_string": "beta", "new_string": "BETA"})
            .to_string();
    llm.push([
        Reply::Text("Hi there.".into()),
        Reply::Tools {
            text: String::new(),
            calls: vec![("call-1".into(), "Edit".into(), args)],
        },
        Reply::Text("Edited.".into()),
    ]);
    let input = "hello\nplease edit\ny\n/fork side\nin the fork\n/model\n7\n2\nafter model\n/nope\n!echo from-bash\n/new blank\n/resume\n\n/exit\n";
    let (stdout, stderr, code) = run_plain(&sb, input);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("Hi there."), "{stdout}");
    assert!(
        stdout.contains("Update(notes.txt) needs approval"),
        "{stdout}"
    );
    assert!(stdout.contains("Edited."), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(sb.project.path().join("notes.txt")).unwrap(),
        "alpha\nBETA\n"
    );
    assert!(stdout.contains("Forked conversation conv-"), "{stdout}");
    assert!(stdout.contains("echo: in the fork"), "{stdout}");
    assert!(
        stdout.contains("1. openai/gpt-test") && stdout.contains("2. openai/gpt-other"),
        "{stdout}"
    );
    assert!(
        stdout.contains("7 is not one of the choices: a number from 1 to 2"),
        "{stdout}"
    );
    // A new conversation is listed before it has a message.
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("blank") && l.contains("(current)")),
        "{stdout}"
    );
    assert!(
        stdout.contains("Model for this conversation: openai/gpt-other"),
        "{stdout}"
    );
    assert_eq!(llm.last_body()["model"], "gpt-other");
    assert!(
        stdout.contains("Unknown command /nope — try /help"),
        "{stdout}"
    );
    assert!(stdout.contains("from-bash"), "{stdout}");
    assert!(
        stdout.contains("Resume this conversation: letta --conv conv-"),
        "{stdout}"
    );
    // The fork is remembered for this project.
    assert!(
        sb.project_session()["conversationId"]
            .as_str()
            .unwrap()
            .starts_with("conv-")
    );
}

#[test]
fn plain_denial_with_a_reason_reaches_the_agent() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let args = serde_json::json!({"command": "rm -rf build"}).to_string();
    llm.push([
        Reply::Tools {
            text: String::new(),
            calls: vec![("call-9".into(), "Bash".into(), args)],
        },
        Reply::Text("Understood.".into()),
    ]);
    let (stdout, stderr, code) = run_plain(&sb, "clean up\nkeep the build folder\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("Bash(rm -rf build) needs approval"),
        "{stdout}"
    );
    assert!(stdout.contains("Understood."), "{stdout}");
    assert!(
        llm.last_body()
            .to_string()
            .contains("keep the build folder")
    );
    // Back in this project: the conversation is shown where it was left.
    let (stdout, _, _) = run_plain(&sb, "/exit\n");
    assert!(stdout.contains("Resumed conversation default"), "{stdout}");
    assert!(
        stdout.contains("› clean up") && stdout.contains("Understood."),
        "{stdout}"
    );
}

#[test]
fn plain_resume_agents_and_context() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let (out, err, code) = run_plain(&sb, "first\n/new second one\nin second\n/context\n/exit\n");
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("Context window:"), "{out}");
    // `--resume` asks which conversation first; 2 is the older one (default).
    let (out, err, code) = run_plain_with(&sb, &["--resume"], "2\nback again\n/agents\n1\n/exit\n");
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("Resume a previous conversation:"), "{out}");
    assert!(out.contains("second one (current)"), "{out}");
    assert!(
        out.contains("Resumed conversation \"default\" (default)"),
        "{out}"
    );
    assert!(
        out.contains("echo: first"),
        "the transcript is shown: {out}"
    );
    let body = llm.last_body().to_string();
    assert!(
        body.contains("first") && !body.contains("in second"),
        "{body}"
    );
    assert!(out.contains("1. agent-"), "{out}");
    assert!(out.contains("Switched to agent"), "{out}");
}

#[test]
fn tools_the_server_runs_itself_are_shown() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let args = serde_json::json!({"label": "human", "new_string": "Ada likes Rust."}).to_string();
    llm.push([
        Reply::Tools {
            text: String::new(),
            calls: vec![("mem-1".into(), "memory_insert".into(), args)],
        },
        Reply::Text("Noted.".into()),
    ]);
    let (stdout, stderr, code) = run_plain(&sb, "remember that I like Rust\n");
    assert_eq!(code, Some(0), "{stderr}");
    let call = stdout
        .lines()
        .position(|l| l.starts_with("⏺ ") && l.contains("memory_insert"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(stdout.contains("Noted."), "{stdout}");
    assert!(
        call < stdout
            .find("Noted.")
            .map_or(0, |i| stdout[..i].lines().count()),
        "{stdout}"
    );
}

#[test]
fn a_bare_exit_or_quit_leaves_without_asking_the_agent() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    for word in ["exit", "quit", "  quit  "] {
        let (stdout, stderr, code) = run_plain(&sb, &format!("{word}\nnever sent\n"));
        assert_eq!(code, Some(0), "{stdout}\n{stderr}");
        assert!(!stdout.contains("echo: never sent"), "{stdout}");
    }
    assert!(llm.requests().is_empty(), "nothing reached the model");
    // Inside a sentence it is just a word.
    let (stdout, _, _) = run_plain(&sb, "exit the loop early\n/exit\n");
    assert!(stdout.contains("echo: exit the loop early"), "{stdout}");
}

#[test]
fn an_untitled_conversation_is_named_once() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let (stdout, stderr, code) = run_plain(&sb, "/new\nhello\n/exit\n");
    assert_eq!(code, Some(0), "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.contains("Started a new conversation"))
        .unwrap();
    let id = line
        .split_whitespace()
        .find(|w| w.starts_with("conv-"))
        .unwrap();
    assert_eq!(line.matches(id).count(), 1, "{line}");
    let (stdout, _, _) = run_plain(&sb, &format!("/resume {id}\n/exit\n"));
    let line = stdout
        .lines()
        .find(|l| l.contains("Resumed conversation"))
        .unwrap();
    assert_eq!(line, format!("Resumed conversation {id}"), "{stdout}");
}

#[test]
fn rename_convo_without_a_title_names_it_after_the_talk() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let (stdout, stderr, code) = run_plain(
        &sb,
        "/new\n/rename convo\nfix the flaky parser test please\n/rename convo\n/exit\n",
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("nothing has been said here yet"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Renamed this conversation to \"fix the flaky parser test please\""),
        "{stdout}"
    );
}

#[test]
fn model_is_checked_when_it_is_set() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let (stdout, stderr, code) =
        run_plain(&sb, "/model foo/bar\n/model openai/gpt-other\nhi\n/exit\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("there is no model \"foo/bar\""), "{stdout}");
    assert!(
        stdout.contains("openai/gpt-test"),
        "the real ones are listed: {stdout}"
    );
    assert!(stdout.contains("Model for "), "{stdout}");
    assert_eq!(llm.last_body()["model"], "gpt-other");
}

#[test]
fn a_retried_model_call_says_so() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    llm.push([
        Reply::Error {
            status: 503,
            body: r#"{"error":{"message":"overloaded, try later"}}"#.into(),
        },
        Reply::Text("made it".into()),
    ]);
    let (stdout, stderr, code) = run_plain(&sb, "hello\n/exit\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("… retrying (2/4) in 1 s:"), "{stdout}");
    assert!(stdout.contains("overloaded"), "{stdout}");
    assert!(stdout.contains("made it"), "{stdout}");
}
