//! Agent Files (`.af`) through the real binary: `letta server` → file → a fresh engine →
//! file gives the same file, the other way round too, and a file in the shape Letta
//! publishes imports with its memory, history and model.

use crate::support;

use support::bin::{Sandbox, out};
use support::llm::ScriptedLlm;

fn agent_ids(o: &std::process::Output) -> Vec<String> {
    let (stdout, stderr) = out(o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    v["agent_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_string())
        .collect()
}

fn export(sb: &Sandbox, id: &str) -> serde_json::Value {
    let o = sb.run(&["agents", "export", id]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn server_to_file_to_engine_to_file_and_back() {
    let llm = ScriptedLlm::start_in_background();
    let server_home = Sandbox::new(&llm.openai_url());
    let server = server_home.start_server(&[]);
    let mut remote = Sandbox::new(&llm.openai_url());
    remote.env = vec![("LETTA_BASE_URL".into(), server.url.clone())];
    let o = remote.run_with_stdin(
        &["--plain", "-m", "openai/gpt-test"],
        "hello one\n/fork --all side road\n/model openai/gpt-other\nhello two\n/exit\n",
    );
    assert!(o.status.success(), "{:?}", out(&o));

    // Exported from the server (the project's agent), to a file.
    let file = remote.project.path().join("agent.af");
    let o = remote.run(&["agents", "export", "-o", file.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", out(&o));
    let first: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let agent = &first["agents"][0];
    assert_eq!(agent["llm_config"]["handle"], "openai/gpt-test");
    let convs = agent["conversations"].as_array().unwrap();
    assert_eq!(convs.len(), 1, "{first}");
    assert_eq!(convs[0]["summary"], "side road");
    assert_eq!(convs[0]["parent_conversation_id"], "default");
    assert_eq!(
        convs[0]["model"], "openai/gpt-other",
        "a conversation's own model travels"
    );
    let text = first.to_string();
    for said in [
        "hello one",
        "echo: hello one",
        "hello two",
        "echo: hello two",
    ] {
        assert!(text.contains(said), "{said} is missing");
    }
    assert!(first["blocks"].as_array().is_some_and(|b| !b.is_empty()));

    // Into a fresh engine, and out again: the same file.
    let fresh = Sandbox::new(&llm.openai_url());
    let ids = agent_ids(&fresh.run(&["agents", "import", file.to_str().unwrap()]));
    assert_eq!(ids.len(), 1);
    let second = export(&fresh, &ids[0]);
    assert_eq!(first, second);

    // And from the engine into the server: the same again.
    let engine_file = fresh.project.path().join("from-engine.af");
    std::fs::write(&engine_file, second.to_string()).unwrap();
    let ids = agent_ids(&remote.run(&["agents", "import", engine_file.to_str().unwrap()]));
    assert_eq!(export(&remote, &ids[0]), first);

    // The imported fork is a working conversation with its history.
    let fork_tree = remote.run(&["conversations", "tree", "--agent", &ids[0]]);
    let (tree, _) = out(&fork_tree);
    assert!(tree.contains("\"side road\""), "{tree}");
}

#[test]
fn a_file_in_lettas_shape_imports_with_memory_history_and_model() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let af = sb.project.path().join("pilot.af");
    std::fs::write(&af, include_str!("fixtures/agent-file/letta-shaped.af")).unwrap();
    let ids = agent_ids(&sb.run(&["agents", "import", af.to_str().unwrap()]));
    let id = &ids[0];

    // Its history reads back as a conversation.
    let o = sb.run(&["conversations", "export", "default", "--agent", id]);
    let (md, _) = out(&o);
    assert!(
        md.contains("Which berth is free for the ferry Kestrel?"),
        "{md}"
    );
    assert!(md.contains("**Tool call: berth_list**"), "{md}");
    assert!(md.contains("berth 7 is free"), "{md}");
    assert!(md.contains("Kestrel can take berth seven."), "{md}");

    // A turn sees the memory, the history and runs on the file's model.
    let o = sb.run(&["-p", "and tomorrow?", "--agent", id]);
    assert!(o.status.success(), "{:?}", out(&o));
    let body = llm.last_body();
    assert_eq!(body["model"], "gpt-test");
    let text = body.to_string();
    for seen in [
        "The harbour master is Ines",
        "I am a calm harbour pilot",
        "You guide boats into the harbour",
        "Which berth is free",
        "berth 7 is free",
        "Kestrel can take berth seven.",
        "and tomorrow?",
    ] {
        assert!(text.contains(seen), "{seen} is missing: {text}");
    }
}

#[test]
fn export_writes_markdown_and_json() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let o = sb.run_with_stdin(
        &["--plain", "-m", "openai/gpt-test"],
        "first question\n/export\n/export talk.json\n/exit\n",
    );
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Exported 2 messages to"), "{stdout}");
    let md = std::fs::read_to_string(sb.project.path().join("default-conversation.md")).unwrap();
    assert!(
        md.contains("### You") && md.contains("first question"),
        "{md}"
    );
    assert!(md.contains("echo: first question"), "{md}");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sb.project.path().join("talk.json")).unwrap(),
    )
    .unwrap();
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .any(|m| m["message_type"] == "assistant_message")
    );
}

#[test]
fn hostile_text_in_an_imported_file_reaches_no_terminal_raw() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let raw = include_str!("fixtures/agent-file/letta-shaped.af").replace(
        "Which berth is free for the ferry Kestrel?",
        "Which berth\\u001b]0;PWNED\\u0007\\u001b[2J is free?",
    );
    let af = sb.project.path().join("evil.af");
    std::fs::write(&af, raw).unwrap();
    let ids = agent_ids(&sb.run(&["agents", "import", af.to_str().unwrap()]));
    // Markdown to a terminal is made harmless; to a pipe or file it is the text as it was.
    let mut p = sb.pty(
        &["conversations", "export", "default", "--agent", &ids[0]],
        &[],
    );
    p.wait_for_raw("the export", |r| {
        r.contains("Kestrel can take berth seven.")
    });
    assert_eq!(p.wait_exit(), 0);
    let seen = p.raw();
    assert!(!seen.contains("\x1b]0;PWNED"), "{seen:?}");
    assert!(seen.contains("␛]0;PWNED"), "{seen:?}");
    let o = sb.run(&["conversations", "export", "default", "--agent", &ids[0]]);
    assert!(out(&o).0.contains("\x1b]0;PWNED"));
}
