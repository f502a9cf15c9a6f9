//! The chat view under stress, as a user would cause it: a window resized again and again
//! while a long reply streams, and SIGTERM while an endless paragraph renders.

use crate::support;

use support::bin::Sandbox;
use support::llm::{Reply, ScriptedLlm};

/// The words `w0000`… in `text`, in order.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| {
            w.len() == 5 && w.starts_with('w') && w[1..].bytes().all(|b| b.is_ascii_digit())
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn a_resize_storm_while_streaming_leaves_every_word_once_in_the_scrollback() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let p = sb.pty(&["-m", "openai/gpt-test"], &[]);
    p.wait_text("conversation");
    p.wait_text("›");
    // 5,000 words in paragraphs of 100, and one long paragraph with no break at all.
    let all: Vec<String> = (0..5000).map(|i| format!("w{i:04}")).collect();
    let mut text = String::new();
    for (i, w) in all.iter().enumerate() {
        text.push_str(w);
        text.push_str(if i % 100 == 99 && !(2000..3500).contains(&i) {
            "\n\n"
        } else {
            " "
        });
    }
    llm.push([Reply::Slow { text, delay_ms: 1 }]);
    p.send("go\r");
    let sizes = [
        (100, 30),
        (40, 15),
        (120, 40),
        (20, 8),
        (80, 24),
        (33, 11),
        (20, 8),
        (140, 45),
        (60, 20),
        (120, 40),
    ];
    for (i, (cols, rows)) in sizes.into_iter().enumerate() {
        // Each size is taken once the reply has moved on, so the storm spans the stream.
        let mark = format!("w{:04}", (i + 1) * 450);
        p.wait_for_raw(&mark, |raw| raw.contains(&mark));
        p.resize(cols, rows);
    }
    p.wait_for_raw("the last word", |raw| raw.contains("w4999"));
    p.wait_for("the turn to end", |s| {
        !s.contains("esc to interrupt") && s.contains("w4999")
    });
    // The size held: the transcript has been written again at 120 columns.
    p.wait_for("the reprint", |s| {
        s.lines().any(|l| l.trim_end() == "─".repeat(120))
    });
    let got = words(&p.transcript());
    if got != all {
        let mut seen = std::collections::HashMap::new();
        for w in &got {
            *seen.entry(w.clone()).or_insert(0) += 1;
        }
        let missing: Vec<_> = all
            .iter()
            .filter(|w| !seen.contains_key(*w))
            .take(10)
            .collect();
        let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).take(10).collect();
        panic!(
            "{} words seen for 5000; missing {missing:?}; repeated {twice:?}",
            got.len()
        );
    }
}

#[test]
fn sigterm_during_an_endless_paragraph_exits_and_restores_the_terminal() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let mut p = sb.pty(&["-m", "openai/gpt-test"], &[]);
    p.wait_text("conversation");
    p.wait_text("›");
    llm.push([Reply::Endless {
        text: "lorem ipsum dolor sit amet ".into(),
    }]);
    p.send("go on forever\r");
    // Well into a paragraph with no break: hundreds of kilobytes rendered.
    p.wait_for_raw("a long render", |raw| raw.len() > 400_000);
    let pid = p.pid().expect("pid") as i32;
    // SAFETY: signalling the child we started.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    p.wait_exit();
    let raw = p.raw();
    // The terminal was given back: bracketed paste off, cursor shown.
    let tail = &raw[raw.len().saturating_sub(4096)..];
    assert!(tail.contains("\x1b[?2004l"), "{tail:?}");
    assert!(tail.contains("\x1b[?25h"), "{tail:?}");
}

#[test]
fn ctrl_z_leaves_the_shell_a_clean_line_and_fg_brings_the_chat_back() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let mut env = sb.env.clone();
    env.push(("LETTA_HOME".into(), sb.home.path().display().to_string()));
    env.push(("PS1".into(), "shell$ ".into()));
    let p = support::pty::Pty::spawn(
        "bash",
        &["--norc", "--noprofile", "-i"],
        sb.project.path(),
        &env,
        100,
        30,
    );
    p.wait_text("shell$");
    p.send(&format!("{} -m openai/gpt-test\r", support::bin::letta()));
    p.wait_for("the chat", |s| s.contains("↑0 ↓0") && s.contains('›'));
    p.send("\x1a");
    p.wait_text("Stopped");
    let screen = p.screen();
    // The shell's line stands alone: the status line was cleared, not written over.
    let stopped = screen.lines().find(|l| l.contains("Stopped")).unwrap();
    assert!(!stopped.contains("↑0"), "{screen}");
    assert!(!screen.contains("↑0 ↓0"), "{screen}");
    p.send("echo still-$((40+2))\r");
    p.wait_text("still-42");
    p.send("fg\r");
    p.wait_for("the chat again", |s| s.contains("↑0 ↓0") && s.contains('›'));
    // What the shell printed meanwhile is still in the scrollback.
    assert!(p.transcript().contains("still-42"));
    p.send("\x03\x03");
    p.wait_text("shell$");
}
