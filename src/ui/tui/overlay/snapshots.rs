//! Snapshots of the overlays at fixed sizes, fed with data as the backend would send it.

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

use super::*;

fn now() -> DateTime<Utc> {
    parse_time("2026-11-23T12:00:00Z").unwrap()
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn show(o: &mut Overlay, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| o.draw(f)).unwrap();
    t.backend().to_string()
}

fn conv(i: usize, title: Option<&str>, minutes_ago: i64) -> Conversation {
    let at = now() - chrono::Duration::minutes(minutes_ago);
    serde_json::from_value(json!({
        "id": format!("conv-{i:04}"),
        "agent_id": "agent-1",
        "summary": title,
        "created_at": (now() - chrono::Duration::days(15)).to_rfc3339(),
        "last_message_at": at.to_rfc3339(),
    }))
    .unwrap()
}

fn page(from: usize, n: usize) -> Vec<Conversation> {
    (from..from + n)
        .map(|i| {
            conv(
                i,
                (i % 3 != 0).then_some("refactor the parser"),
                5 + i as i64 * 60,
            )
        })
        .collect()
}

fn preview_of(user: &str, agent: &str) -> Preview {
    Preview {
        lines: vec![format!("you: {user}"), format!("agent: {agent}")],
        ..Default::default()
    }
}

fn browser() -> Overlay {
    let session = Session {
        agent_id: "agent-1".into(),
        conversation_id: "conv-0001".into(),
    };
    let (mut b, reqs) = resume::Browser::open(&session.conversation_id);
    assert!(reqs.contains(&Req::Fetch(Fetch::Default)));
    b.now = Some(now());
    Overlay::new(Box::new(b))
}

#[test]
fn resume_browser_with_previews_times_and_paging() {
    let mut o = browser();
    o.apply(Data::Conversations {
        search: None,
        after: None,
        result: Ok(page(0, PAGE as usize)),
    });
    o.apply(Data::Default(Ok(Some(resume::Row::default_conversation(
        Preview {
            lines: vec!["you: hello".into()],
            last: Some((now() - chrono::Duration::minutes(90)).to_rfc3339()),
            first: None,
            empty: false,
        },
        Some((now() - chrono::Duration::days(30)).to_rfc3339()),
    )))));
    // The first draw learns the page size; previews are asked for the rows on screen only.
    show(&mut o, 90, 30);
    let wants = o.wants();
    let Some(Req::Fetch(Fetch::Previews(ids))) = wants.last() else {
        panic!("{wants:?}")
    };
    assert_eq!(ids, &["conv-0000".to_string(), "conv-0001".to_string()]);
    o.apply(Data::Previews(vec![
        (
            "conv-0000".into(),
            Ok(preview_of(
                "fix the failing test in parser.rs",
                "Done: the off-by-one in the tokenizer is fixed.",
            )),
        ),
        (
            "conv-0001".into(),
            Ok(preview_of("and the docs?", "Updated README.md.")),
        ),
    ]));
    insta::assert_snapshot!("resume_browser_90x30", show(&mut o, 90, 30));

    // Moving to the end of the loaded rows asks for the next page after the last id.
    for _ in 0..PAGE {
        o.key(key(KeyCode::Down));
    }
    show(&mut o, 90, 30);
    let wants = o.wants();
    assert!(
        wants.contains(&Req::Fetch(Fetch::Conversations {
            search: None,
            after: Some(format!("conv-{:04}", PAGE - 1)),
        })),
        "{wants:?}"
    );
    insta::assert_snapshot!("resume_browser_paged_90x30", show(&mut o, 90, 30));
}

#[test]
fn resume_browser_keys() {
    let mut o = browser();
    o.apply(Data::Conversations {
        search: None,
        after: None,
        result: Ok(page(0, 3)),
    });
    // The conversation in use cannot be deleted; another one asks first.
    o.key(key(KeyCode::Down));
    assert!(o.key(key(KeyCode::Delete)).is_empty());
    o.key(key(KeyCode::Up));
    o.key(key(KeyCode::Delete));
    assert_eq!(
        o.key(key(KeyCode::Char('y'))),
        vec![Req::Fetch(Fetch::DeleteConversation("conv-0000".into()))]
    );
    o.apply(Data::ConversationDeleted("conv-0000".into(), Ok(())));
    // Enter switches; typing searches (once a search is typed, j is a letter); Esc clears,
    // then closes.
    o.key(key(KeyCode::Char('r')));
    assert_eq!(
        o.key(key(KeyCode::Char('j'))),
        vec![Req::FetchLater(Fetch::Find("rj".into()))]
    );
    o.key(key(KeyCode::Esc));
    o.key(key(KeyCode::Char('j')));
    assert_eq!(
        o.key(key(KeyCode::Enter)),
        vec![Req::Run(Cmd::Resume(Some("conv-0002".into())))]
    );
    assert_eq!(o.key(key(KeyCode::Esc)), vec![Req::Close]);
    // Search results the loaded rows do not hold are shown too.
    for c in "zeta".chars() {
        o.key(key(KeyCode::Char(c)));
    }
    o.apply(Data::Conversations {
        search: Some("zeta".into()),
        after: None,
        result: Ok(vec![conv(9000, Some("zeta release"), 10_000)]),
    });
    let s = show(&mut o, 90, 20);
    assert!(s.contains("zeta release  (conv-9000)"), "{s}");
    assert!(!s.contains("conv-0002"), "{s}");

    // Message text matches too: the snippet is shown, and Enter opens it quoting the match.
    o.apply(Data::Found {
        query: "zeta".into(),
        titles: Ok(Vec::new()),
        hits: Ok(crate::session::search::Found {
            hits: serde_json::from_value(json!([
                {"message_id": "m1", "conversation_id": "conv-0004", "role": "assistant",
                 "text": "The zeta function\nconverges here.", "created_at": "2026-11-23T10:00:00Z"},
                {"message_id": "m0", "conversation_id": "conv-0004", "role": "user",
                 "text": "older zeta", "created_at": "2026-11-23T09:00:00Z"}
            ]))
            .unwrap(),
            fallback: None,
        }),
    });
    insta::assert_snapshot!("resume_found_in_text_90x20", show(&mut o, 90, 20));
    o.key(key(KeyCode::Down));
    assert_eq!(
        o.key(key(KeyCode::Enter)),
        vec![Req::Run(Cmd::ResumeAt {
            id: "conv-0004".into(),
            message_id: "m1".into(),
            quote: "assistant: The zeta function converges here.".into(),
            date: "2026-11-23T10:00:00Z".into(),
        })]
    );
}

#[test]
fn agent_browser() {
    let session = Session {
        agent_id: "agent-1".into(),
        conversation_id: "default".into(),
    };
    let (mut b, _) = agents::Browser::open(&session.agent_id);
    b.now = Some(now());
    let mut o = Overlay::new(Box::new(b));
    let agents: Vec<Agent> = serde_json::from_value(json!([
        {"id": "agent-1", "name": "letta", "model": "openai/gpt-4.1-mini", "last_run_completion": "2026-11-23T11:58:00Z"},
        {"id": "agent-2", "name": "reviewer", "model": "anthropic/claude-sonnet-4", "created_at": "2026-10-01T00:00:00Z"},
        {"id": "agent-3", "name": "docs writer", "model": "ollama/qwen3"}
    ]))
    .unwrap();
    o.apply(Data::Agents {
        search: None,
        result: Ok((agents, vec!["agent-3".into()])),
    });
    insta::assert_snapshot!("agent_browser_80x20", show(&mut o, 80, 20));
    // Pinned first: agent-3, then agent-1 (current), agent-2.
    o.key(key(KeyCode::Char('j')));
    o.key(key(KeyCode::Char('j')));
    assert_eq!(
        o.key(key(KeyCode::Char('p'))),
        vec![Req::Fetch(Fetch::Pin {
            agent_id: "agent-2".into(),
            pinned: true
        })]
    );
    assert_eq!(
        o.key(key(KeyCode::Enter)),
        vec![Req::Run(Cmd::SwitchAgent("agent-2".into()))]
    );
    // `n` asks for a name first; Esc gives up, an empty name takes the folder's.
    assert!(o.key(key(KeyCode::Char('n'))).is_empty());
    assert!(show(&mut o, 90, 20).contains("Name the new agent: ▏"));
    o.key(key(KeyCode::Esc));
    assert!(!show(&mut o, 90, 20).contains("Name the new agent"));
    o.key(key(KeyCode::Char('n')));
    for c in "reviewer".chars() {
        o.key(key(KeyCode::Char(c)));
    }
    assert!(show(&mut o, 90, 20).contains("Name the new agent: reviewer▏"));
    assert_eq!(
        o.key(key(KeyCode::Enter)),
        vec![Req::Run(Cmd::NewAgent(Some("reviewer".into())))]
    );
    o.key(key(KeyCode::Char('n')));
    assert_eq!(
        o.key(key(KeyCode::Enter)),
        vec![Req::Run(Cmd::NewAgent(None))]
    );
    o.key(key(KeyCode::Delete));
    let shown = show(&mut o, 80, 20);
    assert!(
        shown.contains("y/n: delete agent"),
        "the question shows first: {shown}"
    );
    assert_eq!(
        o.key(key(KeyCode::Char('y'))),
        vec![Req::Fetch(Fetch::DeleteAgent("agent-2".into()))]
    );
}

#[test]
fn model_picker() {
    let session = Session {
        agent_id: "agent-1".into(),
        conversation_id: "default".into(),
    };
    let (mut o, reqs) = Overlay::open(Open::Models, &session);
    assert_eq!(reqs, vec![Req::Fetch(Fetch::Models)]);
    let models: Vec<LlmModel> = serde_json::from_value(json!([
        {"handle": "openai/gpt-4.1", "context_window": 1_047_576},
        {"handle": "openai/gpt-4.1-mini", "context_window": 1_047_576},
        {"handle": "ollama/qwen3:8b", "context_window": 40960}
    ]))
    .unwrap();
    o.apply(Data::Models(Ok((
        models,
        Some("openai/gpt-4.1-mini".into()),
    ))));
    insta::assert_snapshot!("model_picker_70x12", show(&mut o, 70, 12));
    for c in "qwen".chars() {
        o.key(key(KeyCode::Char(c)));
    }
    assert_eq!(
        o.key(key(KeyCode::Enter)),
        vec![Req::Run(Cmd::Model(Some("ollama/qwen3:8b".into())))]
    );
}

#[test]
fn memory_viewer() {
    let session = Session {
        agent_id: "agent-1".into(),
        conversation_id: "default".into(),
    };
    let (mut o, _) = Overlay::open(Open::Memory, &session);
    let blocks: Vec<Block> = serde_json::from_value(json!([
        {"label": "persona", "value": "I am a coding agent.\nI keep notes.", "limit": 5000},
        {"label": "human", "value": "Prefers tabs over spaces.", "limit": 5000, "description": "What I know about the user"},
        {"label": "project", "value": "A Rust CLI.", "limit": 20, "read_only": true}
    ]))
    .unwrap();
    o.apply(Data::Blocks(Ok(blocks)));
    o.key(key(KeyCode::Right));
    insta::assert_snapshot!("memory_viewer_70x12", show(&mut o, 70, 12));
    assert_eq!(
        o.key(key(KeyCode::Char('e'))),
        vec![Req::Edit {
            label: "human".into(),
            value: "Prefers tabs over spaces.".into(),
            limit: Some(5000)
        }]
    );
    o.key(key(KeyCode::Tab));
    assert!(o.key(key(KeyCode::Char('e'))).is_empty(), "read-only");
}

#[test]
fn help() {
    let session = Session {
        agent_id: "agent-1".into(),
        conversation_id: "default".into(),
    };
    let (mut o, _) = Overlay::open(Open::Help, &session);
    insta::assert_snapshot!("help_90x30", show(&mut o, 90, 30));
    o.key(key(KeyCode::Tab));
    assert!(show(&mut o, 90, 30).contains("shift+tab"));
}

#[test]
fn limit_is_checked_before_saving() {
    assert!(check_limit("human", "short", Some(10)).is_ok());
    let e = check_limit("human", "far too long", Some(5)).unwrap_err();
    assert!(e.contains("12 characters, over its limit of 5"), "{e}");
    assert!(check_limit("human", "anything", None).is_ok());
}

fn utc_clock(ts: &str) -> Option<String> {
    parse_time(ts).map(|t| t.format("%H:%M").to_string())
}

fn fork(id: &str, parent: Option<&str>, title: Option<&str>, at: &str) -> Conversation {
    serde_json::from_value(json!({
        "id": id, "agent_id": "agent-1", "summary": title,
        "parent_conversation_id": parent,
        "created_at": format!("2026-11-23T{at}:00Z"),
        "last_message_at": format!("2026-11-23T{at}:30Z"),
    }))
    .unwrap()
}

#[test]
fn resume_tree_after_two_levels_of_forks() {
    let (mut b, _) = resume::Browser::open("conv-c2");
    b.now = Some(now());
    let reqs = b.key(key(KeyCode::Char('t')));
    assert_eq!(reqs, vec![Req::Fetch(Fetch::Tree)]);
    b.tree.as_mut().unwrap().clock = utc_clock;
    let mut o = Overlay::new(Box::new(b));
    o.apply(Data::Tree(Ok(vec![
        fork("conv-c2", Some("conv-b1"), Some("try the lexer"), "11:40"),
        fork("conv-b2", Some("default"), None, "11:20"),
        fork("conv-b1", Some("default"), Some("fix parser"), "10:42"),
        fork("conv-c1", Some("conv-b1"), None, "11:05"),
        fork("conv-solo", None, Some("unrelated work"), "09:00"),
    ])));
    insta::assert_snapshot!("resume_tree_80x16", show(&mut o, 80, 16));
    // Enter on a branch switches to it; t goes back to the list.
    assert_eq!(
        o.key(key(KeyCode::Down)),
        Vec::<Req>::new(),
        "the cursor starts on the current conversation"
    );
    assert_eq!(
        o.key(key(KeyCode::Enter)),
        vec![Req::Run(Cmd::Resume(Some("conv-c1".into())))]
    );
    o.key(key(KeyCode::Char('t')));
    assert!(show(&mut o, 80, 16).contains("Resume a previous conversation"));
}

#[test]
fn one_agent_is_one_agent() {
    let (b, _) = agents::Browser::open("agent-1");
    let mut o = Overlay::new(Box::new(b));
    let a: Agent = serde_json::from_value(json!({"id": "agent-1", "name": "solo"})).unwrap();
    o.apply(Data::Agents {
        search: None,
        result: Ok((vec![a], Vec::new())),
    });
    let s = show(&mut o, 90, 20);
    assert!(s.contains("1 agent · 0 pinned"), "{s}");
}

#[test]
fn typing_a_word_that_starts_with_d_searches_and_deletes_nothing() {
    let mut o = browser();
    o.apply(Data::Conversations {
        search: None,
        after: None,
        result: Ok(page(0, 3)),
    });
    o.key(key(KeyCode::Down));
    assert_eq!(
        o.key(key(KeyCode::Char('d'))),
        vec![Req::FetchLater(Fetch::Find("d".into()))]
    );
    assert_eq!(
        o.key(key(KeyCode::Char('y'))),
        vec![Req::FetchLater(Fetch::Find("dy".into()))]
    );
    assert!(show(&mut o, 90, 20).contains("Search: dy"));
}

#[test]
fn previews_use_the_full_width() {
    let mut o = browser();
    o.apply(Data::Conversations {
        search: None,
        after: None,
        result: Ok(page(0, 1)),
    });
    let reply = "word ".repeat(60);
    o.apply(Data::Previews(vec![(
        "conv-0000".into(),
        Ok(preview_of("a question", reply.trim())),
    )]));
    let s = show(&mut o, 120, 30);
    let first = s.lines().find(|l| l.contains("agent: word")).unwrap();
    assert!(first.trim_end().chars().count() > 100, "{s}");
    let next = s
        .lines()
        .skip_while(|l| !l.contains("agent: word"))
        .nth(1)
        .unwrap();
    assert!(
        next.trim_start_matches('"').starts_with("           word"),
        "{s}"
    );
}
