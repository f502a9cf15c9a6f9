//! The `sandbox` settings object (global and project files).

use serde::{Deserialize, Serialize};

use crate::protocol::Extra;

/// How commands are confined. Every key is optional; a missing one keeps the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SandboxSettings {
    /// `false` turns the OS sandbox off (commands are then checked by parsing only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Let sandboxed commands use the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<bool>,
    /// Exact commands that run outside the sandbox ("yes, and don't ask again").
    #[serde(
        rename = "excludedCommands",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub excluded_commands: Vec<String>,
    /// Hand letta's own secret variables (API keys) to commands.
    #[serde(
        rename = "passSecrets",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pass_secrets: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}
