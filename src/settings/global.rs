//! The global `settings.json` in the config directory.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{SessionRef, SettingsError, load_json};
use crate::protocol::Extra;

/// A configured LLM provider (or Letta server) saved by `letta connect`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderConfig {
    #[serde(rename = "baseUrl", default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(rename = "apiKey", default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Read the key from this environment variable at run time instead of storing it.
    #[serde(rename = "apiKeyEnv", default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Global settings. Keys Letta Code writes that we do not use are kept as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalSettings {
    /// The last session per server, across projects.
    #[serde(
        rename = "sessionsByServer",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub sessions_by_server: BTreeMap<String, SessionRef>,
    /// Environment defaults, e.g. `LETTA_API_KEY` and `LETTA_BASE_URL` (Letta Code's format).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The model new agents get.
    #[serde(
        rename = "defaultModel",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub default_model: Option<String>,
    /// LLM providers for the embedded engine, by name (`openai`, `anthropic`, `ollama`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Permission rules (`allow`, `deny`, `ask`, `defaultMode`, `additionalDirectories`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Value>,
    /// Per-agent preferences (pins), in Letta Code's format.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<AgentPrefs>,
    /// How commands are confined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<super::SandboxSettings>,
    /// Seconds a model may send nothing before its answer is stopped (embedded engine).
    #[serde(
        rename = "streamIdleTimeoutSecs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stream_idle_timeout_secs: Option<u64>,
    /// Folders whose own `.letta` settings may loosen permissions (absolute paths).
    #[serde(
        rename = "trustedFolders",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub trusted_folders: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One agent's entry in `agents`. `baseUrl` says which server it lives on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentPrefs {
    #[serde(rename = "agentId", default)]
    pub agent_id: String,
    #[serde(rename = "baseUrl", default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl GlobalSettings {
    /// Load from `path`; missing means defaults, corrupt is an error naming the file.
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        load_json(path)
    }

    /// Change the file under its lock (see [`super::update`]). Always 0600: it may hold keys.
    pub fn update<R>(
        path: &Path,
        edit: impl FnOnce(&mut Self) -> Result<R, SettingsError>,
    ) -> Result<R, SettingsError> {
        super::update(path, Some(0o600), edit)
    }

    /// [`Self::update`] off the async runtime.
    pub async fn update_async<R: Send + 'static>(
        path: std::path::PathBuf,
        edit: impl FnOnce(&mut Self) -> Result<R, SettingsError> + Send + 'static,
    ) -> Result<R, SettingsError> {
        super::update_async(path, Some(0o600), edit).await
    }

    /// Pinned agent ids on the server at `location` (`local` for the embedded engine).
    pub fn pinned_agents(&self, location: &str) -> Vec<String> {
        self.agents
            .iter()
            .filter(|a| a.pinned == Some(true) && a.base_url.as_deref() == Some(location))
            .map(|a| a.agent_id.clone())
            .collect()
    }

    /// Pin or unpin an agent; other preferences of the entry are kept.
    pub fn set_pinned(&mut self, location: &str, agent_id: &str, pinned: bool) {
        let entry = self
            .agents
            .iter_mut()
            .find(|a| a.agent_id == agent_id && a.base_url.as_deref() == Some(location));
        match entry {
            Some(e) => e.pinned = Some(pinned),
            None => self.agents.push(AgentPrefs {
                agent_id: agent_id.to_string(),
                base_url: Some(location.to_string()),
                pinned: Some(pinned),
                extra: Default::default(),
            }),
        }
    }

    /// The Letta API key from settings (`env.LETTA_API_KEY`), if any.
    pub fn letta_api_key(&self) -> Option<&str> {
        self.env
            .get("LETTA_API_KEY")
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The Letta base URL from settings (`env.LETTA_BASE_URL`), if any.
    pub fn letta_base_url(&self) -> Option<&str> {
        self.env
            .get("LETTA_BASE_URL")
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_unknown_keys_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("settings.json");
        std::fs::write(
            &p,
            r#"{"tokenStreaming":false,"zeta":{"a":1},"sessionsByServer":{"local":{"agentId":"agent-1","conversationId":"conv-1","extra":true}},"alpha":[1,2]}"#,
        )
        .unwrap();
        let s = GlobalSettings::load(&p).unwrap();
        assert_eq!(s.sessions_by_server["local"].agent_id, "agent-1");
        GlobalSettings::update(&p, |s| {
            s.sessions_by_server
                .insert("x".into(), SessionRef::new("agent-2", "default"));
            Ok(())
        })
        .unwrap();
        let back: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(back["zeta"]["a"], 1);
        assert_eq!(back["alpha"][1], 2);
        assert_eq!(back["tokenStreaming"], false);
        assert_eq!(back["sessionsByServer"]["local"]["extra"], true);
        assert_eq!(back["sessionsByServer"]["x"]["agentId"], "agent-2");
    }

    #[test]
    fn corrupt_file_is_reported_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("settings.json");
        std::fs::write(&p, "{not json").unwrap();
        let err = GlobalSettings::load(&p).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&p.display().to_string()), "{msg}");
        assert!(msg.contains("line 1"), "{msg}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{not json");
    }

    #[test]
    fn wrong_type_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("settings.json");
        std::fs::write(&p, r#"{"sessionsByServer": 5}"#).unwrap();
        assert!(matches!(
            GlobalSettings::load(&p),
            Err(SettingsError::Corrupt { .. })
        ));
    }
}
