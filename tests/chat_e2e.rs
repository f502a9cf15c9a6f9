//! The chat view end to end: the real binary in a PTY, against the engine and a scripted LLM.

use crate::support;

use support::bin::{Sandbox, out};
use support::llm::{Reply, ScriptedLlm};
use support::pty::Pty;

fn spawn(sb: &Sandbox, args: &[&str], extra_env: &[(&str, &str)]) -> Pty {
    sb.pty(args, extra_env)
}

/// Wait until no turn is running (the reply can be on screen a moment before the turn ends).
fn wait_idle(p: &Pty) {
    p.wait_for("the turn to end", |s| !s.contains("esc to interrupt"));
}

/// Whether the PTY is back in cooked mode (canonical input and echo).
fn cooked(p: &Pty) -> bool {
    let fd = p.master_fd();
    // SAFETY: tcgetattr fills the termios we own from a descriptor we hold open.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(fd, &mut t), 0);
        t.c_lflag & libc::ICANON != 0 && t.c_lflag & libc::ECHO != 0
    }
}

#[test]
fn talk_approve_an_edit_interrupt_and_exit() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    std::fs::write(sb.project.path().join("notes.txt"), "alpha\nbeta\ngamma\n").unwrap();
    let mut p = spawn(&sb, &["-m", "openai/gpt-test"], &[]);
    p.wait_text("conversation");
    p.wait_text("›");

    // A streamed reply with a code block.
    llm.push([Reply::Text(
        "Here is code:\n\n```rust\nfn main() {}\n```\n\nDone.".into(),
    )]);
    p.send("hello\r");
    p.wait_text("Done.");
    let t = p.transcript();
    assert!(t.contains("› hello"), "{t}");
    assert!(t.contains("  fn main() {}"), "{t}");

    // An Edit asks first and shows the diff; approving runs it.
    let args =
        serde_json::json!({"file_path": "notes.txt", "old_string": "beta", "new_string": "BETA"})
            .to_string();
    llm.push([
        Reply::Tools {
            text: String::new(),
            calls: vec![("call-1".into(), "Edit".into(), args)],
        },
        Reply::Text("Edited.".into()),
    ]);
    p.send("please edit\r");
    p.wait_text("Update notes.txt?");
    let s = p.screen();
    assert!(s.contains("- beta") && s.contains("+ BETA"), "{s}");
    p.send("1");
    p.wait_text("Edited.");
    assert_eq!(
        std::fs::read_to_string(sb.project.path().join("notes.txt")).unwrap(),
        "alpha\nBETA\ngamma\n"
    );
    let t = p.transcript();
    assert!(
        t.contains("Updated notes.txt with 1 addition and 1 removal"),
        "{t}"
    );

    // A long reply is interrupted with Esc, then the next message works.
    llm.push([Reply::Slow {
        text: "slow ".repeat(200),
        delay_ms: 30,
    }]);
    p.send("go slow\r");
    p.wait_text("esc to interrupt");
    p.wait_text("slow slow");
    p.send("\x1b");
    p.wait_text("Interrupted");
    llm.push([Reply::Text("back again".into())]);
    p.send("once more\r");
    p.wait_text("back again");

    // Ctrl-C twice exits; the terminal is cooked again and the summary printed.
    wait_idle(&p);
    p.send("\x03");
    p.wait_text("Press Ctrl-C again to exit");
    p.send("\x03");
    assert_eq!(p.wait_exit(), 0);
    assert!(cooked(&p), "the terminal was left in raw mode");
    let t = p.transcript();
    // Nothing of the input box, the status line or the notice is left above the summary.
    let tail = &t[t.rfind("back again").unwrap()..];
    assert!(!tail.contains("Press Ctrl-C again"), "{tail}");
    assert!(!tail.contains("────"), "{tail}");
    assert!(
        t.contains("Resume this agent:        letta --agent agent-"),
        "{t}"
    );
    // The hint works as printed.
    let hint = t
        .lines()
        .find_map(|l| l.trim().strip_prefix("Resume this conversation: letta "))
        .unwrap_or_else(|| panic!("{t}"));
    let mut args: Vec<&str> = hint.split_whitespace().collect();
    assert!(
        args.contains(&"--agent") && args.ends_with(&["--conv", "default"]),
        "{hint}"
    );
    llm.push([Reply::Text("resumed by the hint".into())]);
    args.extend(["-p", "and now"]);
    let o = sb.run(&args);
    assert_eq!(out(&o).0.trim(), "resumed by the hint", "{}", out(&o).1);
    // A bare `letta` comes back to the conversation with its last messages on screen.
    let mut p = spawn(&sb, &[], &[]);
    p.wait_for_raw("the resumed note", |t| {
        t.contains("Resumed conversation default")
    });
    p.wait_text("resumed by the hint");
    p.send("/exit\r");
    assert_eq!(p.wait_exit(), 0);
}

#[test]
fn a_panic_restores_the_terminal() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let mut p = spawn(
        &sb,
        &["-m", "openai/gpt-test"],
        &[("LETTA_TEST_PANIC", "1")],
    );
    let code = p.wait_exit();
    assert_ne!(code, 0);
    assert!(cooked(&p), "the terminal was left in raw mode");
    assert!(p.transcript().contains("forced test panic"));
}

#[test]
fn no_terminal_no_chat_view() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let o = sb.run(&[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("-p PROMPT") && err.contains("--plain"),
        "{err}"
    );
}

#[test]
fn bash_mode_paste_queue_mode_history_and_sigterm() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let mut p = spawn(&sb, &["-m", "openai/gpt-test"], &[]);
    p.wait_text("conversation");

    // `!` runs locally and is not sent to the agent.
    p.send("!echo hi-from-bash\r");
    p.wait_text("hi-from-bash\n");
    assert!(llm.requests().is_empty());

    // A big bracketed paste shows as a placeholder and is sent whole.
    let lines: Vec<String> = (1..=8).map(|i| format!("pasted {i}")).collect();
    p.send(&format!("\x1b[200~{}\x1b[201~", lines.join("\n")));
    p.wait_text("[Pasted text #1 +8 lines]");
    p.send("\r");
    p.wait_text("echo: pasted 1");
    assert!(llm.last_body().to_string().contains("pasted 8"));
    // The reply can show before its turn has finished; a message typed then would be queued.
    wait_idle(&p);

    // Typed while busy: queued, shown, then sent when the turn ends.
    llm.push([Reply::Slow {
        text: "one two three four five".into(),
        // Slow enough that the second message is typed while this one streams, under load.
        delay_ms: 400,
    }]);
    p.send("slow one\r");
    p.wait_text("esc to interrupt");
    p.send("queued msg\r");
    p.wait_text("queued: queued msg");
    p.wait_text("echo: queued msg");

    // The status line follows /model and /rename agent.
    wait_idle(&p);
    p.send("/model openai/gpt-other\r");
    p.wait_text("Model for");
    p.wait_for("the new model in the status line", |s| {
        s.lines()
            .rev()
            .take(3)
            .any(|l| l.contains("gpt-other") && l.contains("·"))
    });
    p.send("/rename agent Bobby\r");
    p.wait_text("Renamed the agent");
    p.wait_for("the new name in the status line", |s| {
        s.lines()
            .rev()
            .take(3)
            .any(|l| l.contains("Bobby") && l.contains("·"))
    });

    // Shift+Tab cycles the permission mode.
    p.send("\x1b[Z");
    p.wait_text("accept edits");

    wait_idle(&p);
    p.send("/exit\r");
    assert_eq!(p.wait_exit(), 0);

    // History is per project and survives a restart; SIGTERM restores the terminal.
    let mut p = spawn(&sb, &[], &[]);
    p.wait_text("conversation");
    p.send("\x1b[A");
    p.wait_text("› /exit");
    let pid = p.pid().unwrap() as i32;
    // SAFETY: signalling the child we started.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    assert_eq!(p.wait_exit(), 0);
    assert!(cooked(&p));
    assert!(p.transcript().contains("--conv default"));
}

#[test]
fn ctrl_z_suspends_and_resumes() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let mut p = spawn(&sb, &["-m", "openai/gpt-test"], &[]);
    p.wait_text("conversation");
    let pid = p.pid().unwrap() as i32;
    p.send("\x1a");
    // The terminal is given back before stopping, and taken again after. (A PTY child is a
    // session leader, so its process group is orphaned and the kernel drops the stop itself:
    // the program continues at once, which still exercises restore → stop → re-enable.)
    p.wait_for_raw("the terminal given back", |raw| raw.contains("\x1b[?2004l"));
    // SAFETY: signalling the child we started.
    unsafe {
        libc::kill(pid, libc::SIGCONT);
    }
    p.wait_for_raw("the terminal taken again", |raw| {
        raw.matches("\x1b[?2004h").count() >= 2
    });
    assert!(!cooked(&p));
    // And it still works.
    p.send("still here\r");
    p.wait_text("echo: still here");
    wait_idle(&p);
    p.send("\x03\x03");
    assert_eq!(p.wait_exit(), 0);
}

#[test]
fn a_resize_rewraps_new_text() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let mut p = spawn(&sb, &["-m", "openai/gpt-test"], &[]);
    p.wait_text("conversation");

    // A narrower terminal: new text wraps to the new width.
    p.resize(50, 30);
    // Typed once the new size is drawn, so the reply is laid out for it.
    p.wait_for("the redraw at the new width", |s| {
        s.lines().any(|l| l.trim_end() == "─".repeat(50))
    });
    llm.push([Reply::Text("word ".repeat(30))]);
    p.send("wrap please\r");
    p.wait_for("the wrapped reply", |s| {
        s.lines().filter(|l| l.starts_with("word word")).count() >= 3
    });
    assert!(
        p.screen()
            .lines()
            .all(|l| l.trim_end().chars().count() <= 50)
    );
    wait_idle(&p);
    p.send("\x03\x03");
    assert_eq!(p.wait_exit(), 0);
}

#[test]
fn first_run_connects_an_openai_compatible_endpoint() {
    let llm = ScriptedLlm::start_in_background();
    let mut sb = Sandbox::new(&llm.openai_url());
    sb.env.clear();
    // No Ollama to find: point detection at a closed port.
    sb.env
        .push(("OLLAMA_PROBE_URL".into(), "http://127.0.0.1:9".into()));
    let mut p = spawn(&sb, &[], &[]);
    p.wait_text("Connect a model to start");
    p.send("2");
    p.wait_text("openai base URL");
    p.send("\x15");
    p.send(&format!("{}\r", llm.openai_url()));
    p.wait_text("openai API key");
    p.send(&format!("{}\r", support::llm::REJECTED_KEY));
    p.wait_text("✗ the key was rejected");
    // Only the last 4 characters of a key are ever shown.
    p.send("sk-good-key-1234");
    p.wait_text("••••••••••••1234");
    assert!(!p.screen().contains("sk-good"));
    p.send("\r");
    p.wait_text("Pick a model");
    p.wait_text("gpt-other");
    p.send("\x1b[B\r");
    p.wait_text("conversation");
    // The picker is gone: nothing of it is left above the chat's banner.
    let screen = p.screen();
    assert!(!screen.contains("Pick a model"), "{screen}");
    assert!(screen.trim_start().starts_with("╭ ✻ letta"), "{screen}");
    p.send("hello\r");
    p.wait_text("echo: hello");
    assert_eq!(llm.last_body()["model"], "gpt-other");
    wait_idle(&p);
    p.send("\x03\x03");
    assert_eq!(p.wait_exit(), 0);
    let s: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sb.home.path().join("settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(s["providers"]["openai"]["apiKey"], "sk-good-key-1234");
    assert_eq!(s["defaultModel"], "openai/gpt-other");

    // A second start goes straight to the chat.
    let mut p = spawn(&sb, &[], &[]);
    p.wait_text("conversation");
    assert!(!p.transcript().contains("Connect a model"));
    wait_idle(&p);
    p.send("\x03\x03");
    assert_eq!(p.wait_exit(), 0);
}

#[test]
fn fork_then_resume_back_each_conversation_keeps_its_own_messages() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let mut p = spawn(&sb, &["-m", "openai/gpt-test"], &[]);
    p.wait_text("conversation");
    p.send("alpha\r");
    p.wait_text("echo: alpha");
    wait_idle(&p);

    p.send("/fork side branch\r");
    p.wait_text("Forked conversation conv-");
    // Remembered in the background.
    support::until(|| {
        sb.project_session()["conversationId"]
            .as_str()
            .is_some_and(|c| c.starts_with("conv-"))
    });
    let forked = sb.project_session()["conversationId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(forked.starts_with("conv-"), "{forked}");
    p.send("beta\r");
    p.wait_text("echo: beta");
    let body = llm.last_body().to_string();
    assert!(
        body.contains("alpha") && body.contains("beta"),
        "the fork carries the history"
    );
    wait_idle(&p);

    p.send("/resume default\r");
    p.wait_text("Resumed conversation \"default\" (default)");
    p.send("gamma\r");
    p.wait_text("echo: gamma");
    let body = llm.last_body().to_string();
    assert!(body.contains("alpha") && body.contains("gamma"), "{body}");
    assert!(
        !body.contains("beta"),
        "the original does not see the fork's messages"
    );
    assert_eq!(sb.project_session()["conversationId"], "default");

    // The fork got its title; an unknown command is not sent to the agent.
    let requests = llm.requests().len();
    p.send("/frobnicate\r");
    p.wait_text("Unknown command /frobnicate — try /help");
    assert_eq!(llm.requests().len(), requests);
    // The browser: newest activity first, the one in use marked, previews and times.
    p.send("/resume\r");
    p.wait_text("Resume a previous conversation");
    p.wait_text("side branch");
    p.wait_text("└ you: beta");
    let screen = p.screen();
    assert!(
        screen.contains("default (the agent's default conversation) (current)"),
        "{screen}"
    );
    assert!(screen.contains("Active just now · Created"), "{screen}");
    assert!(
        screen.find("default (the").unwrap() < screen.find("side branch").unwrap(),
        "{screen}"
    );
    // Typing filters; Esc clears the search, then closes.
    p.send("zzz");
    p.wait_text("Nothing matches \"zzz\"");
    p.send("\x1b");
    p.wait_text("side branch");
    p.send("\x1b[B\r");
    p.wait_text(&format!("Resumed conversation \"side branch\" ({forked})"));
    assert_eq!(sb.project_session()["conversationId"], forked.as_str());
    p.send("delta\r");
    p.wait_text("echo: delta");
    let body = llm.last_body().to_string();
    assert!(body.contains("beta") && !body.contains("gamma"), "{body}");
    wait_idle(&p);
    p.send("\x03\x03");
    assert_eq!(p.wait_exit(), 0);
    assert!(p.transcript().contains(&format!("letta --conv {forked}")));

    // `letta --resume` opens the browser; Enter continues the chosen conversation.
    let mut p = spawn(&sb, &["--resume"], &[]);
    p.wait_text("Resume a previous conversation");
    p.wait_text(&format!("side branch  ({forked}) (current)"));
    p.send("\x1b[B\r");
    p.wait_text("Resumed conversation \"default\" (default)");
    p.wait_text("echo: gamma");
    p.send("epsilon\r");
    p.wait_text("echo: epsilon");
    let body = llm.last_body().to_string();
    assert!(body.contains("gamma") && !body.contains("delta"), "{body}");
    wait_idle(&p);
    p.send("\x03\x03");
    assert_eq!(p.wait_exit(), 0);
}

#[test]
fn two_terminals_one_agent_in_parallel_share_memory() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let mut a = spawn(&sb, &["-m", "openai/gpt-test"], &[]);
    a.wait_text("conversation default");
    let mut b = spawn(&sb, &["--new"], &[("EDITOR", "sed -i s/tabs/TABS/")]);
    b.wait_text("conversation conv-");
    let b_conv = sb.project_session()["conversationId"]
        .as_str()
        .unwrap()
        .to_string();

    // Both talk at once.
    a.send("from A\r");
    b.send("from B\r");
    a.wait_text("echo: from A");
    b.wait_text("echo: from B");
    wait_idle(&a);
    wait_idle(&b);

    // A memory edit made through one conversation is seen from the other.
    let args = serde_json::json!({"label": "human", "new_string": "Prefers tabs over spaces."})
        .to_string();
    llm.push([
        Reply::Tools {
            text: String::new(),
            calls: vec![("call-m".into(), "memory_insert".into(), args)],
        },
        Reply::Text("Noted.".into()),
    ]);
    a.send("/remember I prefer tabs\r");
    a.wait_text("Noted.");
    // The memory viewer: a tab per block; `e` edits the block in $EDITOR.
    b.send("/memory\r");
    b.wait_text("Memory (shared by all of this agent's conversations)");
    // The blocks arrive after the viewer opens; a key before them has no tab to move to.
    b.wait_text("characters · Who I am");
    b.send("\x1b[C");
    b.wait_text("Prefers tabs over spaces.");
    b.send("e");
    b.wait_text("Saved the human block");
    b.wait_text("Prefers TABS over spaces.");
    b.send("\x1b");
    b.wait_for("the viewer to close", |s| !s.contains("Memory (shared"));

    wait_idle(&a);
    a.send("\x03\x03");
    assert_eq!(a.wait_exit(), 0);
    wait_idle(&b);
    b.send("\x03\x03");
    assert_eq!(b.wait_exit(), 0);

    // A bare `letta` reopens the last conversation used in this project.
    let mut c = spawn(&sb, &[], &[]);
    // In the banner, which the resumed messages may already have scrolled off the screen.
    let banner = format!("conversation {b_conv}");
    c.wait_for_raw("the banner", |t| t.contains(&banner));
    c.send("\x03\x03");
    assert_eq!(c.wait_exit(), 0);
}

#[test]
fn a_call_left_waiting_by_a_crash_is_offered_again() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let mut p = spawn(&sb, &["-m", "openai/gpt-test"], &[]);
    p.wait_text("conversation");
    let args = serde_json::json!({"file_path": "made.txt", "content": "from before the crash\n"})
        .to_string();
    llm.push([
        Reply::Tools {
            text: String::new(),
            calls: vec![("call-w".into(), "Write".into(), args)],
        },
        Reply::Text("Wrote it.".into()),
    ]);
    p.send("write a file\r");
    p.wait_text("made.txt?");
    // The process dies with the question open.
    let pid = p.pid().unwrap() as i32;
    // SAFETY: a signal to the child we spawned.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    p.wait_exit();
    assert!(!sb.project.path().join("made.txt").exists());

    // The next start asks again; approving runs the call and the turn goes on.
    let mut p = spawn(&sb, &[], &[]);
    p.wait_text("This conversation was waiting for an answer:");
    p.wait_text("made.txt?");
    p.send("1");
    p.wait_text("Wrote it.");
    assert_eq!(
        std::fs::read_to_string(sb.project.path().join("made.txt")).unwrap(),
        "from before the crash\n"
    );
    wait_idle(&p);
    p.send("\x03\x03");
    assert_eq!(p.wait_exit(), 0);
}

#[test]
fn agents_browser_context_and_compact() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let mut p = spawn(&sb, &["-m", "openai/gpt-test"], &[]);
    p.wait_text("conversation");
    for m in ["one", "two", "three"] {
        p.send(&format!("{m}\r"));
        p.wait_text(&format!("echo: {m}"));
        wait_idle(&p);
    }
    // Search results: Enter jumps to the conversation holding the message.
    p.send("/search two\r");
    p.wait_text("Messages matching \"two\"");
    p.wait_text("user: two");
    p.send("\r");
    p.wait_text("Resumed conversation \"default\" (default)");
    p.send("/context\r");
    p.wait_text("Context window:");
    p.wait_text("messages in context");
    p.send("/compact\r");
    p.wait_for_raw("the progress line", |t| {
        t.contains("Compacting this conversation")
    });
    p.wait_text("Compacted this conversation:");

    // The agent browser: create an agent, which becomes the current one, and pin it.
    p.send("/agents\r");
    p.wait_text("1 agent · 0 pinned");
    p.wait_text("(current)");
    p.send("n");
    p.wait_text("Name the new agent");
    p.send("reviewer\r");
    p.wait_text("Created agent \"reviewer\"");
    p.send("/agents\r");
    p.wait_text("2 agents · 0 pinned");
    p.send("p");
    p.wait_text("2 agents · 1 pinned");
    p.wait_text("★");
    let s: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sb.home.path().join("settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(s["agents"][0]["pinned"], true, "{s}");
    assert_eq!(s["agents"][0]["baseUrl"], "local", "{s}");
    p.send("\x1b");
    p.wait_for("the browser to close", |s| {
        !s.contains("search agent names")
    });
    wait_idle(&p);
    p.send("\x03\x03");
    assert_eq!(p.wait_exit(), 0);
}

#[test]
fn a_tab_indented_file_shows_its_indentation() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    std::fs::write(
        sb.project.path().join("t.rs"),
        "fn main() {\n\tif true {\n\n\t\tgo();\n\t}\n}\n",
    )
    .unwrap();
    llm.push([
        support::llm::call("r1", "Read", serde_json::json!({"file_path": "t.rs"})),
        Reply::Text("read it".into()),
    ]);
    let mut p = spawn(&sb, &["-m", "openai/gpt-test"], &[]);
    p.wait_text("conversation");
    p.send("show t.rs\r");
    p.wait_text("read it");
    // The line number, then the code at the next tab stop; the blank line is still there.
    p.send("\x0f");
    p.wait_text("go();");
    let s = p.screen();
    assert!(
        s.contains(&format!("     2{}if true {{", " ".repeat(10))),
        "{s}"
    );
    assert!(s.contains(&format!("     4{}go();", " ".repeat(18))), "{s}");
    assert!(!s.contains("2if"), "{s}");
    let lines: Vec<&str> = s.lines().collect();
    let at = lines.iter().position(|l| l.contains("if true {")).unwrap();
    assert!(lines[at + 1].trim_end().ends_with('3'), "{s}");
    wait_idle(&p);
    p.send("\x03\x03");
    assert_eq!(p.wait_exit(), 0);
}
