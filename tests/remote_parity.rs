//! The real `letta` against a Letta server (our own `letta server`), on the paths where a real
//! server behaves differently from the embedded engine: which model a new agent gets, what a
//! new agent looks like, and `-m` typos.

use crate::support;

use support::bin::{Sandbox, ServerProc, out};
use support::llm::{Reply, ScriptedLlm};

/// A server with no default model of its own, and a client pointed at it.
fn server_and_client(llm: &ScriptedLlm) -> (Sandbox, ServerProc, Sandbox) {
    let server_box = Sandbox::new(&llm.openai_url());
    let server = server_box.start_server(&[]);
    let mut client = Sandbox::new("");
    client.env = vec![("LETTA_BASE_URL".into(), server.url.clone())];
    (server_box, server, client)
}

fn get_json(url: &str) -> serde_json::Value {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        reqwest::get(url)
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    })
}

#[test]
fn a_mistyped_model_is_refused_with_the_models_that_exist() {
    let llm = ScriptedLlm::start_in_background();
    let (_s, server, client) = server_and_client(&llm);
    let o = client.run(&["-p", "hi", "-m", "openai/gpt-tset"]);
    let (_, stderr) = out(&o);
    assert!(!o.status.success(), "a typo must not create an agent");
    assert!(stderr.contains("gpt-tset"), "{stderr}");
    assert!(stderr.contains("openai/gpt-test"), "{stderr}");
    // Nothing was created on the server and nothing was sent to the model.
    let agents = get_json(&format!("{}/v1/agents/", server.url));
    assert_eq!(agents.as_array().map(Vec::len), Some(0), "{agents}");
    assert!(llm.requests().is_empty());
}

#[test]
fn a_new_agent_without_a_model_gets_the_first_one_and_our_blocks() {
    let llm = ScriptedLlm::start_in_background();
    let (_s, server, client) = server_and_client(&llm);
    llm.push([Reply::Text("hello".into())]);
    let o = client.run(&["-p", "hi", "--output-format", "json"]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("openai/gpt-test"),
        "the choice is said: {stderr}"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let agent = get_json(&format!(
        "{}/v1/agents/{}",
        server.url,
        v["agent_id"].as_str().unwrap()
    ));
    assert_eq!(agent["model"], "openai/gpt-test", "{agent}");
    // Named after the project folder, with a short id so two agents differ.
    let folder = client
        .project
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    let name = agent["name"].as_str().unwrap();
    assert!(name.starts_with(&format!("{folder}-")), "{name}");
    let labels: Vec<&str> = agent["memory"]["blocks"]
        .as_array()
        .or(agent["blocks"].as_array())
        .unwrap()
        .iter()
        .filter_map(|b| b["label"].as_str())
        .collect();
    assert!(
        labels.contains(&"persona") && labels.contains(&"human"),
        "{labels:?}"
    );
    assert!(
        !agent["system"].as_str().unwrap_or("").is_empty(),
        "{agent}"
    );
}

/// The client half of each case: a `RemoteClient` on a replay of real captures.
async fn replayed(names: &[&str]) -> (support::replay::Replay, letta::remote::RemoteClient) {
    let script = names
        .iter()
        .flat_map(|n| support::replay::exchanges(n))
        .collect();
    let replay = support::replay::Replay::start(script).await;
    let client = letta::remote::RemoteClient::new(&replay.url, None);
    (replay, client)
}

const AGENT: &str = "agent-12911bd8-5fda-40dd-949c-6594ae064b06";

fn contents(page: &[letta::protocol::LettaMessage]) -> Vec<String> {
    page.iter()
        .map(|m| {
            serde_json::to_value(m).unwrap()["content"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn the_default_conversation_reads_newest_first_though_the_server_sends_it_oldest_first() {
    use letta::backend::Backend;
    let (_r, client) = replayed(&["25d-default-list-desc"]).await;
    let page = client
        .list_messages(
            "default",
            Some(AGENT),
            letta::protocol::ListParams::latest(3),
        )
        .await
        .unwrap();
    assert_eq!(
        contents(&page),
        [
            "Hello from fake LLM! You said: Default three: mango",
            "Default three: mango",
            "Hello from fake LLM! You said: Default two: kiwi",
        ]
    );
}

#[tokio::test]
async fn a_refusal_inside_a_200_stream_is_the_same_error_as_a_409() {
    use letta::backend::{Backend, BackendError};
    let (_r, client) = replayed(&["26b-default-new-message-while-pending-background"]).await;
    let mut req = support::chunks::user("hello");
    req.agent_id = Some(AGENT.into());
    let got = client.send_message("default", req).await;
    assert!(
        matches!(got, Err(BackendError::PendingApproval(_))),
        "{:?}",
        got.err()
    );
}

#[tokio::test]
async fn compacting_a_short_conversation_says_there_is_nothing_to_compact() {
    use letta::commands::{Cmd, Ctx, Outcome};
    let (_r, client) = replayed(&["30e-compact-too-few-messages"]).await;
    let ctx = Ctx {
        backend: std::sync::Arc::new(client),
        session: letta::session::Session {
            agent_id: AGENT.into(),
            conversation_id: "conv-899feb36-6211-4deb-80dd-5f88d877125f".into(),
        },
        checker: Default::default(),
        cwd: std::env::temp_dir(),
        mcp: letta::mcp::McpManager::none(),
        hooks: Default::default(),
    };
    match letta::commands::run(Cmd::Compact, ctx).await {
        Outcome::Info(t) => assert!(t.starts_with("Nothing to compact yet"), "{t}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_second_sender_is_told_another_session_is_replying() {
    use letta::backend::{Backend, BackendError};
    let (_r, client) = replayed(&["12b-busy-second"]).await;
    let got = client
        .send_message(
            "conv-d76bb9d1-c7a7-4adf-b148-af581c0ced90",
            support::chunks::user("second concurrent message"),
        )
        .await;
    match got {
        Err(BackendError::Busy { message, run_id }) => {
            assert!(
                message.starts_with("Another session is running"),
                "{message}"
            );
            assert_eq!(
                run_id.as_deref(),
                Some("run-ea55e988-dbeb-413b-a1c5-493a9cb0447f")
            );
        }
        other => panic!("{:?}", other.err()),
    }
}

#[tokio::test]
async fn search_falls_back_to_the_listed_messages_on_a_self_hosted_server() {
    let (_r, client) = replayed(&[
        "29c-messages-search",
        "04-list-conversations",
        "25d-default-list-desc",
    ])
    .await;
    let found = letta::session::search::search(&client, AGENT, "MANGO", 10)
        .await
        .unwrap();
    let note = found.fallback.unwrap_or_default();
    assert!(note.contains("does not search messages"), "{note}");
    let texts: Vec<&str> = found.hits.iter().map(|h| h.text.as_str()).collect();
    assert!(texts.contains(&"Default three: mango"), "{texts:?}");
    assert!(found.hits.iter().all(|h| h.conversation_id == "default"));
}

/// A fresh home with only the server's address set reaches a working chat with no flags.
#[test]
fn a_fresh_home_with_only_the_server_address_chats() {
    let llm = ScriptedLlm::start_in_background();
    let (_s, _server, client) = server_and_client(&llm);
    let mut env = client.env.clone();
    env.push((
        "LETTA_HOME".into(),
        client.home.path().display().to_string(),
    ));
    let mut p = support::pty::Pty::spawn(
        env!("CARGO_BIN_EXE_letta"),
        &[],
        client.project.path(),
        &env,
        100,
        30,
    );
    // The server offers two models: the person picks (Enter takes the first).
    p.wait_text("number or name (enter for 1)");
    p.send("\r");
    p.wait_text("conversation");
    p.send("hello there\r");
    p.wait_text("echo: hello there");
    p.send("/exit\r");
    assert_eq!(p.wait_exit(), 0);
}

#[test]
fn with_no_model_listed_the_user_is_asked_for_one() {
    // A server with no provider lists no models (and reaches out nowhere).
    let mut server_box = Sandbox::new("");
    server_box.env.clear();
    let server = server_box.start_server(&[]);
    let mut client = Sandbox::new("");
    client.env = vec![("LETTA_BASE_URL".into(), server.url.clone())];
    let mut env = client.env.clone();
    env.push((
        "LETTA_HOME".into(),
        client.home.path().display().to_string(),
    ));
    let mut p = support::pty::Pty::spawn(
        env!("CARGO_BIN_EXE_letta"),
        &["--plain"],
        client.project.path(),
        &env,
        100,
        30,
    );
    p.wait_text("Model for the new agent (provider/model, enter to skip)");
    p.send("openai/gpt-typed\r");
    p.wait_text("/help for commands");
    p.send("/exit\r");
    assert_eq!(p.wait_exit(), 0);
    let agents = get_json(&format!("{}/v1/agents/", server.url));
    assert_eq!(agents[0]["model"], "openai/gpt-typed", "{agents}");
}

#[tokio::test]
async fn a_fork_on_a_letta_server_keeps_its_parent_on_this_machine() {
    use letta::backend::Backend;
    // A real Letta server keeps no lineage: its fork answer and listing say nothing of it.
    let script = ["28-fork", "28b-list-conversations-after-fork"]
        .iter()
        .flat_map(|n| support::replay::exchanges(n))
        .collect();
    let replay = support::replay::Replay::start(script).await;
    let dir = tempfile::tempdir().unwrap();
    let client = letta::remote::RemoteClient::new(&replay.url, None)
        .with_lineage(dir.path().join("forks.json"));
    let parent = "conv-2a1c7cfa-7a72-4452-86ee-fda81cdb22fb";
    let fork = client
        .fork_conversation(parent, Default::default())
        .await
        .unwrap();
    assert_eq!(fork.parent_conversation_id.as_deref(), Some(parent));
    let listed = client
        .list_conversations(letta::backend::ConversationQuery {
            agent_id: Some(AGENT.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let again = listed.iter().find(|c| c.id == fork.id).unwrap();
    assert_eq!(again.parent_conversation_id.as_deref(), Some(parent));
    let forest = letta::session::forks::tree(&listed);
    let holder = forest.iter().find(|n| n.id == parent).unwrap();
    assert_eq!(holder.children[0].id, fork.id);
}
