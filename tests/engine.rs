//! The embedded engine against scripted OpenAI-compatible and Anthropic servers.

use crate::support;

use futures_util::StreamExt;
use letta::backend::{AgentQuery, Backend, BackendError, ChunkStream, ConversationQuery};
use letta::llm::{ProviderRegistry, ProviderSpec};
use letta::local::Engine;
use letta::local::store::Store;
use letta::protocol::*;
use serde_json::{Value, json};
use support::chunks::{assistant_text, stop_reason, user};
use support::llm::{Reply, ScriptedLlm};

struct Env {
    llm: ScriptedLlm,
    engine: Engine,
    _dir: tempfile::TempDir,
}

fn providers(llm: &ScriptedLlm) -> ProviderRegistry {
    use letta::llm::ProviderKind;
    ProviderRegistry::from_specs(vec![
        ProviderSpec {
            name: "openai".into(),
            kind: ProviderKind::OpenAi,
            base_url: llm.openai_url(),
            api_key: Some("sk-test".into()),
            key_var: "OPENAI_API_KEY".into(),
            source: "env",
        },
        ProviderSpec {
            name: "anthropic".into(),
            kind: ProviderKind::Anthropic,
            base_url: llm.anthropic_url(),
            api_key: Some("ak-test".into()),
            key_var: "ANTHROPIC_API_KEY".into(),
            source: "env",
        },
    ])
}

async fn setup() -> Env {
    let llm = ScriptedLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("letta.db")).unwrap();
    let engine = Engine::new(store, providers(&llm), Some("openai/gpt-test".into()));
    Env {
        llm,
        engine,
        _dir: dir,
    }
}

async fn agent(e: &Env) -> Agent {
    e.engine
        .create_agent(CreateAgent {
            name: Some("test".into()),
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn conv(e: &Env, agent_id: &str) -> String {
    e.engine
        .create_conversation(agent_id, CreateConversation::default())
        .await
        .unwrap()
        .id
}

async fn collect(s: ChunkStream) -> Vec<LettaMessage> {
    s.map(|c| c.unwrap()).collect().await
}

async fn send(e: &Env, conv: &str, req: SendMessageRequest) -> Vec<LettaMessage> {
    collect(e.engine.send_message(conv, req).await.unwrap()).await
}

fn stop(chunks: &[LettaMessage]) -> StopReason {
    stop_reason(chunks).expect("a stop_reason chunk")
}

fn system_text(body: &Value) -> String {
    body["messages"][0]["content"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn plain_text_turn_streams_and_is_stored() {
    let e = setup().await;
    let a = agent(&e).await;
    // Paced, so the deltas are not merged into one (the engine merges what is waiting).
    e.llm.push([Reply::Slow {
        text: "Hello there, friend.".into(),
        delay_ms: 5,
    }]);
    let mut req = user("hi");
    req.agent_id = Some(a.id.clone());
    let chunks = send(&e, "default", req).await;
    // Order: ping first, then deltas, then stop_reason, then usage.
    assert!(matches!(chunks[0], LettaMessage::Ping(_)));
    assert_eq!(assistant_text(&chunks), "Hello there, friend.");
    let n = chunks.len();
    assert!(matches!(
        chunks[n - 2],
        LettaMessage::StopReason {
            stop_reason: StopReason::EndTurn,
            ..
        }
    ));
    let LettaMessage::Usage(u) = &chunks[n - 1] else {
        panic!("usage last")
    };
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.step_count),
        (11, 7, 1)
    );
    // Deltas share id and otid; every chunk has run_id and an increasing seq_id.
    let deltas: Vec<&MessageCommon> = chunks
        .iter()
        .filter_map(|c| match c {
            LettaMessage::Assistant(a) => Some(&a.common),
            _ => None,
        })
        .collect();
    assert!(deltas.len() > 1);
    assert!(
        deltas
            .iter()
            .all(|d| d.otid == deltas[0].otid && d.id == deltas[0].id)
    );
    let seqs: Vec<i64> = chunks.iter().filter_map(LettaMessage::seq_id).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert!(
        chunks
            .iter()
            .filter_map(|c| c.common())
            .all(|c| c.run_id.is_some())
    );
    // The request: system prompt with memory, then the user's message; tools offered.
    let body = e.llm.last_body();
    assert_eq!(body["model"], "gpt-test");
    assert!(system_text(&body).contains("<persona>") && system_text(&body).contains("<human>"));
    assert_eq!(body["messages"][1]["content"], "hi");
    let tools: Vec<&str> = body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert!(tools.contains(&"memory_insert") && tools.contains(&"conversation_search"));
    assert_eq!(
        e.llm.requests()[0].headers["authorization"],
        "Bearer sk-test"
    );
    // Stored: listed newest first by default.
    let msgs = e
        .engine
        .list_messages("default", Some(&a.id), ListParams::default())
        .await
        .unwrap();
    let kinds: Vec<&str> = msgs.iter().map(|m| m.message_type()).collect();
    assert_eq!(
        kinds,
        ["assistant_message", "user_message", "system_message"]
    );
    assert_eq!(assistant_text(&msgs), "Hello there, friend.");
    let a2 = e.engine.get_agent(&a.id).await.unwrap();
    assert!(a2.last_run_completion.is_some());
}

#[tokio::test]
async fn reasoning_is_streamed_and_kept() {
    let e = setup().await;
    let a = agent(&e).await;
    let c = conv(&e, &a.id).await;
    e.llm.push([Reply::Reasoning {
        reasoning: "Let me think.".into(),
        text: "Done.".into(),
    }]);
    let chunks = send(&e, &c, user("think")).await;
    let reasoning: String = chunks
        .iter()
        .filter_map(|c| match c {
            LettaMessage::Reasoning(r) => Some(r.reasoning.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reasoning, "Let me think.");
    assert_eq!(assistant_text(&chunks), "Done.");
    let msgs = e
        .engine
        .list_messages(
            &c,
            None,
            ListParams {
                order: Some(Order::Asc),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let kinds: Vec<&str> = msgs.iter().map(|m| m.message_type()).collect();
    assert_eq!(
        kinds,
        [
            "system_message",
            "user_message",
            "reasoning_message",
            "assistant_message"
        ]
    );
}

#[tokio::test]
async fn memory_edit_in_one_conversation_reaches_another() {
    let e = setup().await;
    let a = agent(&e).await;
    let (c1, c2) = (conv(&e, &a.id).await, conv(&e, &a.id).await);
    e.llm.push([
        Reply::Tools {
            text: String::new(),
            calls: vec![(
                "call_m".into(),
                "memory_insert".into(),
                r#"{"label":"human","new_string":"Ada likes Rust."}"#.into(),
            )],
        },
        Reply::Text("Noted.".into()),
    ]);
    let chunks = send(&e, &c1, user("remember I like Rust")).await;
    assert!(
        chunks
            .iter()
            .any(|c| matches!(c, LettaMessage::ToolCall(_)))
    );
    let ret = chunks
        .iter()
        .find_map(|c| match c {
            LettaMessage::ToolReturn(t) => Some(t.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(ret.status.as_deref(), Some("success"));
    assert_eq!(assistant_text(&chunks), "Noted.");
    assert_eq!(stop(&chunks), StopReason::EndTurn);
    // The second step of c1 already saw the tool result.
    let body = e.llm.last_body();
    let tool_msg = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .unwrap();
    assert_eq!(tool_msg["tool_call_id"], "call_m");
    let block = e.engine.get_block(&a.id, "human").await.unwrap();
    assert!(block.value.ends_with("Ada likes Rust."));
    // The other conversation's next turn sees the new memory in its system prompt.
    send(&e, &c2, user("who am I?")).await;
    assert!(system_text(&e.llm.last_body()).contains("Ada likes Rust."));
    // ...but not the first conversation's messages.
    assert!(
        !e.llm
            .last_body()
            .to_string()
            .contains("remember I like Rust")
    );
}

#[tokio::test]
async fn conversation_search_finds_other_conversations() {
    let e = setup().await;
    let a = agent(&e).await;
    let (c1, c2) = (conv(&e, &a.id).await, conv(&e, &a.id).await);
    send(&e, &c1, user("the secret word is pineapple")).await;
    e.llm.push([
        Reply::Tools {
            text: String::new(),
            calls: vec![(
                "call_s".into(),
                "conversation_search".into(),
                r#"{"query":"pineapple"}"#.into(),
            )],
        },
        Reply::Text("Found it.".into()),
    ]);
    let chunks = send(&e, &c2, user("what was the secret word?")).await;
    let ret = chunks
        .iter()
        .find_map(|c| match c {
            LettaMessage::ToolReturn(t) => Some(t.clone()),
            _ => None,
        })
        .unwrap();
    let v: Value = serde_json::from_str(ret.tool_return.as_deref().unwrap()).unwrap();
    let hits = v["results"].as_array().unwrap();
    assert!(
        hits.iter().any(|h| h["conversation_id"] == c1.as_str()
            && h["text"].as_str().unwrap().contains("pineapple")),
        "{v}"
    );
    assert!(
        hits.iter()
            .all(|h| h["date"].as_str().is_some_and(|d| d.starts_with("20")))
    );
    let direct = e
        .engine
        .search_messages(SearchRequest {
            query: "pineap".into(),
            agent_id: Some(a.id.clone()),
            limit: None,
            extra: Default::default(),
        })
        .await
        .unwrap();
    assert!(!direct.is_empty(), "prefix search works");
}

fn bash_tool() -> ClientTool {
    ClientTool {
        name: "Bash".into(),
        description: "run a command".into(),
        parameters: json!({"type":"object","properties":{"command":{"type":"string"}}}),
        extra: Default::default(),
    }
}

#[tokio::test]
async fn client_tool_approval_round_trip() {
    let e = setup().await;
    let a = agent(&e).await;
    let c = conv(&e, &a.id).await;
    e.llm.push([Reply::Tools {
        text: "Running it.".into(),
        calls: vec![
            (
                "call_1".into(),
                "Bash".into(),
                r#"{"command":"echo hi"}"#.into(),
            ),
            (
                "call_2".into(),
                "Bash".into(),
                r#"{"command":"rm -rf /"}"#.into(),
            ),
        ],
    }]);
    let mut req = user("run echo");
    req.client_tools = Some(vec![bash_tool()]);
    let chunks = send(&e, &c, req).await;
    assert_eq!(stop(&chunks), StopReason::RequiresApproval);
    // Arguments arrive in pieces, collected per tool_call_id.
    let mut args = std::collections::BTreeMap::<String, String>::new();
    for ch in &chunks {
        if let LettaMessage::ApprovalRequest(m) = ch {
            for d in m.calls() {
                args.entry(d.tool_call_id.clone().unwrap())
                    .or_default()
                    .push_str(d.arguments.as_deref().unwrap_or(""));
            }
        }
    }
    assert_eq!(args["call_1"], r#"{"command":"echo hi"}"#);
    assert_eq!(args["call_2"], r#"{"command":"rm -rf /"}"#);
    let body = e.llm.last_body();
    assert!(
        body["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["function"]["name"] == "Bash")
    );
    // A plain message now is refused: the approval is pending.
    let err = e
        .engine
        .send_message(&c, user("hello?"))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, BackendError::PendingApproval(_)), "{err:?}");
    assert_eq!(err.http_status(), 409);
    // An approval that leaves a call unanswered is refused.
    let partial = MessageCreate::approvals(vec![ApprovalDecision::Tool(ToolReturnItem {
        tool_call_id: "call_1".into(),
        tool_return: "hi\n".into(),
        status: "success".into(),
        ..Default::default()
    })]);
    let err = e
        .engine
        .send_message(
            &c,
            SendMessageRequest {
                messages: Some(vec![partial]),
                ..Default::default()
            },
        )
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("call_2"), "{err}");
    // Answer both: one result, one denial with a reason.
    e.llm
        .push([Reply::Text("Ran echo; skipped the other.".into())]);
    let approval = MessageCreate::approvals(vec![
        ApprovalDecision::Tool(ToolReturnItem {
            tool_call_id: "call_1".into(),
            tool_return: "hi\n".into(),
            status: "success".into(),
            stdout: Some(vec!["hi".into()]),
            ..Default::default()
        }),
        ApprovalDecision::Approval {
            tool_call_id: "call_2".into(),
            approve: false,
            reason: Some("too dangerous".into()),
            extra: Default::default(),
        },
    ]);
    let mut req = SendMessageRequest {
        messages: Some(vec![approval]),
        ..Default::default()
    };
    req.client_tools = Some(vec![bash_tool()]);
    let chunks = send(&e, &c, req).await;
    assert_eq!(stop(&chunks), StopReason::EndTurn);
    assert_eq!(assistant_text(&chunks), "Ran echo; skipped the other.");
    let msgs = e.llm.last_body()["messages"].as_array().unwrap().clone();
    let asst = msgs.iter().find(|m| m["role"] == "assistant").unwrap();
    assert_eq!(
        asst["tool_calls"].as_array().unwrap().len(),
        2,
        "parallel calls in one assistant message"
    );
    let tools: Vec<&Value> = msgs.iter().filter(|m| m["role"] == "tool").collect();
    assert_eq!(tools[0]["content"], "hi\n");
    assert!(
        tools[1]["content"]
            .as_str()
            .unwrap()
            .contains("denied. User reason: too dangerous")
    );
    // And the conversation goes on normally.
    let chunks = send(&e, &c, user("thanks")).await;
    assert_eq!(stop(&chunks), StopReason::EndTurn);
}

#[tokio::test]
async fn fork_with_and_without_message_id() {
    let e = setup().await;
    let a = agent(&e).await;
    let c = conv(&e, &a.id).await;
    send(&e, &c, user("first")).await;
    send(&e, &c, user("second")).await;
    let asc = ListParams {
        order: Some(Order::Asc),
        ..Default::default()
    };
    let msgs = e.engine.list_messages(&c, None, asc.clone()).await.unwrap();
    let first_reply = msgs
        .iter()
        .find(|m| matches!(m, LettaMessage::Assistant(_)))
        .unwrap()
        .common()
        .unwrap()
        .id
        .clone()
        .unwrap();

    let whole = e
        .engine
        .fork_conversation(&c, ForkParams::default())
        .await
        .unwrap();
    assert_ne!(whole.id, c);
    let fm = e
        .engine
        .list_messages(&whole.id, None, asc.clone())
        .await
        .unwrap();
    assert_eq!(fm.len(), msgs.len());
    assert_eq!(
        fm.iter().map(|m| m.message_type()).collect::<Vec<_>>(),
        msgs.iter().map(|m| m.message_type()).collect::<Vec<_>>()
    );
    let ids: std::collections::HashSet<_> = msgs
        .iter()
        .filter_map(|m| m.common().and_then(|c| c.id.clone()))
        .collect();
    assert!(
        fm.iter()
            .all(|m| !ids.contains(m.common().and_then(|c| c.id.as_ref()).unwrap())),
        "forked messages get new ids"
    );

    let part = e
        .engine
        .fork_conversation(
            &c,
            ForkParams {
                message_id: Some(first_reply.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let pm = e
        .engine
        .list_messages(&part.id, None, asc.clone())
        .await
        .unwrap();
    assert_eq!(
        pm.iter().map(|m| m.message_type()).collect::<Vec<_>>(),
        ["system_message", "user_message", "assistant_message"]
    );
    assert_eq!(part.in_context_message_ids.as_ref().unwrap().len(), 3);
    // The fork continues on its own; the source is unchanged.
    send(&e, &part.id, user("in the fork")).await;
    assert!(
        e.llm.last_body().to_string().contains("first")
            && !e.llm.last_body().to_string().contains("second")
    );
    assert_eq!(
        e.engine
            .list_messages(&c, None, asc.clone())
            .await
            .unwrap()
            .len(),
        msgs.len()
    );
    // A message that is not in context is a validation error.
    let err = e
        .engine
        .fork_conversation(
            &c,
            ForkParams {
                message_id: Some("message-nope".into()),
                ..Default::default()
            },
        )
        .await
        .err()
        .unwrap();
    assert_eq!(err.http_status(), 422, "{err}");
    // Forking the default conversation needs its agent.
    send(
        &e,
        "default",
        SendMessageRequest {
            agent_id: Some(a.id.clone()),
            ..user("on default")
        },
    )
    .await;
    let d = e
        .engine
        .fork_conversation(
            "default",
            ForkParams {
                agent_id: Some(a.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(d.id.starts_with("conv-"));
}

#[tokio::test]
async fn list_ordering_and_paging() {
    let e = setup().await;
    let a = agent(&e).await;
    let mut ids = Vec::new();
    for t in ["alpha", "beta", "gamma"] {
        ids.push(
            e.engine
                .create_conversation(
                    &a.id,
                    CreateConversation {
                        summary: Some(t.into()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .id,
        );
    }
    let q = |page: ListParams, search: Option<&str>| ConversationQuery {
        agent_id: Some(a.id.clone()),
        page,
        summary_search: search.map(str::to_string),
    };
    let list = |v: Vec<Conversation>| v.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let desc = list(
        e.engine
            .list_conversations(q(ListParams::default(), None))
            .await
            .unwrap(),
    );
    assert_eq!(desc, [ids[2].clone(), ids[1].clone(), ids[0].clone()]);
    let asc = list(
        e.engine
            .list_conversations(q(
                ListParams {
                    order: Some(Order::Asc),
                    ..Default::default()
                },
                None,
            ))
            .await
            .unwrap(),
    );
    assert_eq!(asc, ids);
    let page = list(
        e.engine
            .list_conversations(q(
                ListParams {
                    limit: Some(1),
                    after: Some(ids[2].clone()),
                    ..Default::default()
                },
                None,
            ))
            .await
            .unwrap(),
    );
    assert_eq!(page, [ids[1].clone()]);
    let found = list(
        e.engine
            .list_conversations(q(ListParams::default(), Some("amm")))
            .await
            .unwrap(),
    );
    assert_eq!(found, [ids[2].clone()]);
    // last_run_completion: the conversation that ran last comes first.
    send(&e, &ids[0], user("activity")).await;
    let by_run = list(
        e.engine
            .list_conversations(q(
                ListParams {
                    order_by: Some("last_run_completion".into()),
                    ..Default::default()
                },
                None,
            ))
            .await
            .unwrap(),
    );
    assert_eq!(by_run[0], ids[0]);
    // Agents list and name search.
    let b = e
        .engine
        .create_agent(CreateAgent {
            name: Some("second-bot".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let agents = e.engine.list_agents(AgentQuery::default()).await.unwrap();
    assert_eq!(
        agents.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
        [b.id.clone(), a.id.clone()]
    );
    let named = e
        .engine
        .list_agents(AgentQuery {
            name: Some("second".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(named.len(), 1);
    // Messages: before/after cursors.
    let msgs = e
        .engine
        .list_messages(
            &ids[0],
            None,
            ListParams {
                order: Some(Order::Asc),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mid = msgs[1].common().unwrap().id.clone().unwrap();
    let after = e
        .engine
        .list_messages(
            &ids[0],
            None,
            ListParams {
                order: Some(Order::Asc),
                after: Some(mid.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(after.len(), msgs.len() - 2);
    let before = e
        .engine
        .list_messages(
            &ids[0],
            None,
            ListParams {
                before: Some(mid),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(before.len(), 1);
}

#[tokio::test]
async fn model_precedence() {
    let e = setup().await;
    let a = e
        .engine
        .create_agent(CreateAgent {
            model: Some("openai/gpt-agent".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let c = conv(&e, &a.id).await;
    send(&e, &c, user("1")).await;
    assert_eq!(e.llm.last_body()["model"], "gpt-agent");
    e.engine
        .update_conversation(
            &c,
            UpdateConversation {
                model: Some("openai/gpt-conv".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    send(&e, &c, user("2")).await;
    assert_eq!(e.llm.last_body()["model"], "gpt-conv");
    let mut req = user("3");
    req.override_model = Some("anthropic/claude-test".into());
    let chunks = send(&e, &c, req).await;
    let seen = e.llm.requests();
    let last = seen.last().unwrap();
    assert_eq!(last.path, "/v1/messages");
    assert_eq!(last.body["model"], "claude-test");
    assert_eq!(last.headers["x-api-key"], "ak-test");
    assert!(last.body["system"].as_str().unwrap().contains("<persona>"));
    assert!(assistant_text(&chunks).starts_with("echo: 3"));
    // An unconfigured provider is a clear error, before anything is stored.
    let mut req = user("4");
    req.override_model = Some("mystery/model".into());
    let err = e.engine.send_message(&c, req).await.err().unwrap();
    assert!(
        err.to_string().contains("mystery") && err.to_string().contains("letta model list"),
        "{err}"
    );
}

#[tokio::test]
async fn anthropic_streams_reasoning_and_tools() {
    let e = setup().await;
    let a = e
        .engine
        .create_agent(CreateAgent {
            model: Some("anthropic/claude-test".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let c = conv(&e, &a.id).await;
    e.llm.push([
        Reply::Reasoning {
            reasoning: "pondering".into(),
            text: "Sure.".into(),
        },
        Reply::Tools {
            text: String::new(),
            calls: vec![(
                "toolu_1".into(),
                "Bash".into(),
                r#"{"command":"ls"}"#.into(),
            )],
        },
    ]);
    let chunks = send(&e, &c, user("hello")).await;
    assert!(
        chunks
            .iter()
            .any(|c| matches!(c, LettaMessage::Reasoning(r) if r.reasoning.contains("pond")))
    );
    assert_eq!(assistant_text(&chunks), "Sure.");
    let LettaMessage::Usage(u) = chunks.last().unwrap() else {
        panic!()
    };
    assert_eq!((u.prompt_tokens, u.completion_tokens), (13, 5));
    let mut req = user("list files");
    req.client_tools = Some(vec![bash_tool()]);
    let chunks = send(&e, &c, req).await;
    assert_eq!(stop(&chunks), StopReason::RequiresApproval);
    e.llm.push([Reply::Text("Two files.".into())]);
    let approval = MessageCreate::approvals(vec![ApprovalDecision::Tool(ToolReturnItem {
        tool_call_id: "toolu_1".into(),
        tool_return: "a\nb".into(),
        status: "success".into(),
        ..Default::default()
    })]);
    let chunks = send(
        &e,
        &c,
        SendMessageRequest {
            messages: Some(vec![approval]),
            client_tools: Some(vec![bash_tool()]),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(assistant_text(&chunks), "Two files.");
    let body = e.llm.last_body();
    let msgs = body["messages"].as_array().unwrap();
    let last_user = msgs.last().unwrap();
    assert_eq!(last_user["content"][0]["type"], "tool_result");
    assert_eq!(last_user["content"][0]["tool_use_id"], "toolu_1");
}

#[tokio::test]
async fn cancel_stops_the_run_and_keeps_the_conversation_valid() {
    let e = setup().await;
    let a = agent(&e).await;
    let c = conv(&e, &a.id).await;
    let words: String = (0..200).map(|i| format!("w{i} ")).collect();
    e.llm.push([Reply::Slow {
        text: words,
        delay_ms: 20,
    }]);
    let mut s = e
        .engine
        .send_message(&c, user("talk slowly"))
        .await
        .unwrap();
    // Wait for the first token, then cancel.
    let mut seen = Vec::new();
    while let Some(ch) = s.next().await {
        let ch = ch.unwrap();
        let is_text = matches!(ch, LettaMessage::Assistant(_));
        seen.push(ch);
        if is_text {
            break;
        }
    }
    let cancelled = e.engine.cancel(&c, None).await.unwrap();
    assert_eq!(cancelled.len(), 1);
    seen.extend(collect(s).await);
    assert_eq!(stop(&seen), StopReason::Cancelled);
    let run = e.engine.get_run(&cancelled[0]).await.unwrap();
    assert_eq!(run.status, "cancelled");
    // User message and the partial answer are kept; nothing dangles.
    let msgs = e
        .engine
        .list_messages(
            &c,
            None,
            ListParams {
                order: Some(Order::Asc),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        msgs.iter().map(|m| m.message_type()).collect::<Vec<_>>(),
        ["system_message", "user_message", "assistant_message"]
    );
    // Nothing to cancel now, and the next message works.
    assert!(matches!(
        e.engine.cancel(&c, None).await.err().unwrap(),
        BackendError::NothingActive(_)
    ));
    let chunks = send(&e, &c, user("again")).await;
    assert_eq!(stop(&chunks), StopReason::EndTurn);
}

#[tokio::test]
async fn busy_conversation_is_refused_but_others_run() {
    let e = setup().await;
    let a = agent(&e).await;
    let (c1, c2) = (conv(&e, &a.id).await, conv(&e, &a.id).await);
    e.llm.push([Reply::Slow {
        text: "a b c d e f g h".into(),
        delay_ms: 30,
    }]);
    let s1 = e.engine.send_message(&c1, user("slow one")).await.unwrap();
    let err = e
        .engine
        .send_message(&c1, user("second"))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, BackendError::Busy { .. }), "{err:?}");
    assert_eq!(err.http_status(), 409);
    assert!(err.to_string().contains("currently being processed"));
    // The refused message was not stored.
    // Another conversation of the same agent runs in parallel.
    let other = send(&e, &c2, user("parallel")).await;
    assert_eq!(stop(&other), StopReason::EndTurn);
    let first = collect(s1).await;
    assert_eq!(assistant_text(&first), "a b c d e f g h");
    let msgs = e
        .engine
        .list_messages(&c1, None, ListParams::default())
        .await
        .unwrap();
    assert!(
        !msgs
            .iter()
            .any(|m| matches!(m, LettaMessage::User(u) if u.content.to_text() == "second"))
    );
}

#[tokio::test]
async fn summarises_when_the_context_window_fills() {
    let e = setup().await;
    let mut req = CreateAgent {
        memory_blocks: Some(vec![BlockCreate {
            label: "human".into(),
            value: "x".into(),
            ..Default::default()
        }]),
        system: Some("Be brief.".into()),
        ..Default::default()
    };
    req.extra.insert("context_window_limit".into(), json!(400));
    let a = e.engine.create_agent(req).await.unwrap();
    let c = conv(&e, &a.id).await;
    let long = "lorem ipsum dolor sit amet ".repeat(12);
    for i in 0..6 {
        e.llm.push([Reply::Text(format!("reply {i} {long}"))]);
        send(&e, &c, user(&format!("message {i} {long}"))).await;
    }
    let summary_requests: Vec<_> = e
        .llm
        .requests()
        .into_iter()
        .filter(|r| r.body.get("tools").is_none())
        .collect();
    assert!(!summary_requests.is_empty(), "a summary was requested");
    let msgs = e
        .engine
        .list_messages(
            &c,
            None,
            ListParams {
                limit: Some(1000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        msgs.iter().any(|m| m.message_type() == "summary_message"),
        "summary visible in the list"
    );
    // All messages are still listed; the context got smaller.
    assert_eq!(
        msgs.iter()
            .filter(|m| m.message_type() == "user_message")
            .count(),
        6
    );
    let conv_now = e.engine.get_conversation(&c).await.unwrap();
    assert!(conv_now.in_context_message_ids.unwrap().len() < msgs.len());
    let last = e.llm.last_body().to_string();
    assert!(last.contains("Summary of the earlier part"), "{last}");
}

#[tokio::test]
async fn dropped_provider_stream_is_a_clear_error_and_keeps_the_message() {
    let e = setup().await;
    let a = agent(&e).await;
    let c = conv(&e, &a.id).await;
    e.llm.push([Reply::Drop {
        text: "half an ans".into(),
    }]);
    let chunks = send(&e, &c, user("please answer")).await;
    assert_eq!(stop(&chunks), StopReason::LlmApiError);
    let err = chunks
        .iter()
        .find_map(|c| match c {
            LettaMessage::Error(e) => Some(e.message.clone()),
            _ => None,
        })
        .unwrap();
    assert!(err.contains("ended the stream"), "{err}");
    let msgs = e
        .engine
        .list_messages(&c, None, ListParams::default())
        .await
        .unwrap();
    assert!(
        msgs.iter()
            .any(|m| matches!(m, LettaMessage::User(u) if u.content.to_text() == "please answer"))
    );
    assert!(
        !msgs.iter().any(|m| m.message_type() == "assistant_message"),
        "no half-written answer"
    );
    // HTTP errors are typed too.
    e.llm.push([Reply::Error {
        status: 401,
        body: r#"{"error":{"message":"bad key"}}"#.into(),
    }]);
    let chunks = send(&e, &c, user("again")).await;
    let err = chunks
        .iter()
        .find_map(|c| match c {
            LettaMessage::Error(e) => Some(e.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(err.error_type.as_deref(), Some("llm_authentication"));
    assert!(err.message.contains("OPENAI_API_KEY"), "{}", err.message);
    // And the conversation still works afterwards.
    assert_eq!(
        stop(&send(&e, &c, user("ok now")).await),
        StopReason::EndTurn
    );
}

#[tokio::test]
async fn max_steps_ends_a_tool_loop() {
    let e = setup().await;
    let a = agent(&e).await;
    let c = conv(&e, &a.id).await;
    let call = || Reply::Tools {
        text: String::new(),
        calls: vec![(
            format!("c{}", uuid_like()),
            "conversation_search".into(),
            r#"{"query":"x"}"#.into(),
        )],
    };
    e.llm.push([call(), call(), call()]);
    let mut req = user("loop");
    req.max_steps = Some(2);
    let chunks = send(&e, &c, req).await;
    assert_eq!(stop(&chunks), StopReason::MaxSteps);
}

fn uuid_like() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[tokio::test]
async fn memory_and_validation_rules() {
    let e = setup().await;
    let a = e
        .engine
        .create_agent(CreateAgent {
            memory_blocks: Some(vec![BlockCreate {
                label: "notes".into(),
                value: "abc".into(),
                limit: Some(10),
                ..Default::default()
            }]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(a.all_blocks().len(), 1);
    let err = e
        .engine
        .update_block(
            &a.id,
            "notes",
            BlockUpdate {
                value: Some("x".repeat(11)),
                ..Default::default()
            },
        )
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("limit of 10"), "{err}");
    assert_eq!(
        e.engine.get_block(&a.id, "notes").await.unwrap().value,
        "abc"
    );
    // Default blocks come from assets.
    let d = agent(&e).await;
    let labels: Vec<String> = d.all_blocks().iter().map(|b| b.label.clone()).collect();
    assert_eq!(labels, ["persona", "human"]);
    // Empty sends and unknown ids.
    let err = e
        .engine
        .send_message(
            "default",
            SendMessageRequest {
                messages: Some(vec![]),
                agent_id: Some(a.id.clone()),
                ..Default::default()
            },
        )
        .await
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "Messages must not be empty");
    assert_eq!(
        e.engine
            .get_conversation("conv-missing")
            .await
            .err()
            .unwrap()
            .http_status(),
        404
    );
    assert_eq!(
        e.engine
            .list_messages("default", None, ListParams::default())
            .await
            .err()
            .unwrap()
            .http_status(),
        422
    );
    // Deleting an agent takes its conversations with it.
    let c = conv(&e, &a.id).await;
    e.engine.delete_agent(&a.id).await.unwrap();
    assert_eq!(
        e.engine
            .get_conversation(&c)
            .await
            .err()
            .unwrap()
            .http_status(),
        404
    );
    assert_eq!(
        e.engine.get_agent(&a.id).await.err().unwrap().http_status(),
        404
    );
    // Deleted conversations are gone from lists.
    let c2 = conv(&e, &d.id).await;
    e.engine.delete_conversation(&c2).await.unwrap();
    let left = e
        .engine
        .list_conversations(ConversationQuery {
            agent_id: Some(d.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(left.is_empty());
}

#[tokio::test]
async fn no_provider_says_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(
        Store::open(&dir.path().join("db")).unwrap(),
        ProviderRegistry::default(),
        Some("openai/gpt".into()),
    );
    let a = engine.create_agent(CreateAgent::default()).await.unwrap();
    let err = engine
        .send_message(
            "default",
            SendMessageRequest {
                agent_id: Some(a.id.clone()),
                ..user("hi")
            },
        )
        .await
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains("OPENAI_API_KEY")
            && msg.contains("ANTHROPIC_API_KEY")
            && msg.contains("letta connect"),
        "{msg}"
    );
}

#[tokio::test]
async fn forked_messages_stay_searchable_after_the_source_is_deleted() {
    let e = setup().await;
    let a = agent(&e).await;
    let c = conv(&e, &a.id).await;
    send(&e, &c, user("the password is zanzibar")).await;
    let fork = e
        .engine
        .fork_conversation(&c, ForkParams::default())
        .await
        .unwrap();
    let search = |q: &str| SearchRequest {
        query: q.into(),
        agent_id: Some(a.id.clone()),
        limit: None,
        extra: Default::default(),
    };
    let hits = e.engine.search_messages(search("zanzibar")).await.unwrap();
    assert_eq!(
        hits.len(),
        2,
        "user message and echo, indexed once: {hits:?}"
    );
    assert!(hits.iter().all(|h| h.conversation_id == c));
    e.engine.delete_conversation(&c).await.unwrap();
    let hits = e.engine.search_messages(search("zanzibar")).await.unwrap();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(hits.iter().all(|h| h.conversation_id == fork.id));
    // Newest first.
    send(&e, &fork.id, user("zanzibar again")).await;
    let hits = e.engine.search_messages(search("zanzibar")).await.unwrap();
    assert!(hits[0].text.contains("zanzibar again"), "{hits:?}");
}

#[tokio::test]
async fn rate_limits_are_retried_and_overflow_compacts() {
    let e = setup().await;
    let a = agent(&e).await;
    let c = conv(&e, &a.id).await;
    // 429 (with Retry-After: 0) twice, then an answer: the user sees only the answer.
    e.llm.push([
        Reply::Error {
            status: 429,
            body: r#"{"error":{"message":"slow down"}}"#.into(),
        },
        Reply::Error {
            status: 429,
            body: r#"{"error":{"message":"slow down"}}"#.into(),
        },
        Reply::Text("finally".into()),
    ]);
    let chunks = send(&e, &c, user("hi")).await;
    assert_eq!(assistant_text(&chunks), "finally");
    assert_eq!(e.llm.requests().len(), 3);
    // Retries are bounded: four 429s in a row end the run with a clear error.
    e.llm.push((0..4).map(|_| Reply::Error {
        status: 429,
        body: r#"{"error":{"message":"slow down"}}"#.into(),
    }));
    let chunks = send(&e, &c, user("again")).await;
    assert_eq!(stop(&chunks), StopReason::LlmApiError);
    let err = chunks
        .iter()
        .find_map(|c| match c {
            LettaMessage::Error(e) => Some(e.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(err.error_type.as_deref(), Some("llm_rate_limit"));
    // Authentication errors are not retried.
    let before = e.llm.requests().len();
    e.llm.push([Reply::Error {
        status: 401,
        body: "{}".into(),
    }]);
    send(&e, &c, user("x")).await;
    assert_eq!(e.llm.requests().len(), before + 1);
    // A context overflow compacts the conversation and tries again once.
    e.llm.push([
        Reply::Error {
            status: 400,
            body: r#"{"error":{"message":"This model's maximum context length is 10 tokens"}}"#
                .into(),
        },
        Reply::Text("Summary: we talked.".into()),
        Reply::Text("after compaction".into()),
    ]);
    let chunks = send(&e, &c, user("big one")).await;
    assert_eq!(assistant_text(&chunks), "after compaction");
    let msgs = e
        .engine
        .list_messages(&c, None, ListParams::default())
        .await
        .unwrap();
    assert!(msgs.iter().any(|m| m.message_type() == "summary_message"));
}
