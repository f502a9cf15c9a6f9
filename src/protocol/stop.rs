//! Why a run stopped. Unknown reasons from newer servers are kept verbatim.

use serde::{Deserialize, Serialize};

/// The `stop_reason` value of a run or of a `stop_reason` chunk.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum StopReason {
    EndTurn,
    RequiresApproval,
    Cancelled,
    Error,
    LlmApiError,
    MaxSteps,
    MaxTokensExceeded,
    NoToolCall,
    InvalidToolCall,
    ContextWindowOverflowInSystemPrompt,
    Other(String),
}

const NAMES: &[(StopReason, &str)] = &[
    (StopReason::EndTurn, "end_turn"),
    (StopReason::RequiresApproval, "requires_approval"),
    (StopReason::Cancelled, "cancelled"),
    (StopReason::Error, "error"),
    (StopReason::LlmApiError, "llm_api_error"),
    (StopReason::MaxSteps, "max_steps"),
    (StopReason::MaxTokensExceeded, "max_tokens_exceeded"),
    (StopReason::NoToolCall, "no_tool_call"),
    (StopReason::InvalidToolCall, "invalid_tool_call"),
    (
        StopReason::ContextWindowOverflowInSystemPrompt,
        "context_window_overflow_in_system_prompt",
    ),
];

impl StopReason {
    /// The wire name, e.g. `end_turn`.
    pub fn as_str(&self) -> &str {
        if let Self::Other(s) = self {
            return s;
        }
        NAMES
            .iter()
            .find(|(r, _)| r == self)
            .map_or("error", |(_, n)| *n)
    }

    /// Whether the run ended because something went wrong, as opposed to a normal stop.
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            Self::Error
                | Self::LlmApiError
                | Self::InvalidToolCall
                | Self::ContextWindowOverflowInSystemPrompt
        )
    }
}

impl From<String> for StopReason {
    fn from(s: String) -> Self {
        NAMES
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(r, _)| r.clone())
            .unwrap_or(Self::Other(s))
    }
}

impl From<StopReason> for String {
    fn from(r: StopReason) -> Self {
        r.as_str().to_string()
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
