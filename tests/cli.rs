//! The real `letta` binary: flags, contradictions, version, corrupt settings.

use std::process::{Command, Output};

fn letta(home: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_letta"))
        .args(args)
        .env("LETTA_HOME", home)
        .env_remove("LETTA_BASE_URL")
        .env_remove("LETTA_API_KEY")
        .current_dir(home)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

#[test]
fn version_prints_name_and_version() {
    let home = tempfile::tempdir().unwrap();
    for flag in ["--version", "-v", "-V"] {
        let out = letta(home.path(), &[flag]);
        assert!(out.status.success(), "{flag}");
        assert_eq!(
            text(&out.stdout).trim(),
            format!("letta {}", env!("CARGO_PKG_VERSION")),
            "{flag}"
        );
    }
}

#[test]
fn help_lists_every_flag() {
    let home = tempfile::tempdir().unwrap();
    let out = letta(home.path(), &["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for flag in [
        "--new",
        "--resume",
        "--conv",
        "--agent",
        "--new-agent",
        "--model",
        "-m",
        "--backend",
        "--plain",
        "--permission-mode",
        "--yolo",
        "--prompt",
        "-p",
        "--output-format",
        "--max-turns",
        "--allowedTools",
        "--disallowedTools",
        "--version",
        "server",
        "agents",
        "conversations",
        "messages",
        "completions",
        "connect",
        "model",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
    let server = text(&letta(home.path(), &["server", "--help"]).stdout);
    for flag in ["--host", "--port", "--token", "127.0.0.1", "8283"] {
        assert!(server.contains(flag), "server --help lacks {flag}");
    }
    let conv = text(&letta(home.path(), &["conversations", "list", "--help"]).stdout);
    assert!(conv.contains("--agent"));
    let search = text(&letta(home.path(), &["messages", "search", "--help"]).stdout);
    assert!(search.contains("QUERY"));
}

#[test]
fn contradictory_flags_exit_2_with_one_line() {
    let home = tempfile::tempdir().unwrap();
    for (args, reason) in [
        (
            &["--new", "--conv", "conv-1"][..],
            "--new cannot be used with --conv",
        ),
        (
            &["--resume", "--conv", "conv-1"],
            "--resume cannot be used with --conv",
        ),
        (
            &["--new-agent", "--agent", "agent-1"],
            "--new-agent cannot be used with --agent",
        ),
        (
            &["--yolo", "--permission-mode", "strict"],
            "--yolo cannot be used with --permission-mode",
        ),
    ] {
        let out = letta(home.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(reason), "{args:?}: {err}");
    }
    // Nothing was written for a refused command line.
    assert!(!home.path().join("settings.json").exists());
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    assert_eq!(letta(home.path(), &["--bogus"]).status.code(), Some(2));
    assert_eq!(
        letta(home.path(), &["--permission-mode", "nope"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn corrupt_settings_are_reported_and_left_intact() {
    let home = tempfile::tempdir().unwrap();
    let settings = home.path().join("settings.json");
    std::fs::write(&settings, "{\"sessionsByServer\": {oops").unwrap();
    let out = letta(home.path(), &["agents", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains(&settings.display().to_string()), "{err}");
    assert!(err.contains("line 1"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        "{\"sessionsByServer\": {oops"
    );
}

#[test]
fn corrupt_project_settings_are_reported_and_left_intact() {
    let home = tempfile::tempdir().unwrap();
    let project = home.path().join(".letta");
    std::fs::create_dir_all(&project).unwrap();
    let file = project.join("settings.local.json");
    std::fs::write(&file, "[1,").unwrap();
    let out = letta(home.path(), &["-p", "hi"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("settings.local.json"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "[1,");
}

#[test]
fn completions_are_generated() {
    let home = tempfile::tempdir().unwrap();
    let out = letta(home.path(), &["completions", "bash"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("--new-agent"));
}
