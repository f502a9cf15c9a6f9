//! The remote backend: a Letta server (Letta Cloud or self-hosted) over its REST API, speaking
//! exactly what Letta Code sends.

mod errors;
mod import;
mod lineage;
mod order;
mod stream;

pub use lineage::Lineage;
pub use stream::MAX_RESUMES;

use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::backend::{AgentQuery, Backend, BackendError, ChunkStream, ConversationQuery, Result};
use crate::protocol::*;

/// Attempts for idempotent requests that hit 429/502/503 or a network error.
pub const MAX_ATTEMPTS: u32 = 4;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A Letta server client.
#[derive(Clone)]
pub struct RemoteClient {
    base: String,
    api_key: Option<String>,
    http: reqwest::Client,
    /// Where forks made from here are remembered (the server keeps no lineage).
    lineage: Option<Lineage>,
}

impl std::fmt::Debug for RemoteClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteClient")
            .field("base", &self.base)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

fn page_query(p: &ListParams) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    if let Some(l) = p.limit {
        q.push(("limit", l.to_string()));
    }
    if let Some(a) = &p.after {
        q.push(("after", a.clone()));
    }
    if let Some(b) = &p.before {
        q.push(("before", b.clone()));
    }
    if let Some(o) = p.order {
        q.push(("order", if o == Order::Asc { "asc" } else { "desc" }.into()));
    }
    if let Some(o) = &p.order_by {
        q.push(("order_by", o.clone()));
    }
    q
}

impl RemoteClient {
    /// A client for `base_url` (e.g. `https://api.letta.com`).
    pub fn new(base_url: &str, api_key: Option<String>) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(concat!("letta-rs/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_mins(2))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            base: base_url.trim_end_matches('/').to_string(),
            api_key,
            http,
            lineage: None,
        }
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
    ) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .query(query);
        if let Some(k) = &self.api_key {
            r = r.bearer_auth(k);
        }
        r
    }

    async fn check(&self, resp: reqwest::Response) -> Result<reqwest::Response> {
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let retry = crate::llm::http::retry_after_ms(resp.headers());
        let body = resp.text().await.unwrap_or_default();
        Err(errors::from_status(&self.base, status, &body, retry))
    }

    /// Send a JSON request. Idempotent ones are retried on 429/502/503 and network errors;
    /// a message send never is (it would run the agent twice).
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<T> {
        let idempotent = matches!(
            method,
            Method::GET | Method::PATCH | Method::DELETE | Method::PUT
        );
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut r = self.request(method.clone(), path, query);
            if let Some(b) = body {
                r = r.json(b);
            }
            let outcome = match r.send().await {
                Ok(resp) => self.check(resp).await,
                Err(e) => Err(errors::from_reqwest(&self.base, &e)),
            };
            match outcome {
                Ok(resp) => {
                    let text = resp
                        .text()
                        .await
                        .map_err(|e| errors::from_reqwest(&self.base, &e))?;
                    let text = if text.trim().is_empty() {
                        "null"
                    } else {
                        text.as_str()
                    };
                    return serde_json::from_str(text).map_err(|e| BackendError::Server {
                        status: 200,
                        message: format!(
                            "{} sent a response letta cannot read for {path}: {e}",
                            self.base
                        ),
                    });
                }
                Err(e) if idempotent && e.retryable() && attempt < MAX_ATTEMPTS => {
                    let wait = match &e {
                        BackendError::RateLimited {
                            retry_after_ms: Some(ms),
                            ..
                        } => Duration::from_millis(*ms),
                        _ => Duration::from_millis(250 << attempt),
                    };
                    tokio::time::sleep(wait.min(MAX_BACKOFF)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// POST that answers with a stream.
    async fn post_stream(
        &self,
        path: &str,
        query: &[(&str, String)],
        body: &Value,
    ) -> Result<reqwest::Response> {
        let resp = self
            .request(Method::POST, path, query)
            .header("accept", "text/event-stream")
            .json(body)
            .send()
            .await
            .map_err(|e| errors::from_reqwest(&self.base, &e))?;
        self.check(resp).await
    }

    fn agent_q(agent_id: Option<&str>) -> Vec<(&'static str, String)> {
        agent_id
            .map(|a| ("agent_id", a.to_string()))
            .into_iter()
            .collect()
    }
}

#[async_trait]
impl Backend for RemoteClient {
    fn location(&self) -> String {
        self.base.clone()
    }

    async fn health(&self) -> Result<Health> {
        self.call(Method::GET, "/v1/health/", &[], None).await
    }

    async fn list_models(&self) -> Result<Vec<LlmModel>> {
        self.call(Method::GET, "/v1/models/", &[], None).await
    }

    async fn create_agent(&self, mut req: CreateAgent) -> Result<Agent> {
        req.agent_type
            .get_or_insert_with(|| "letta_v1_agent".into());
        self.call(Method::POST, "/v1/agents/", &[], Some(&json!(req)))
            .await
    }

    async fn get_agent(&self, id: &str) -> Result<Agent> {
        self.call(
            Method::GET,
            &format!("/v1/agents/{id}"),
            &[("include", "agent.blocks".into())],
            None,
        )
        .await
    }

    async fn list_agents(&self, q: AgentQuery) -> Result<Vec<Agent>> {
        let mut query = page_query(&q.page);
        if let Some(n) = q.name {
            query.push(("query_text", n));
        }
        query.push(("include", "agent.blocks".into()));
        self.call(Method::GET, "/v1/agents/", &query, None).await
    }

    async fn update_agent(&self, id: &str, req: UpdateAgent) -> Result<Agent> {
        self.call(
            Method::PATCH,
            &format!("/v1/agents/{id}"),
            &[],
            Some(&json!(req)),
        )
        .await
    }

    async fn delete_agent(&self, id: &str) -> Result<()> {
        self.call::<Value>(Method::DELETE, &format!("/v1/agents/{id}"), &[], None)
            .await
            .map(|_| ())
    }

    async fn list_blocks(&self, id: &str) -> Result<Vec<Block>> {
        self.call(
            Method::GET,
            &format!("/v1/agents/{id}/core-memory/blocks"),
            &[],
            None,
        )
        .await
    }

    async fn get_block(&self, id: &str, label: &str) -> Result<Block> {
        self.call(
            Method::GET,
            &format!("/v1/agents/{id}/core-memory/blocks/{label}"),
            &[],
            None,
        )
        .await
    }

    async fn update_block(&self, id: &str, label: &str, req: BlockUpdate) -> Result<Block> {
        self.call(
            Method::PATCH,
            &format!("/v1/agents/{id}/core-memory/blocks/{label}"),
            &[],
            Some(&json!(req)),
        )
        .await
    }

    async fn create_conversation(
        &self,
        agent_id: &str,
        req: CreateConversation,
    ) -> Result<Conversation> {
        self.call(
            Method::POST,
            "/v1/conversations/",
            &[("agent_id", agent_id.into())],
            Some(&json!(req)),
        )
        .await
    }

    async fn get_conversation(&self, id: &str) -> Result<Conversation> {
        let mut c: Conversation = self
            .call(Method::GET, &format!("/v1/conversations/{id}"), &[], None)
            .await?;
        self.fill_lineage(std::slice::from_mut(&mut c));
        Ok(c)
    }

    async fn list_conversations(&self, q: ConversationQuery) -> Result<Vec<Conversation>> {
        let mut query = page_query(&q.page);
        if let Some(a) = q.agent_id {
            query.push(("agent_id", a));
        }
        if let Some(s) = q.summary_search {
            query.push(("summary_search", s));
        }
        let mut convs: Vec<Conversation> = self
            .call(Method::GET, "/v1/conversations/", &query, None)
            .await?;
        self.fill_lineage(&mut convs);
        Ok(convs)
    }

    async fn update_conversation(&self, id: &str, req: UpdateConversation) -> Result<Conversation> {
        self.call(
            Method::PATCH,
            &format!("/v1/conversations/{id}"),
            &[],
            Some(&json!(req)),
        )
        .await
    }

    async fn delete_conversation(&self, id: &str) -> Result<()> {
        self.call::<Value>(
            Method::DELETE,
            &format!("/v1/conversations/{id}"),
            &[],
            None,
        )
        .await
        .map(|_| ())
    }

    async fn fork_conversation(&self, id: &str, p: ForkParams) -> Result<Conversation> {
        let mut q = Self::agent_q(p.agent_id.as_deref());
        if let Some(m) = &p.message_id {
            q.push(("message_id", m.clone()));
        }
        let mut c: Conversation = self
            .call(
                Method::POST,
                &format!("/v1/conversations/{id}/fork"),
                &q,
                None,
            )
            .await?;
        if let Some(l) = &self.lineage {
            l.record(&mut c, id, p.message_id.as_deref());
        }
        Ok(c)
    }

    async fn export_agent(&self, agent_id: &str) -> Result<crate::protocol::agent_file::AgentFile> {
        self.call(
            Method::GET,
            &format!("/v1/agents/{agent_id}/export"),
            &[],
            None,
        )
        .await
    }

    async fn import_agent(
        &self,
        file: crate::protocol::agent_file::AgentFile,
    ) -> Result<Vec<String>> {
        self.import_file(&file).await
    }

    async fn list_messages(
        &self,
        id: &str,
        agent_id: Option<&str>,
        page: ListParams,
    ) -> Result<Vec<LettaMessage>> {
        let mut q = page_query(&page);
        q.extend(Self::agent_q(agent_id));
        let got: Vec<LettaMessage> = self
            .call(
                Method::GET,
                &format!("/v1/conversations/{id}/messages"),
                &q,
                None,
            )
            .await?;
        // The server's order is not to be trusted (`default` comes oldest first).
        Ok(order::in_order(got, page.order))
    }

    async fn send_message(&self, id: &str, mut req: SendMessageRequest) -> Result<ChunkStream> {
        req.streaming = Some(true);
        req.stream_tokens.get_or_insert(true);
        req.include_pings.get_or_insert(true);
        // Background runs can be re-attached if the connection drops.
        req.background.get_or_insert(true);
        let agent = req.agent_id.clone();
        let sent = self
            .post_stream(
                &format!("/v1/conversations/{id}/messages"),
                &[],
                &json!(req),
            )
            .await;
        let resp = match sent {
            Ok(r) => r,
            // The connection dropped after the request went out (inside the response's
            // headers): the run may have started. Follow it rather than send twice.
            Err(BackendError::Network(why)) => {
                match stream::attach_conversation(self, id, agent.as_deref()).await {
                    Some(r) => r,
                    None => {
                        return Err(BackendError::Network(format!(
                            "{why}; the server may have received the message (it is kept), but no run could be followed"
                        )));
                    }
                }
            }
            Err(e) => return Err(e),
        };
        let chunks = stream::chunks(self.clone(), id.to_string(), agent, resp);
        stream::refused_in_stream(chunks, &self.base).await
    }

    async fn cancel(&self, id: &str, agent_id: Option<&str>) -> Result<Vec<String>> {
        let v: Value = self
            .call(
                Method::POST,
                &format!("/v1/conversations/{id}/cancel"),
                &Self::agent_q(agent_id),
                None,
            )
            .await?;
        Ok(v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default())
    }

    async fn resume_stream(
        &self,
        run_id: &str,
        starting_after: Option<i64>,
    ) -> Result<ChunkStream> {
        let resp = self
            .post_stream(
                &format!("/v1/runs/{run_id}/stream"),
                &[],
                &json!({"starting_after": starting_after.unwrap_or(0)}),
            )
            .await?;
        Ok(stream::chunks(self.clone(), String::new(), None, resp))
    }

    async fn get_run(&self, run_id: &str) -> Result<Run> {
        self.call(Method::GET, &format!("/v1/runs/{run_id}"), &[], None)
            .await
    }

    async fn search_messages(&self, req: SearchRequest) -> Result<Vec<SearchHit>> {
        self.call(Method::POST, "/v1/messages/search", &[], Some(&json!(req)))
            .await
    }

    async fn compact(&self, conversation_id: &str, agent_id: Option<&str>) -> Result<Compaction> {
        let body = match agent_id {
            Some(a) => json!({ "agent_id": a }),
            None => json!({}),
        };
        self.call(
            Method::POST,
            &format!("/v1/conversations/{conversation_id}/compact"),
            &[],
            Some(&body),
        )
        .await
    }

    async fn context_window(
        &self,
        agent_id: &str,
        conversation_id: Option<&str>,
    ) -> Result<ContextWindow> {
        let q: Vec<(&str, String)> = conversation_id
            .map(|c| ("conversation_id", c.to_string()))
            .into_iter()
            .collect();
        self.call(
            Method::GET,
            &format!("/v1/agents/{agent_id}/context"),
            &q,
            None,
        )
        .await
    }
}
