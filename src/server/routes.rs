//! The REST handlers: thin translations between HTTP and the engine.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::sse::{coalesced, frames};
use crate::backend::{AgentQuery, Backend, BackendError, ConversationQuery};
use crate::protocol::*;

/// An error answer: `{"detail": …}` with the right status.
pub struct ApiError(pub BackendError, pub Option<StatusCode>);

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> Self {
        Self(e, None)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.1.unwrap_or_else(|| {
            StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        });
        let mut body = json!({"detail": self.0.to_string()});
        if let BackendError::Busy {
            run_id: Some(r), ..
        } = &self.0
        {
            body["run_id"] = json!(r);
        }
        (status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

fn bad_json(e: serde_json::Error) -> ApiError {
    ApiError(
        BackendError::Validation(format!("invalid request body: {e}")),
        Some(StatusCode::UNPROCESSABLE_ENTITY),
    )
}

/// Parse an optional JSON body (several endpoints accept none).
fn body<T: serde::de::DeserializeOwned + Default>(raw: &str) -> ApiResult<T> {
    if raw.trim().is_empty() {
        Ok(T::default())
    } else {
        serde_json::from_str(raw).map_err(bad_json)
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    agent_id: Option<String>,
    limit: Option<u32>,
    after: Option<String>,
    before: Option<String>,
    order: Option<Order>,
    order_by: Option<String>,
    name: Option<String>,
    query_text: Option<String>,
    summary_search: Option<String>,
    message_id: Option<String>,
}

impl ListQuery {
    fn page(&self) -> ListParams {
        ListParams {
            limit: self.limit,
            after: self.after.clone(),
            before: self.before.clone(),
            order: self.order,
            order_by: self.order_by.clone(),
        }
    }
}

async fn health(State(s): State<AppState>) -> ApiResult<Json<Health>> {
    Ok(Json(s.engine.health().await?))
}

async fn models(State(s): State<AppState>) -> ApiResult<Json<Vec<LlmModel>>> {
    Ok(Json(s.engine.list_models().await?))
}

async fn create_agent(State(s): State<AppState>, raw: String) -> ApiResult<Json<Agent>> {
    Ok(Json(s.engine.create_agent(body(&raw)?).await?))
}

async fn list_agents(
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<Agent>>> {
    let name = q.name.clone().or(q.query_text.clone());
    Ok(Json(
        s.engine
            .list_agents(AgentQuery {
                page: q.page(),
                name,
            })
            .await?,
    ))
}

async fn get_agent(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Agent>> {
    Ok(Json(s.engine.get_agent(&id).await?))
}

async fn update_agent(
    State(s): State<AppState>,
    Path(id): Path<String>,
    raw: String,
) -> ApiResult<Json<Agent>> {
    Ok(Json(s.engine.update_agent(&id, body(&raw)?).await?))
}

async fn delete_agent(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    s.engine.delete_agent(&id).await?;
    Ok(Json(
        json!({"message": format!("Agent id={id} successfully deleted")}),
    ))
}

/// Blocks are few, so their cursor paging is done here. SDKs page until a page comes back
/// empty, so `after` must be honoured.
async fn list_blocks(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<Block>>> {
    let mut blocks = s.engine.list_blocks(&id).await?;
    if q.order == Some(Order::Desc) {
        blocks.reverse();
    }
    let position = |cursor: &Option<String>| {
        cursor
            .as_ref()
            .map(|c| blocks.iter().position(|b| b.id.as_deref() == Some(c)))
    };
    let start = match position(&q.after) {
        Some(Some(i)) => i + 1,
        Some(None) => blocks.len(),
        None => 0,
    };
    let end = match position(&q.before) {
        Some(Some(i)) => i,
        _ => blocks.len(),
    };
    let limit = q.limit.map_or(usize::MAX, |l| l as usize);
    let page = blocks.get(start..end.max(start)).unwrap_or_default();
    Ok(Json(page.iter().take(limit).cloned().collect()))
}

async fn get_block(
    State(s): State<AppState>,
    Path((id, label)): Path<(String, String)>,
) -> ApiResult<Json<Block>> {
    Ok(Json(s.engine.get_block(&id, &label).await?))
}

async fn update_block(
    State(s): State<AppState>,
    Path((id, label)): Path<(String, String)>,
    raw: String,
) -> ApiResult<Json<Block>> {
    Ok(Json(s.engine.update_block(&id, &label, body(&raw)?).await?))
}

async fn create_conversation(
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
    raw: String,
) -> ApiResult<Json<Conversation>> {
    let Some(agent) = q.agent_id else {
        return Err(BackendError::Validation("agent_id is required".into()).into());
    };
    Ok(Json(
        s.engine.create_conversation(&agent, body(&raw)?).await?,
    ))
}

async fn list_conversations(
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<Conversation>>> {
    let query = ConversationQuery {
        agent_id: q.agent_id.clone(),
        page: q.page(),
        summary_search: q.summary_search.clone(),
    };
    Ok(Json(s.engine.list_conversations(query).await?))
}

async fn get_conversation(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Conversation>> {
    Ok(Json(s.engine.get_conversation(&id).await?))
}

async fn update_conversation(
    State(s): State<AppState>,
    Path(id): Path<String>,
    raw: String,
) -> ApiResult<Json<Conversation>> {
    Ok(Json(s.engine.update_conversation(&id, body(&raw)?).await?))
}

async fn delete_conversation(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    s.engine.delete_conversation(&id).await?;
    Ok(Json(Value::Null))
}

async fn fork(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Conversation>> {
    let params = ForkParams {
        agent_id: q.agent_id,
        message_id: q.message_id,
    };
    Ok(Json(s.engine.fork_conversation(&id, params).await?))
}

async fn list_messages(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<LettaMessage>>> {
    Ok(Json(
        s.engine
            .list_messages(&id, q.agent_id.as_deref(), q.page())
            .await?,
    ))
}

fn sse_response(s: &AppState, stream: crate::backend::ChunkStream) -> Response {
    Response::builder()
        .header("content-type", "text/event-stream; charset=utf-8")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(coalesced(frames(stream, s.ping_every))))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn send(s: &AppState, conv: &str, mut req: SendMessageRequest) -> ApiResult<Response> {
    // Validation (e.g. "Messages must not be empty") is the engine's: one rule for every caller.
    let streaming = req.streaming.unwrap_or(true);
    req.streaming = Some(streaming);
    let stream = s.engine.send_message(conv, req).await?;
    if streaming {
        return Ok(sse_response(s, stream));
    }
    let chunks: Vec<LettaMessage> = stream.filter_map(|c| async move { c.ok() }).collect().await;
    let mut resp = LettaResponse::default();
    for c in chunks {
        match c {
            LettaMessage::Ping(_) => {}
            m @ LettaMessage::StopReason { .. } => resp.stop_reason = Some(m),
            m @ LettaMessage::Usage(_) => resp.usage = Some(m),
            m => resp.messages.push(m),
        }
    }
    Ok(Json(resp).into_response())
}

async fn send_message(
    State(s): State<AppState>,
    Path(id): Path<String>,
    raw: String,
) -> ApiResult<Response> {
    send(&s, &id, body(&raw)?).await
}

/// The older agent-level endpoints address the agent's default conversation.
async fn send_agent_message(
    State(s): State<AppState>,
    Path(agent): Path<String>,
    raw: String,
) -> ApiResult<Response> {
    let mut req: SendMessageRequest = body(&raw)?;
    req.agent_id = Some(agent);
    send(&s, DEFAULT_CONVERSATION, req).await
}

async fn stream_agent_message(
    State(s): State<AppState>,
    Path(agent): Path<String>,
    raw: String,
) -> ApiResult<Response> {
    let mut req: SendMessageRequest = body(&raw)?;
    req.agent_id = Some(agent);
    req.streaming = Some(true);
    send(&s, DEFAULT_CONVERSATION, req).await
}

async fn list_agent_messages(
    State(s): State<AppState>,
    Path(agent): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<LettaMessage>>> {
    Ok(Json(
        s.engine
            .list_messages(DEFAULT_CONVERSATION, Some(&agent), q.page())
            .await?,
    ))
}

async fn cancel(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let ids = s.engine.cancel(&id, q.agent_id.as_deref()).await?;
    Ok(Json(Value::Object(
        ids.into_iter().map(|r| (r, json!("cancelled"))).collect(),
    )))
}

async fn resume_conversation(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
    raw: String,
) -> ApiResult<Response> {
    let r: ResumeStream = body(&raw)?;
    let agent = q.agent_id.or_else(|| {
        r.extra
            .get("agent_id")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    match s
        .engine
        .conversation_stream(&id, agent.as_deref(), r.run_id.as_deref(), r.starting_after)
        .await
    {
        Ok(stream) => Ok(sse_response(&s, stream)),
        Err(e @ BackendError::NothingActive(_)) => Err(ApiError(e, Some(StatusCode::BAD_REQUEST))),
        Err(e) => Err(e.into()),
    }
}

async fn resume_run(
    State(s): State<AppState>,
    Path(id): Path<String>,
    raw: String,
) -> ApiResult<Response> {
    let r: ResumeStream = body(&raw)?;
    match s.engine.resume_stream(&id, r.starting_after).await {
        Ok(stream) => Ok(sse_response(&s, stream)),
        Err(e @ BackendError::NothingActive(_)) => Err(ApiError(e, Some(StatusCode::BAD_REQUEST))),
        Err(e) => Err(e.into()),
    }
}

async fn get_run(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Run>> {
    Ok(Json(s.engine.get_run(&id).await?))
}

async fn compact(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
    raw: String,
) -> ApiResult<Json<Compaction>> {
    // Letta takes `agent_id` in the body; the query is accepted too.
    let body: Value = if raw.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(&raw).map_err(bad_json)?
    };
    let agent = body
        .get("agent_id")
        .and_then(Value::as_str)
        .map(String::from)
        .or(q.agent_id);
    Ok(Json(s.engine.compact(&id, agent.as_deref()).await?))
}

#[derive(serde::Deserialize)]
struct ContextQuery {
    conversation_id: Option<String>,
}

async fn context_window(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ContextQuery>,
) -> ApiResult<Json<ContextWindow>> {
    Ok(Json(
        s.engine
            .context_window(&id, q.conversation_id.as_deref())
            .await?,
    ))
}

async fn search(State(s): State<AppState>, raw: String) -> ApiResult<Json<Vec<SearchHit>>> {
    let req: SearchRequest = serde_json::from_str(&raw).map_err(bad_json)?;
    Ok(Json(s.engine.search_messages(req).await?))
}

async fn not_found() -> ApiError {
    ApiError(BackendError::NotFound("Not Found".into()), None)
}

/// Every route, with and without the trailing slash clients differ on.
pub fn routes() -> Router<AppState> {
    let r = Router::new();
    let both = |r: Router<AppState>, path: &str, m: axum::routing::MethodRouter<AppState>| {
        let trimmed = path.trim_end_matches('/');
        let r = r.route(&format!("{trimmed}/"), m.clone());
        r.route(trimmed, m)
    };
    let r = both(r, "/v1/health/", get(health));
    let r = both(r, "/v1/models/", get(models));
    let r = both(r, "/v1/agents/", get(list_agents).post(create_agent));
    let r = both(
        r,
        "/v1/agents/{id}",
        get(get_agent).patch(update_agent).delete(delete_agent),
    );
    let r = both(r, "/v1/agents/{id}/core-memory/blocks", get(list_blocks));
    let r = both(r, "/v1/agents/{id}/export", get(super::agent_file::export));
    let big = axum::extract::DefaultBodyLimit::max(super::agent_file::MAX_FILE);
    let r = both(
        r,
        "/v1/agents/import",
        post(super::agent_file::import).layer(big),
    );
    let r = both(r, "/v1/agents/{id}/context", get(context_window));
    let r = both(
        r,
        "/v1/agents/{id}/core-memory/blocks/{label}",
        get(get_block).patch(update_block),
    );
    let r = both(
        r,
        "/v1/agents/{id}/messages",
        get(list_agent_messages).post(send_agent_message),
    );
    let r = both(
        r,
        "/v1/agents/{id}/messages/stream",
        post(stream_agent_message),
    );
    let r = both(
        r,
        "/v1/conversations/",
        get(list_conversations).post(create_conversation),
    );
    let r = both(
        r,
        "/v1/conversations/{id}",
        get(get_conversation)
            .patch(update_conversation)
            .delete(delete_conversation),
    );
    let r = both(r, "/v1/conversations/{id}/fork", post(fork));
    let r = both(
        r,
        "/v1/conversations/{id}/messages",
        get(list_messages).post(send_message),
    );
    let r = both(r, "/v1/conversations/{id}/cancel", post(cancel));
    let r = both(
        r,
        "/v1/conversations/{id}/stream",
        post(resume_conversation),
    );
    let r = both(r, "/v1/conversations/{id}/compact", post(compact));
    let r = both(r, "/v1/runs/{id}", get(get_run));
    let r = both(r, "/v1/runs/{id}/stream", post(resume_run));
    let r = both(r, "/v1/messages/search", post(search));
    r.fallback(not_found)
}
