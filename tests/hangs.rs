//! Nothing hangs, nothing eats memory, nothing runs twice: the real binary against hostile
//! scripted models, odd files and `kill -9`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support;
use support::bin::{Sandbox, out};
use support::llm::{Reply, ScriptedLlm};

fn bash(cmd: &str) -> Reply {
    Reply::Tools {
        text: String::new(),
        calls: vec![(
            format!("call-{}", uuid::Uuid::new_v4().simple()),
            "Bash".into(),
            serde_json::json!({ "command": cmd }).to_string(),
        )],
    }
}

use support::until;

fn tool(name: &str, args: serde_json::Value) -> Reply {
    Reply::Tools {
        text: String::new(),
        calls: vec![("c-1".into(), name.into(), args.to_string())],
    }
}

#[test]
fn a_stalled_model_is_given_up_and_an_interrupt_answers_at_once() {
    let llm = ScriptedLlm::start_in_background();
    let mut sb = Sandbox::new(&llm.openai_url());
    sb.env
        .push(("LETTA_STREAM_IDLE_TIMEOUT".into(), "2".into()));
    llm.push([Reply::Stall]);
    let started = Instant::now();
    let o = sb.run(&["-p", "hi", "-m", "openai/gpt-test"]);
    let (stdout, stderr) = out(&o);
    assert!(!o.status.success());
    assert!(
        stderr.contains("sent nothing for 2 s"),
        "{stdout}\n{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));

    // SIGINT while the model stalls: letta stops at once.
    llm.push([Reply::Stall]);
    let mut child = sb.spawn_quiet(&["-p", "hi", "-m", "openai/gpt-test"]);
    until(|| llm.requests().len() >= 2);
    let sent = Instant::now();
    // SAFETY: signalling a child this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "took {:?}",
        sent.elapsed()
    );
}

#[test]
fn an_endless_answer_is_stopped_with_a_clear_error() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    llm.push([Reply::Endless {
        text: "all work and no play ".repeat(50),
    }]);
    let o = sb.run(&[
        "-p",
        "hi",
        "-m",
        "openai/gpt-test",
        "--output-format",
        "json",
    ]);
    let (stdout, stderr) = out(&o);
    assert!(!o.status.success());
    assert!(
        format!("{stdout}{stderr}").contains("passed 16 MB"),
        "{stdout}\n{stderr}"
    );
    // One endless line (no event ever ends).
    llm.push([Reply::EndlessLine]);
    let o = sb.run(&["-p", "hi", "-m", "openai/gpt-test"]);
    let (_, stderr) = out(&o);
    assert!(stderr.contains("passed 32 MB"), "{stderr}");
}

#[test]
fn odd_files_neither_hang_nor_blow_up() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let p = sb.project.path();
    std::process::Command::new("mkfifo")
        .arg(p.join("fifo"))
        .status()
        .unwrap();
    let sparse = std::fs::File::create(p.join("sparse")).unwrap();
    sparse.set_len(2 << 30).unwrap();
    for (file, expect) in [
        ("/dev/zero", "not a regular file"),
        ("fifo", "not a regular file"),
        ("sparse", "is a binary file"),
    ] {
        llm.push([
            tool("Read", serde_json::json!({"file_path": file})),
            Reply::Text("ok".into()),
        ]);
        let started = Instant::now();
        let o = sb.run(&["-p", "read", "-m", "openai/gpt-test"]);
        assert!(o.status.success(), "{}", out(&o).1);
        assert!(llm.last_body().to_string().contains(expect), "{file}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{file} took long"
        );
    }
    // A FIFO where the settings file should be is reported, not waited on.
    let settings = sb.home.path().join("settings.json");
    let _ = std::fs::remove_file(&settings);
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&settings)
            .status()
            .unwrap()
            .success()
    );
    let o = sb.run(&["-p", "hi", "-m", "openai/gpt-test"]);
    assert!(!o.status.success());
    assert!(out(&o).1.contains("not a regular file"), "{}", out(&o).1);
}

#[test]
fn background_processes_do_not_hold_a_command_and_signals_stop_commands() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    llm.push([
        bash("sleep 600 & echo started"),
        bash("setsid sleep 600 & echo detached"),
        Reply::Text("ok".into()),
    ]);
    let started = Instant::now();
    let o = sb.run(&["-p", "go", "-m", "openai/gpt-test", "--yolo"]);
    assert!(o.status.success(), "{}", out(&o).1);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );

    // SIGTERM to -p while a command runs: the command is stopped too.
    let marker = sb.project.path().join("pid.txt");
    llm.push([bash("echo $$ > pid.txt; exec sleep 600")]);
    let mut child = sb.spawn_quiet(&["-p", "go", "-m", "openai/gpt-test", "--yolo"]);
    // The file exists a moment before the shell has written the pid into it.
    until(|| std::fs::read_to_string(&marker).is_ok_and(|s| s.ends_with('\n')));
    let pid: i32 = std::fs::read_to_string(&marker)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: signalling a child this test started, then probing a pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    child.wait().unwrap();
    // Dead, or a zombie waiting to be reaped (by init, now that letta is gone): either way
    // it no longer runs. A loaded machine gets time.
    let gone = (0..500).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = state
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with(['Z', 'X']));
        // SAFETY: kill(pid, 0) only checks that the process exists.
        zombie || unsafe { libc::kill(pid, 0) != 0 }
    });
    assert!(gone, "the command outlived letta");
}

#[test]
fn a_call_interrupted_by_a_crash_never_runs_again() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let count = sb.project.path().join("count.txt");
    llm.push([bash("echo ran >> count.txt; sleep 600")]);
    let mut child = sb.spawn_quiet(&["-p", "go", "-m", "openai/gpt-test", "--yolo"]);
    until(|| count.exists());
    child.kill().unwrap(); // SIGKILL: no cleanup at all.
    child.wait().unwrap();
    // Restart in the same conversation, still --yolo: the call is not run again, and the
    // conversation is not locked by the dead process's run.
    llm.push([Reply::Text("done".into())]);
    let started = Instant::now();
    let o = sb.run(&["-p", "go on", "-m", "openai/gpt-test", "--yolo"]);
    assert!(o.status.success(), "{}", out(&o).1);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "locked for {:?}",
        started.elapsed()
    );
    assert_eq!(
        std::fs::read_to_string(&count).unwrap(),
        "ran\n",
        "the command ran twice"
    );
    let told = llm
        .requests()
        .iter()
        .any(|r| r.body.to_string().contains("may already have run"));
    assert!(told, "the model was not told why the call did not run");
}

#[test]
fn a_busy_conversation_is_waited_for_and_tool_loops_stop() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    // Make the agent and its default conversation first.
    let o = sb.run(&["-p", "hello", "-m", "openai/gpt-test"]);
    assert!(o.status.success());
    llm.push([Reply::Slow {
        text: "one two three four five six".into(),
        delay_ms: 150,
    }]);
    let first = sb
        .cmd(&["-p", "slow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    until(|| llm.requests().len() >= 2);
    let second = sb.run(&["-p", "second"]);
    let (s_out, s_err) = out(&second);
    assert!(second.status.success(), "{s_out}\n{s_err}");
    assert!(s_err.contains("another session is replying"), "{s_err}");
    assert!(first.wait_with_output().unwrap().status.success());

    // A model that never stops calling tools is stopped by the default limit in -p.
    llm.push((0..120).map(|_| bash("true")));
    let o = sb.run(&["-p", "loop", "--yolo", "--output-format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out(&o).0).unwrap();
    assert_eq!(v["stop_reason"], "max_steps", "{v}");
}
