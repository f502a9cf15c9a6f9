//! Agent File import: Letta's `/v1/agents/import` takes the file as a multipart upload.

use reqwest::Method;
use reqwest::multipart::{Form, Part};

use super::{RemoteClient, errors};
use crate::backend::{BackendError, Result};
use crate::protocol::agent_file::AgentFile;

#[derive(serde::Deserialize)]
struct Imported {
    #[serde(default)]
    agent_ids: Vec<String>,
}

impl RemoteClient {
    /// Upload `file`; the ids of the agents the server made. Never retried: a retry after a
    /// lost answer would import the agents twice.
    pub(super) async fn import_file(&self, file: &AgentFile) -> Result<Vec<String>> {
        let bytes = serde_json::to_vec(file).map_err(|e| BackendError::Other(e.to_string()))?;
        let part = Part::bytes(bytes)
            .file_name("agent.af")
            .mime_str("application/json")
            .map_err(|e| BackendError::Other(e.to_string()))?;
        let resp = self
            .request(Method::POST, "/v1/agents/import", &[])
            .multipart(Form::new().part("file", part))
            .send()
            .await
            .map_err(|e| errors::from_reqwest(&self.base, &e))?;
        let resp = self.check(resp).await?;
        let body: Imported = resp.json().await.map_err(|e| BackendError::Server {
            status: 200,
            message: format!("{} sent an import answer letta cannot read: {e}", self.base),
        })?;
        Ok(body.agent_ids)
    }
}
