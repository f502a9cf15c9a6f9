//! One behaviour suite, two backends: every case runs against the engine in-process and
//! against `letta server` through the remote client, and both must behave the same.

use crate::support;

use futures_util::StreamExt;
use letta::backend::{Backend, BackendError, ConversationQuery};
use letta::protocol::*;
use serde_json::json;
use support::chunks::{assistant_text as text, stop_reason as stop, user};
use support::llm::{Reply, ScriptedLlm};
use support::servers::{Kind, backend};

struct Case {
    llm: ScriptedLlm,
    b: std::sync::Arc<dyn Backend>,
    _dir: tempfile::TempDir,
}

async fn case(kind: Kind) -> Case {
    let llm = ScriptedLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let b = backend(kind, &llm, dir.path()).await;
    Case { llm, b, _dir: dir }
}

async fn send(c: &Case, conv: &str, req: SendMessageRequest) -> Vec<LettaMessage> {
    c.b.send_message(conv, req)
        .await
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
        .await
}

async fn new_agent(c: &Case) -> Agent {
    c.b.create_agent(CreateAgent {
        name: Some("suite".into()),
        memory_blocks: Some(vec![BlockCreate {
            label: "human".into(),
            value: "The human is Ada.".into(),
            ..Default::default()
        }]),
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn create_and_list(kind: Kind) {
    let c = case(kind).await;
    let a = new_agent(&c).await;
    assert_eq!(
        c.b.get_agent(&a.id).await.unwrap().all_blocks()[0].value,
        "The human is Ada."
    );
    let mut ids = Vec::new();
    for t in ["one", "two", "three"] {
        ids.push(
            c.b.create_conversation(
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
    let q = |page: ListParams| ConversationQuery {
        agent_id: Some(a.id.clone()),
        page,
        summary_search: None,
    };
    let got: Vec<String> =
        c.b.list_conversations(q(ListParams::default()))
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
    assert_eq!(got, [ids[2].clone(), ids[1].clone(), ids[0].clone()]);
    let asc: Vec<String> =
        c.b.list_conversations(q(ListParams {
            order: Some(Order::Asc),
            limit: Some(2),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(asc, [ids[0].clone(), ids[1].clone()]);
    let after: Vec<String> =
        c.b.list_conversations(q(ListParams {
            order: Some(Order::Asc),
            after: Some(ids[0].clone()),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(after, [ids[1].clone(), ids[2].clone()]);
    let found =
        c.b.list_conversations(ConversationQuery {
            agent_id: Some(a.id.clone()),
            page: ListParams::default(),
            summary_search: Some("thr".into()),
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let renamed =
        c.b.update_conversation(
            &ids[0],
            UpdateConversation {
                summary: Some("renamed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.summary.as_deref(), Some("renamed"));
    let missing =
        c.b.get_conversation("conv-00000000-0000-0000-0000-000000000000")
            .await
            .unwrap_err();
    assert!(matches!(missing, BackendError::NotFound(_)), "{missing:?}");
    // An empty send is refused the same way on both backends (422 over HTTP).
    let empty = SendMessageRequest {
        messages: Some(vec![]),
        ..Default::default()
    };
    let err = c.b.send_message(&ids[0], empty).await.err().unwrap();
    assert!(
        matches!(&err, BackendError::Validation(m) if m == "Messages must not be empty"),
        "{err:?}"
    );
}

async fn streaming_and_messages(kind: Kind) {
    let c = case(kind).await;
    let a = new_agent(&c).await;
    c.llm.push([Reply::Reasoning {
        reasoning: "thinking".into(),
        text: "Hello Ada, nice to meet you.".into(),
    }]);
    let chunks = send(
        &c,
        "default",
        SendMessageRequest {
            agent_id: Some(a.id.clone()),
            ..user("hi")
        },
    )
    .await;
    assert!(matches!(chunks[0], LettaMessage::Ping(_)));
    assert_eq!(text(&chunks), "Hello Ada, nice to meet you.");
    assert_eq!(stop(&chunks), Some(StopReason::EndTurn));
    assert!(matches!(chunks.last(), Some(LettaMessage::Usage(_))));
    let seqs: Vec<i64> = chunks.iter().filter_map(LettaMessage::seq_id).collect();
    assert!(seqs.windows(2).all(|w| w[1] > w[0]));
    let listed =
        c.b.list_messages(
            "default",
            Some(&a.id),
            ListParams {
                order: Some(Order::Asc),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let kinds: Vec<&str> = listed.iter().map(|m| m.message_type()).collect();
    assert_eq!(
        kinds,
        [
            "system_message",
            "user_message",
            "reasoning_message",
            "assistant_message"
        ]
    );
    let page =
        c.b.list_messages(
            "default",
            Some(&a.id),
            ListParams {
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].message_type(), "assistant_message");
    let run_id = chunks[0].common().unwrap().run_id.clone().unwrap();
    let run = c.b.get_run(&run_id).await.unwrap();
    assert_eq!(run.status, "completed");
    assert_eq!(run.stop_reason, Some(StopReason::EndTurn));
    // Memory is shared and editable.
    let blk =
        c.b.update_block(
            &a.id,
            "human",
            BlockUpdate {
                value: Some("Ada likes tea.".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(blk.value, "Ada likes tea.");
    let hits =
        c.b.search_messages(SearchRequest {
            query: "nice".into(),
            agent_id: Some(a.id.clone()),
            limit: None,
            extra: Default::default(),
        })
        .await
        .unwrap();
    assert!(hits.iter().any(|h| h.text.contains("nice to meet")));
}

async fn fork_cases(kind: Kind) {
    let c = case(kind).await;
    let a = new_agent(&c).await;
    let conv =
        c.b.create_conversation(&a.id, CreateConversation::default())
            .await
            .unwrap()
            .id;
    send(&c, &conv, user("first")).await;
    send(&c, &conv, user("second")).await;
    let asc = ListParams {
        order: Some(Order::Asc),
        ..Default::default()
    };
    let msgs = c.b.list_messages(&conv, None, asc.clone()).await.unwrap();
    let all =
        c.b.fork_conversation(&conv, ForkParams::default())
            .await
            .unwrap();
    assert_eq!(
        c.b.list_messages(&all.id, None, asc.clone())
            .await
            .unwrap()
            .len(),
        msgs.len()
    );
    let cut = msgs
        .iter()
        .find(|m| matches!(m, LettaMessage::Assistant(_)))
        .unwrap()
        .common()
        .unwrap()
        .id
        .clone();
    let part =
        c.b.fork_conversation(
            &conv,
            ForkParams {
                message_id: cut,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let kinds: Vec<String> =
        c.b.list_messages(&part.id, None, asc.clone())
            .await
            .unwrap()
            .iter()
            .map(|m| m.message_type().to_string())
            .collect();
    assert_eq!(
        kinds,
        ["system_message", "user_message", "assistant_message"]
    );
    let bad =
        c.b.fork_conversation(
            &conv,
            ForkParams {
                message_id: Some("message-nope".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(bad, BackendError::Validation(_)), "{bad:?}");
}

/// A new conversation of a new agent whose model has called the client tool `Bash` (id
/// `call_id`), waiting for its answer; then `after` is the model's next reply.
async fn waiting_on_bash(c: &Case, call_id: &str, after: Option<&str>) -> (String, ClientTool) {
    let a = new_agent(c).await;
    let conv =
        c.b.create_conversation(&a.id, CreateConversation::default())
            .await
            .unwrap()
            .id;
    let tool = ClientTool {
        name: "Bash".into(),
        description: "run".into(),
        parameters: json!({"type": "object"}),
        extra: Default::default(),
    };
    c.llm.push([Reply::Tools {
        text: String::new(),
        calls: vec![(
            call_id.into(),
            "Bash".into(),
            r#"{"command":"echo hi"}"#.into(),
        )],
    }]);
    if let Some(t) = after {
        c.llm.push([Reply::Text(t.into())]);
    }
    let chunks = send(
        c,
        &conv,
        SendMessageRequest {
            client_tools: Some(vec![tool.clone()]),
            ..user("run it")
        },
    )
    .await;
    assert_eq!(stop(&chunks), Some(StopReason::RequiresApproval));
    (conv, tool)
}

async fn approval_round_trip(kind: Kind) {
    let c = case(kind).await;
    let (conv, tool) = waiting_on_bash(&c, "call_1", Some("Done.")).await;
    let pending = c.b.send_message(&conv, user("hello?")).await.err().unwrap();
    assert!(
        matches!(pending, BackendError::PendingApproval(_)),
        "{pending:?}"
    );
    let answer = MessageCreate::approvals(vec![ApprovalDecision::Tool(ToolReturnItem {
        tool_call_id: "call_1".into(),
        tool_return: "hi\n".into(),
        status: "success".into(),
        stdout: Some(vec!["hi".into()]),
        stderr: Some(vec![]),
        extra: Default::default(),
    })]);
    let chunks = send(
        &c,
        &conv,
        SendMessageRequest {
            messages: Some(vec![answer]),
            client_tools: Some(vec![tool]),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(text(&chunks), "Done.");
    let listed =
        c.b.list_messages(&conv, None, ListParams::default())
            .await
            .unwrap();
    assert!(listed.iter().any(
        |m| matches!(m, LettaMessage::ToolReturn(t) if t.tool_return.as_deref() == Some("hi\n"))
    ));
}

async fn cancel_and_busy(kind: Kind) {
    let c = case(kind).await;
    let a = new_agent(&c).await;
    let conv =
        c.b.create_conversation(&a.id, CreateConversation::default())
            .await
            .unwrap()
            .id;
    let words: String = (0..300).map(|i| format!("w{i} ")).collect();
    c.llm.push([Reply::Slow {
        text: words,
        delay_ms: 10,
    }]);
    let mut s = c.b.send_message(&conv, user("slow")).await.unwrap();
    let mut seen = Vec::new();
    while let Some(ch) = s.next().await {
        let ch = ch.unwrap();
        let first_text = matches!(ch, LettaMessage::Assistant(_));
        seen.push(ch);
        if first_text {
            break;
        }
    }
    let busy = c.b.send_message(&conv, user("me too")).await.err().unwrap();
    assert!(matches!(busy, BackendError::Busy { .. }), "{busy:?}");
    let ids = c.b.cancel(&conv, None).await.unwrap();
    assert_eq!(ids.len(), 1);
    while let Some(ch) = s.next().await {
        seen.push(ch.unwrap());
    }
    assert_eq!(stop(&seen), Some(StopReason::Cancelled));
    assert!(matches!(
        c.b.cancel(&conv, None).await.unwrap_err(),
        BackendError::NothingActive(_)
    ));
    assert_eq!(c.b.get_run(&ids[0]).await.unwrap().status, "cancelled");
    c.llm.push([Reply::Text("back".into())]);
    assert_eq!(text(&send(&c, &conv, user("again")).await), "back");
}

async fn delete_cases(kind: Kind) {
    let c = case(kind).await;
    let a = new_agent(&c).await;
    let conv =
        c.b.create_conversation(&a.id, CreateConversation::default())
            .await
            .unwrap()
            .id;
    c.b.delete_conversation(&conv).await.unwrap();
    assert!(matches!(
        c.b.get_conversation(&conv).await.unwrap_err(),
        BackendError::NotFound(_)
    ));
    assert!(matches!(
        c.b.delete_conversation(&conv).await.unwrap_err(),
        BackendError::NotFound(_)
    ));
    c.b.delete_agent(&a.id).await.unwrap();
    assert!(matches!(
        c.b.get_agent(&a.id).await.unwrap_err(),
        BackendError::NotFound(_)
    ));
}

async fn compact_and_context(kind: Kind) {
    let c = case(kind).await;
    let a = new_agent(&c).await;
    let conv =
        c.b.create_conversation(&a.id, CreateConversation::default())
            .await
            .unwrap()
            .id;
    for i in 0..4 {
        send(&c, &conv, user(&format!("message {i}"))).await;
    }
    let w = c.b.context_window(&a.id, Some(&conv)).await.unwrap();
    assert!(w.context_window_size_max > 0);
    assert!(w.num_tokens_core_memory > 0, "{w:?}");
    assert!(w.num_tokens_messages > 0, "{w:?}");
    assert!(w.context_window_size_current >= w.num_tokens_messages + w.num_tokens_system);
    let before = w.num_messages;

    c.llm
        .push([Reply::Text("They sent four numbered messages.".into())]);
    let r = c.b.compact(&conv, None).await.unwrap();
    assert!(r.num_messages_before > r.num_messages_after, "{r:?}");
    let after = c.b.context_window(&a.id, Some(&conv)).await.unwrap();
    assert!(after.num_messages < before, "{after:?}");
    assert!(after.num_tokens_summary_memory > 0, "{after:?}");
    // The default conversation is addressed through its agent.
    assert!(c.b.context_window(&a.id, None).await.is_ok());
}

macro_rules! both {
    ($($name:ident),*) => {$(
        mod $name {
            use super::*;
            #[tokio::test]
            async fn local() {
                super::$name(Kind::Local).await
            }
            #[tokio::test]
            async fn remote() {
                super::$name(Kind::Remote).await
            }
        }
    )*};
}

/// A call left waiting (its terminal closed) is denied by a cancel, and the conversation goes on.
async fn cancel_clears_a_waiting_call(kind: Kind) {
    let c = case(kind).await;
    let (conv, _) = waiting_on_bash(&c, "call_w", None).await;
    c.b.cancel(&conv, None).await.unwrap();
    c.llm.push([Reply::Text("carrying on".into())]);
    let chunks = send(&c, &conv, user("next")).await;
    assert_eq!(text(&chunks), "carrying on");
    let body = c.llm.last_body().to_string();
    assert!(body.contains("cancelled while this call waited"), "{body}");
}

both!(
    cancel_clears_a_waiting_call,
    create_and_list,
    streaming_and_messages,
    fork_cases,
    approval_round_trip,
    cancel_and_busy,
    delete_cases,
    compact_and_context
);
