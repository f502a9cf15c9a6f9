//! Settings files: the global `settings.json` and the per-project `.letta/` files.
//!
//! Files are read as typed structs that keep every key they do not know, so a file written by
//! Letta Code (or edited by hand) keeps its other keys. A file that is not valid JSON is never
//! overwritten: loading fails with its path and the parse error.

pub mod choice;
mod file;
pub mod fsutil;
mod global;
pub mod paths;
mod project;
mod sandbox;
mod update;

pub use choice::{BackendChoice, BackendKind};
pub use paths::Paths;

pub use file::{SettingsError, load_json};
pub use global::{AgentPrefs, GlobalSettings, ProviderConfig};
pub use project::{ProjectSettings, project_local_file, project_shared_file};
pub use sandbox::SandboxSettings;
pub mod frontmatter;
pub use update::{update, update_async, update_in_place};

use serde::{Deserialize, Serialize};

use crate::protocol::Extra;

/// One remembered session: which agent and conversation were last used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRef {
    #[serde(rename = "agentId")]
    pub agent_id: String,
    #[serde(rename = "conversationId", default = "default_conv")]
    pub conversation_id: String,
    #[serde(flatten)]
    pub extra: Extra,
}

fn default_conv() -> String {
    crate::protocol::DEFAULT_CONVERSATION.to_string()
}

impl SessionRef {
    /// A session for an agent and conversation.
    pub fn new(agent_id: impl Into<String>, conversation_id: impl Into<String>) -> Self {
        Self {
            agent_id: agent_id.into(),
            conversation_id: conversation_id.into(),
            extra: Extra::new(),
        }
    }
}

/// A URL as it may be shown: a password inside it (`https://user:secret@host`) is masked.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = if userinfo.contains(':') {
                format!("{user}:****")
            } else {
                "****".to_string()
            };
            format!("{scheme}://{masked}@{host}{path}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod url_tests {
    use super::mask_url;

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            mask_url("https://u:s3cret@h.com:8/v1"),
            "https://u:****@h.com:8/v1"
        );
        assert_eq!(
            mask_url("https://tok@h.com/v1?x=a@b"),
            "https://****@h.com/v1?x=a@b"
        );
        assert_eq!(mask_url("http://localhost:8283"), "http://localhost:8283");
        assert_eq!(mask_url("not a url"), "not a url");
    }
}
