//! Fault injection: the SSE body of a send is cut after k bytes, for many k. The remote client
//! re-attaches from the last seq_id and the user sees every token exactly once.

use crate::support;

use std::sync::atomic::Ordering;

use futures_util::StreamExt;
use letta::backend::Backend;
use letta::protocol::*;
use letta::remote::RemoteClient;
use support::llm::{Reply, ScriptedLlm};
use support::proxy::CutProxy;

/// A scripted model, `letta server` over it, a proxy that cuts, a client through the proxy, and
/// an agent with one conversation.
async fn through_a_cutting_proxy() -> (
    ScriptedLlm,
    tempfile::TempDir,
    CutProxy,
    RemoteClient,
    Agent,
    String,
) {
    let llm = ScriptedLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = support::servers::engine(&llm, dir.path());
    let base = support::servers::serve(engine, None).await;
    let proxy = CutProxy::start(base.trim_start_matches("http://")).await;
    let client = RemoteClient::new(&proxy.url, None);
    let agent = client.create_agent(CreateAgent::default()).await.unwrap();
    let conv = client
        .create_conversation(&agent.id, CreateConversation::default())
        .await
        .unwrap()
        .id;
    (llm, dir, proxy, client, agent, conv)
}

#[tokio::test]
async fn cut_streams_resume_to_the_same_text() {
    let (llm, _dir, proxy, client, _agent, conv) = through_a_cutting_proxy().await;
    let expected: String = (0..40).map(|i| format!("token{i} ")).collect();

    let turn = |cut: i64| {
        let (client, conv, expected, llm) =
            (client.clone(), conv.clone(), expected.clone(), llm.clone());
        let cut_after = proxy.cut_after.clone();
        async move {
            // Paced, one chunk per word: the engine merges deltas that are already waiting.
            llm.push([Reply::Slow {
                text: expected.clone(),
                delay_ms: 1,
            }]);
            cut_after.store(cut, Ordering::SeqCst);
            let req = SendMessageRequest {
                messages: Some(vec![MessageCreate::user(format!("turn {cut}"))]),
                ..Default::default()
            };
            let chunks: Vec<LettaMessage> = client
                .send_message(&conv, req)
                .await
                .unwrap()
                .map(|c| c.unwrap())
                .collect()
                .await;
            let text: String = chunks
                .iter()
                .filter_map(|c| {
                    if let LettaMessage::Assistant(a) = c {
                        Some(a.content.to_text())
                    } else {
                        None
                    }
                })
                .collect();
            assert_eq!(text, expected, "cut after {cut} bytes");
            let stops = chunks
                .iter()
                .filter(|c| matches!(c, LettaMessage::StopReason { .. }))
                .count();
            assert_eq!(stops, 1, "cut after {cut} bytes");
            let seqs: Vec<i64> = chunks.iter().filter_map(LettaMessage::seq_id).collect();
            assert!(
                seqs.windows(2).all(|w| w[1] > w[0]),
                "no chunk twice: {seqs:?}"
            );
        }
    };
    // The uninterrupted body's length bounds the cut points.
    turn(-1).await;
    let cut_points = (0..14_000).step_by(151);
    for k in cut_points.clone() {
        turn(k).await;
    }
    let cuts = proxy.cuts.load(Ordering::SeqCst);
    assert!(cuts >= 80, "the proxy really cut the streams ({cuts})");
    // Every turn stored its answer once.
    let msgs = client
        .list_messages(
            &conv,
            None,
            ListParams {
                limit: Some(1000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let answers = msgs
        .iter()
        .filter(|m| matches!(m, LettaMessage::Assistant(_)))
        .count();
    assert_eq!(answers, 1 + cut_points.count());
}

/// The connection drops inside the response headers (the request was delivered): the client
/// follows the run it started instead of failing or sending twice, also in `default`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_inside_the_headers_follows_the_run() {
    let (llm, _dir, proxy, client, agent, conv) = through_a_cutting_proxy().await;
    for (target, agent_id) in [(conv.as_str(), None), ("default", Some(agent.id.clone()))] {
        for keep in [5i64, 40] {
            let text = format!("answer for {target} after {keep}");
            llm.push([Reply::Slow {
                text: text.clone(),
                delay_ms: 30,
            }]);
            proxy.cut_after.store(-2 - keep, Ordering::SeqCst);
            let req = SendMessageRequest {
                messages: Some(vec![MessageCreate::user("hi")]),
                agent_id: agent_id.clone(),
                ..Default::default()
            };
            let chunks: Vec<LettaMessage> = client
                .send_message(target, req)
                .await
                .unwrap()
                .map(|c| c.unwrap())
                .collect()
                .await;
            let got: String = chunks
                .iter()
                .filter_map(|c| match c {
                    LettaMessage::Assistant(a) => Some(a.content.to_text()),
                    _ => None,
                })
                .collect();
            assert_eq!(got, text, "{target} cut after {keep} header bytes");
        }
    }
}
