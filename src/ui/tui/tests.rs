//! Snapshots of the chat view at fixed sizes: the screen as a terminal would show it after
//! transcript lines went to scrollback and the live area was drawn.

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::view::{Action, ChatView};
use super::{draw, live_height};
use crate::permissions::PermissionMode;
use crate::session::setup::Banner as BannerInfo;
use crate::tools::ToolOutput;
use crate::turn::{ToolCallInfo, TurnEvent};

pub(super) struct Screen {
    term: Terminal<TestBackend>,
    pub(super) view: ChatView,
}

fn banner() -> BannerInfo {
    BannerInfo {
        version: "0.1.0".into(),
        agent: "letta (agent-0001)".into(),
        model: "openai/gpt-4.1-mini".into(),
        backend: "local (embedded engine)".into(),
        cwd: "/home/me/project".into(),
        conversation: "conv-0002".into(),
        sandbox: "Landlock sandbox: project-only writes, no network".into(),
        instructions: String::new(),
    }
}

impl Screen {
    pub(super) fn new(w: u16, h: u16, cwd: &Path) -> Self {
        let term = Terminal::with_options(
            TestBackend::new(w, h),
            TerminalOptions {
                viewport: Viewport::Inline(live_height(h)),
            },
        )
        .unwrap();
        let view = ChatView::new(
            &banner(),
            cwd.to_path_buf(),
            PermissionMode::Standard,
            w,
            Vec::new(),
        );
        Self { term, view }
    }

    pub(super) fn show(&mut self) -> String {
        draw(&mut self.term, &mut self.view, false).unwrap();
        self.term.backend().to_string()
    }

    pub(super) fn ev(&mut self, ev: TurnEvent) {
        self.view.turn_event(ev);
    }

    pub(super) fn say(&mut self, text: &str) {
        let chars: Vec<char> = text.chars().collect();
        for chunk in chars.chunks(5) {
            self.ev(TurnEvent::Assistant {
                otid: "m1".into(),
                delta: chunk.iter().collect(),
            });
        }
    }

    pub(super) fn typed(&mut self, s: &str) {
        for c in s.chars() {
            self.view
                .key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }
}

fn snap(name: &str, screen: String) {
    insta::with_settings!({filters => vec![
        (r"[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \d+s", "[spinner]"),
    ]}, {
        insta::assert_snapshot!(name, screen);
    });
}

pub(super) fn call(name: &str, args: serde_json::Value) -> ToolCallInfo {
    ToolCallInfo {
        id: "call-1".into(),
        name: name.into(),
        arguments: args.to_string(),
    }
}

#[test]
fn welcome_banner() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(80, 24, d.path());
    snap("banner_80x24", s.show());
    let mut s = Screen::new(120, 40, d.path());
    snap("banner_120x40", s.show());
}

#[test]
fn streamed_answer_with_code_and_a_table() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(80, 24, d.path());
    s.view.begin_turn("show me");
    s.say("Here is **the** code:\n\n```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n\n| name | size |\n|------|-----:|\n| a.rs | 10 |\n| b.rs | 200 |\n\nDone.");
    snap("streaming_open", s.show());
    let _ = s.view.end_turn(Ok(Default::default()));
    snap("code_and_table_80x24", s.show());
}

#[test]
fn an_open_code_fence_stays_live() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(80, 24, d.path());
    s.view.begin_turn("go");
    s.say("Start:\n```python\nfor i in range(3):\n    print(i)\n");
    snap("open_fence_live", s.show());
}

#[test]
fn reasoning_then_answer() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(80, 24, d.path());
    s.view.begin_turn("why?");
    s.ev(TurnEvent::Reasoning {
        otid: "r".into(),
        delta: "First I look at the question.\nThen the files.\nThen I compare.\nThen I answer.\nDone thinking.".into(),
    });
    s.say("Because.\n");
    let _ = s.view.end_turn(Ok(Default::default()));
    snap("reasoning", s.show());
}

#[test]
fn tool_result_collapsed_then_expanded() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(80, 24, d.path());
    let c = call("Bash", serde_json::json!({"command": "seq 1 10"}));
    s.ev(TurnEvent::ToolStarted { call: c.clone() });
    snap("tool_running", s.show());
    let out = ToolOutput::ok(
        (1..=10)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    s.ev(TurnEvent::ToolFinished {
        call: c,
        output: out,
        duration_ms: 5,
    });
    snap("tool_collapsed", s.show());
    s.view
        .key(KeyEvent::new(KeyCode::Char('o'), KeyModifiers::CONTROL));
    snap("tool_expanded", s.show());
}

#[test]
fn edit_diff_and_todos() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("src")).unwrap();
    std::fs::write(
        d.path().join("src/lib.rs"),
        "fn a() {}\nfn b() {\n    1\n}\nfn c() {}\n",
    )
    .unwrap();
    let mut s = Screen::new(80, 24, d.path());
    let c = call(
        "Edit",
        serde_json::json!({"file_path": "src/lib.rs", "old_string": "    1\n", "new_string": "    2\n    3\n"}),
    );
    std::fs::write(
        d.path().join("src/lib.rs"),
        "fn a() {}\nfn b() {\n    2\n    3\n}\nfn c() {}\n",
    )
    .unwrap();
    s.ev(TurnEvent::ToolFinished {
        call: c,
        output: ToolOutput::ok("ok"),
        duration_ms: 1,
    });
    let t = call(
        "TodoWrite",
        serde_json::json!({"todos": [
        {"content": "Read the code", "status": "completed"},
        {"content": "Fix the bug", "status": "in_progress"},
        {"content": "Write a test", "status": "pending"}]}),
    );
    s.ev(TurnEvent::ToolFinished {
        call: t,
        output: ToolOutput::ok("ok"),
        duration_ms: 1,
    });
    snap("edit_diff_and_todos", s.show());
}

#[test]
fn approval_prompt_with_diff() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("notes.txt"), "alpha\nbeta\ngamma\n").unwrap();
    let mut s = Screen::new(80, 24, d.path());
    let c = call(
        "Edit",
        serde_json::json!({"file_path": "notes.txt", "old_string": "beta", "new_string": "BETA"}),
    );
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    s.view.approval = Some(super::approval::Approval::new(
        c,
        "edits ask in standard mode".into(),
        "Edit(notes.txt)".into(),
        d.path(),
        80,
        tx,
    ));
    snap("approval_80x24", s.show());
    s.view.key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    s.view.key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    s.view
        .key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    for c in "use gamma".chars() {
        s.view
            .key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    snap("approval_reason", s.show());
    s.view
        .key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(
        rx.try_recv().unwrap(),
        crate::turn::ApprovalAnswer::No {
            reason: Some("use gamma".into())
        }
    );
}

#[test]
fn slash_popup_paste_queue_and_error() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(80, 24, d.path());
    s.typed("/");
    snap("slash_popup", s.show());
    s.view
        .key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    s.view.paste(
        &(1..=12)
            .map(|i| format!("pasted line {i}"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    s.typed(" explain");
    snap("paste_placeholder", s.show());
    s.view
        .key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    s.view.begin_turn("first");
    s.typed("and then this");
    let acts = s
        .view
        .key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert!(!acts.iter().any(|a| matches!(a, Action::Send(_))));
    s.ev(TurnEvent::Error {
        message: "the model provider answered 401: check OPENAI_API_KEY".into(),
    });
    snap("queued_and_error", s.show());
    assert_eq!(
        s.view.end_turn(Ok(Default::default())).as_deref(),
        Some("and then this")
    );
}

#[test]
fn cjk_and_wide_text() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(80, 24, d.path());
    s.view.begin_turn("日本語で説明して");
    s.say("これは日本語のテキストです。幅の広い文字も正しく折り返されます。絵文字も大丈夫 🎉🎉 です。もう少し長い文章を書いて、行の折り返しを確認します。\n");
    let _ = s.view.end_turn(Ok(Default::default()));
    s.typed("中文输入");
    snap("cjk_80x24", s.show());
}

#[test]
fn control_sequences_are_made_visible() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(80, 24, d.path());
    s.say("evil \u{1b}[2J\u{1b}]0;title\u{7} text\n");
    let _ = s.view.end_turn(Ok(Default::default()));
    let screen = s.show();
    assert!(screen.contains("evil ␛[2J␛]0;title^G text"), "{screen}");
}

#[test]
fn no_color_leaves_no_colour() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(80, 24, d.path());
    s.say("```rust\nfn main() {}\n```\n");
    let _ = s.view.end_turn(Ok(Default::default()));
    draw(&mut s.term, &mut s.view, true).unwrap();
    let buf = s.term.backend().buffer();
    assert!(
        buf.content
            .iter()
            .all(|c| c.fg == ratatui::style::Color::Reset && c.bg == ratatui::style::Color::Reset)
    );
    assert!(s.term.backend().to_string().contains("fn main() {}"));
}

#[test]
fn a_server_side_memory_edit_shows_live() {
    // The real server's stream for a memory_insert the server runs itself (fixture 31).
    let capture = include_str!("../../../tests/fixtures/letta-server/31-memory-insert-stream.txt");
    let d = tempfile::tempdir().unwrap();
    let mut s = Screen::new(80, 24, d.path());
    for line in capture.lines() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        match crate::protocol::LettaMessage::from_json(data) {
            Ok(crate::protocol::LettaMessage::Assistant(a)) => s.ev(TurnEvent::Assistant {
                otid: "a".into(),
                delta: a.content.to_text(),
            }),
            Ok(m) => s.ev(TurnEvent::Chunk(Box::new(m))),
            Err(_) => {}
        }
    }
    let screen = s.show();
    assert!(screen.contains("Memory(human)"), "{screen}");
    snap("server_memory_edit", screen);
}
