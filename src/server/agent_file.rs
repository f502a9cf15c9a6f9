//! Agent File export and import, as Letta serves them: `GET /v1/agents/{id}/export` and
//! `POST /v1/agents/import` with the file as a multipart upload (a bare JSON body works too).

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use serde_json::{Value, json};

use super::AppState;
use super::routes::{ApiError, ApiResult};
use crate::backend::{Backend, BackendError};
use crate::protocol::agent_file::AgentFile;

/// Largest agent file accepted.
pub const MAX_FILE: usize = 64 * 1024 * 1024;

fn invalid(what: String) -> ApiError {
    ApiError(
        BackendError::Validation(what),
        Some(StatusCode::UNPROCESSABLE_ENTITY),
    )
}

pub async fn export(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentFile>> {
    Ok(Json(s.engine.export_agent(&id).await?))
}

pub async fn import(State(s): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let bytes = if multipart {
        let mut form = Multipart::from_request(req, &())
            .await
            .map_err(|e| invalid(format!("invalid upload: {e}")))?;
        let mut found = None;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| invalid(format!("invalid upload: {e}")))?
        {
            if field.name() == Some("file") {
                found = Some(
                    field
                        .bytes()
                        .await
                        .map_err(|e| invalid(format!("reading the uploaded file: {e}")))?,
                );
                break;
            }
        }
        found.ok_or_else(|| invalid("the upload has no `file` part".into()))?
    } else {
        axum::body::to_bytes(req.into_body(), MAX_FILE)
            .await
            .map_err(|e| invalid(format!("reading the agent file: {e}")))?
    };
    let file: AgentFile =
        serde_json::from_slice(&bytes).map_err(|e| invalid(format!("not an agent file: {e}")))?;
    let ids = s.engine.import_agent(file).await?;
    Ok(Json(json!({ "agent_ids": ids })))
}
