//! The chat view's keys and markers: exit words, Esc twice, file completion, a question set
//! aside with Esc, red markers for failed and denied calls, retries in the status line.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::tests::{Screen, call};
use crate::tools::ToolOutput;
use crate::turn::{ToolCallInfo, TurnEvent};

#[test]
fn a_bare_exit_leaves_and_esc_twice_offers_a_branch() {
    use super::view::Action;
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(80, 24, d.path());
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    s.typed("quit");
    assert!(s.view.key(enter).contains(&Action::Exit));
    s.typed("exit the loop");
    assert_eq!(
        s.view.key(enter),
        vec![
            Action::Remember("exit the loop".into()),
            Action::Send("exit the loop".into())
        ]
    );
    let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
    assert!(s.view.key(esc).is_empty());
    assert!(s.show().contains("Press Esc again to branch"));
    assert_eq!(
        s.view.key(esc),
        vec![Action::Open(super::overlay::Open::ForkPoints)]
    );
}

/// The colour of the marker on the first line that shows `title`.
fn marker(lines: &[ratatui::text::Line<'static>], title: &str) -> Option<ratatui::style::Color> {
    lines
        .iter()
        .find(|l| l.spans.iter().any(|s| s.content.contains(title)))
        .and_then(|l| l.spans.first())
        .and_then(|s| s.style.fg)
}

#[test]
fn failed_and_denied_calls_are_red_and_a_command_shows_its_description() {
    use ratatui::style::Color;
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(80, 24, d.path());
    let edit = call(
        "Edit",
        serde_json::json!({"file_path": "gone.txt", "old_string": "a", "new_string": "b"}),
    );
    s.ev(TurnEvent::ToolFinished {
        call: edit,
        output: ToolOutput::err("gone.txt does not exist"),
        duration_ms: 1,
    });
    let bash = ToolCallInfo {
        id: "call-2".into(),
        ..call("Bash", serde_json::json!({"command": "rm -rf build"}))
    };
    s.ev(TurnEvent::Denied {
        call: bash,
        reason: "the user said no".into(),
    });
    let lines = s.view.take_history();
    assert_eq!(marker(&lines, "Update(gone.txt)"), Some(Color::Red));
    assert_eq!(marker(&lines, "Bash(rm -rf build)"), Some(Color::Red));
    let denied = lines
        .iter()
        .find(|l| {
            l.spans
                .iter()
                .any(|s| s.content.contains("Bash(rm -rf build)"))
        })
        .unwrap();
    assert!(denied.spans.iter().any(|s| s.content.contains("Denied")));

    let (tx, _rx) = tokio::sync::oneshot::channel();
    s.view.approval = Some(super::approval::Approval::new(
        call(
            "Bash",
            serde_json::json!({"command": "ls src", "description": "List the source files"}),
        ),
        "Bash runs a command".into(),
        "Bash(ls:*)".into(),
        d.path(),
        80,
        tx,
    ));
    let screen = s.show();
    assert!(
        screen.contains("Run this command?  (List the source files)"),
        "{screen}"
    );
    assert!(!screen.contains("Bash runs a command"), "{screen}");
}

#[test]
fn enter_on_a_file_completion_takes_it_and_sends() {
    use super::view::Action;
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(80, 24, d.path());
    s.view.set_files(std::sync::Arc::new(vec![
        "src/".into(),
        "src/main.rs".into(),
    ]));
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    s.typed("look at @src/main.r");
    let acts = s.view.key(enter);
    assert!(
        acts.contains(&Action::Send("look at @src/main.rs ".into())),
        "{acts:?}"
    );
    // A folder stays open for the rest of the path.
    s.typed("see @sr");
    assert!(s.view.key(enter).is_empty());
    assert!(s.show().contains("see @src/"));
    s.typed("m");
    assert!(
        s.view
            .key(enter)
            .contains(&Action::Send("see @src/main.rs ".into()))
    );
}

#[test]
fn a_retry_shows_in_the_status_line_until_text_comes() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(80, 24, d.path());
    s.view.begin_turn("hi");
    s.ev(TurnEvent::Chunk(Box::new(
        crate::protocol::retry::retry_event(2, 4, 3000, "overloaded"),
    )));
    assert!(s.show().contains("retrying (2/4) in 3 s: overloaded"));
    s.say("ok");
    assert!(!s.show().contains("retrying"));
}

#[test]
fn esc_at_a_question_hands_the_input_back_for_the_reason() {
    use crate::turn::ApprovalAnswer;
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(80, 24, d.path());
    s.view.begin_turn("go");
    let ask = |s: &mut Screen| {
        let (tx, rx) = tokio::sync::oneshot::channel();
        s.view.approval = Some(super::approval::Approval::new(
            call("Bash", serde_json::json!({"command": "make deploy"})),
            "Bash runs a command".into(),
            "Bash(make:*)".into(),
            d.path(),
            80,
            tx,
        ));
        rx
    };
    let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    let mut rx = ask(&mut s);
    assert!(s.view.key(esc).is_empty());
    assert!(s.view.approval.is_none(), "the question steps aside");
    assert!(rx.try_recv().is_err(), "nothing is sent yet");
    assert!(
        s.show()
            .contains("denying the call: type what to do instead")
    );
    s.typed("run the tests first");
    assert!(
        s.view.key(enter).is_empty(),
        "not sent as a message of its own"
    );
    assert!(matches!(
        rx.try_recv(),
        Ok(ApprovalAnswer::No { reason: Some(r) }) if r == "run the tests first"
    ));
    // Esc twice: denied as it is.
    let mut rx = ask(&mut s);
    s.view.key(esc);
    s.view.key(esc);
    assert!(matches!(
        rx.try_recv(),
        Ok(ApprovalAnswer::No { reason: None })
    ));
}

#[test]
fn a_recalled_paste_sends_its_text_and_the_echo_is_collapsed() {
    use super::view::Action;
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(80, 24, d.path());
    let key = |c| KeyEvent::new(c, KeyModifiers::NONE);
    let big: String = (0..500).fold(String::new(), |s, i| s + &format!("row {i}\n"));
    s.view.paste(&big);
    let sent = s.view.key(key(KeyCode::Enter));
    let text = big.clone();
    assert!(sent.contains(&Action::Send(text.clone())));
    s.view.begin_turn(&text);
    s.view.end_turn(Ok(Default::default()));
    let shown = s.show();
    assert!(shown.contains("[Pasted text #1 +500 lines]"), "{shown}");
    assert!(!shown.contains("row 250"), "{shown}");
    // Up brings the entry back, and sending it sends the text, not the placeholder.
    s.view.key(key(KeyCode::Up));
    assert!(s.show().contains("[Pasted text #1"));
    let again = s.view.key(key(KeyCode::Enter));
    assert!(again.contains(&Action::Send(text)));
}

#[test]
fn ctrl_l_redraws_and_the_token_count_moves_while_streaming() {
    use super::view::Action;
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(160, 24, d.path());
    let ctrl_l = KeyEvent::new(KeyCode::Char('l'), KeyModifiers::CONTROL);
    assert_eq!(s.view.key(ctrl_l), vec![Action::Redraw]);
    s.view.begin_turn("hi");
    s.view.turn_event(TurnEvent::Assistant {
        otid: "o".into(),
        delta: "word ".repeat(400),
    });
    let shown = s.show();
    let status = shown
        .lines()
        .find(|l| l.contains("↓"))
        .unwrap_or("")
        .to_string();
    assert!(status.contains("↓500"), "{status}");
}
