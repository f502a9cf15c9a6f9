//! 8 `letta` processes at once, each running 25 turns in its own conversation of one agent, on
//! one database file. Every message must land exactly once, with no busy errors.

use crate::support;

use letta::backend::Backend;
use letta::protocol::{CreateAgent, CreateConversation, LettaMessage, ListParams, Order};
use support::bin::{Sandbox, out};
use support::llm::ScriptedLlm;

const PROCESSES: usize = 8;
const TURNS: usize = 25;

#[test]
fn parallel_processes_share_one_database() {
    let llm = ScriptedLlm::start_in_background();
    let sb = Sandbox::new(&llm.openai_url());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let open = || {
        letta::local::Engine::new(
            letta::local::store::Store::open(&sb.db()).unwrap(),
            Default::default(),
            Some("openai/gpt-test".into()),
        )
    };
    let (agent, convs) = rt.block_on(async {
        let e = open();
        let a = e.create_agent(CreateAgent::default()).await.unwrap();
        let mut convs = Vec::new();
        for _ in 0..PROCESSES {
            convs.push(
                e.create_conversation(&a.id, CreateConversation::default())
                    .await
                    .unwrap()
                    .id,
            );
        }
        (a.id, convs)
    });

    std::thread::scope(|s| {
        for (k, conv) in convs.iter().enumerate() {
            let sb = &sb;
            s.spawn(move || {
                for t in 0..TURNS {
                    let o = sb
                        .cmd(&["-p", &format!("p{k}-t{t}"), "--conv", conv])
                        .output()
                        .unwrap();
                    let (stdout, stderr) = out(&o);
                    assert!(o.status.success(), "process {k} turn {t}: {stderr}");
                    assert_eq!(stdout.trim(), format!("echo: p{k}-t{t}"));
                }
            });
        }
    });

    rt.block_on(async {
        let e = open();
        for (k, conv) in convs.iter().enumerate() {
            let msgs = e
                .list_messages(
                    conv,
                    None,
                    ListParams {
                        order: Some(Order::Asc),
                        limit: Some(1000),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let users: Vec<String> = msgs
                .iter()
                .filter_map(|m| match m {
                    LettaMessage::User(u) => {
                        Some(crate::support::llm::without_reminders(&u.content.to_text()))
                    }
                    _ => None,
                })
                .collect();
            let expected: Vec<String> = (0..TURNS).map(|t| format!("p{k}-t{t}")).collect();
            assert_eq!(
                users, expected,
                "conversation {k}: every message exactly once, in order"
            );
            let replies = msgs
                .iter()
                .filter(|m| matches!(m, LettaMessage::Assistant(_)))
                .count();
            assert_eq!(replies, TURNS);
        }
        let all = e
            .list_conversations(letta::backend::ConversationQuery {
                agent_id: Some(agent.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(all.len(), PROCESSES);
    });
}
