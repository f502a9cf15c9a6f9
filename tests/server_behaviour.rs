//! Server keep-alive pings, and the remote client's retry rules, over real HTTP on 127.0.0.1.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::routing::{get, post};
use futures_util::StreamExt;
use letta::backend::{Backend, BackendError};
use letta::protocol::*;
use letta::remote::RemoteClient;
use support::llm::{Reply, ScriptedLlm};

#[tokio::test]
async fn idle_streams_get_pings() {
    let llm = ScriptedLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = support::servers::engine(&llm, dir.path());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let opts = letta::server::Options {
        loopback_only: true,
        ..Default::default()
    };
    let app = letta::server::router_with(engine, &opts, Duration::from_millis(40));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = RemoteClient::new(&url, None);
    let agent = client.create_agent(CreateAgent::default()).await.unwrap();
    // The model pauses 200 ms between words; the stream must not go quiet meanwhile.
    llm.push([Reply::Slow {
        text: "one two three".into(),
        delay_ms: 200,
    }]);
    let req = SendMessageRequest {
        messages: Some(vec![MessageCreate::user("hi")]),
        agent_id: Some(agent.id.clone()),
        ..Default::default()
    };
    let chunks: Vec<LettaMessage> = client
        .send_message("default", req)
        .await
        .unwrap()
        .map(|c| c.unwrap())
        .collect()
        .await;
    let pings = chunks
        .iter()
        .filter(|c| matches!(c, LettaMessage::Ping(_)))
        .count();
    assert!(pings >= 4, "{pings} pings in {chunks:?}");
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
    assert_eq!(text, "one two three");
}

/// A server that fails the first `fail` requests of each route with `status`.
async fn flaky(status: u16, fail: usize) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let gets = Arc::new(AtomicUsize::new(0));
    let posts = Arc::new(AtomicUsize::new(0));
    let (g, p) = (gets.clone(), posts.clone());
    let answer = move |n: usize| {
        let mut r = if n < fail {
            axum::response::IntoResponse::into_response((
                axum::http::StatusCode::from_u16(status).unwrap(),
                axum::Json(serde_json::json!({"detail": "try later"})),
            ))
        } else {
            axum::response::IntoResponse::into_response(axum::Json(
                serde_json::json!({"id": "agent-1", "name": "a"}),
            ))
        };
        r.headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("0"));
        r
    };
    let app = axum::Router::new()
        .route(
            "/v1/agents/{id}",
            get(move || {
                let n = g.fetch_add(1, Ordering::SeqCst);
                async move { answer(n) }
            }),
        )
        .route(
            "/v1/conversations/{id}/messages",
            post(move || {
                let n = p.fetch_add(1, Ordering::SeqCst);
                async move { answer(n) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, gets, posts)
}

#[tokio::test]
async fn idempotent_requests_retry_and_sends_never_do() {
    for status in [429, 503] {
        let (url, gets, posts) = flaky(status, 2).await;
        let client = RemoteClient::new(&url, None);
        let agent = client.get_agent("agent-1").await.unwrap();
        assert_eq!(agent.id, "agent-1");
        assert_eq!(
            gets.load(Ordering::SeqCst),
            3,
            "two {status}s, then success"
        );
        let err = client
            .send_message(
                "conv-1",
                SendMessageRequest {
                    messages: Some(vec![MessageCreate::user("x")]),
                    ..Default::default()
                },
            )
            .await
            .err()
            .unwrap();
        assert_eq!(
            posts.load(Ordering::SeqCst),
            1,
            "a send is never retried blindly"
        );
        assert!(err.retryable(), "{err:?}");
    }
    // Retries are bounded.
    let (url, gets, _) = flaky(503, 100).await;
    let err = RemoteClient::new(&url, None)
        .get_agent("agent-1")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            BackendError::RateLimited {
                retry_after_ms: Some(0),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("unavailable"), "{err}");
    assert_eq!(
        gets.load(Ordering::SeqCst),
        letta::remote::MAX_ATTEMPTS as usize
    );
}
