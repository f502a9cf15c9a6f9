//! Typed provider errors with messages a user can act on.

/// Why an LLM call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    #[error("{provider} rejected the API key ({detail}); check {key_var}")]
    Auth {
        provider: String,
        key_var: String,
        detail: String,
    },
    #[error("{provider} is rate limiting requests ({detail})")]
    RateLimited {
        provider: String,
        detail: String,
        retry_after_ms: Option<u64>,
    },
    #[error("the conversation no longer fits the model's context window ({detail})")]
    ContextOverflow { detail: String },
    #[error(
        "{provider} does not know model {model}; `letta model list` shows the valid ones ({detail})"
    )]
    UnknownModel {
        provider: String,
        model: String,
        detail: String,
    },
    #[error("{provider} answered {status}: {detail}")]
    Server {
        provider: String,
        status: u16,
        detail: String,
    },
    /// No connection could be made: `why` says whether nothing listens, the name does not
    /// resolve, or there is no route.
    #[error("cannot reach {provider} at {url}: {why}")]
    Unreachable {
        provider: String,
        url: String,
        why: String,
    },
    #[error("cannot reach {provider} at {url}: {detail}")]
    Network {
        provider: String,
        url: String,
        detail: String,
    },
    #[error("{provider} sent a response letta cannot read: {detail}")]
    BadResponse { provider: String, detail: String },
    #[error("{provider} ended the stream before the response was complete")]
    StreamDropped { provider: String },
    /// Nothing arrived for too long.
    #[error(
        "{provider} sent nothing for {secs} s; the answer was stopped (the wait is set by streamIdleTimeoutSecs)"
    )]
    Stalled { provider: String, secs: u64 },
    /// The answer grew past what letta keeps for one message.
    #[error(
        "{provider}'s answer passed {limit_mb} MB, more than one message may hold; it was stopped"
    )]
    TooLarge { provider: String, limit_mb: usize },
}

impl LlmError {
    /// Whether the same request may succeed if tried again later.
    pub fn retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Network { .. } | Self::Unreachable { .. } => true,
            Self::Server { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// How long the provider asked us to wait, if it said.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_ms, .. } => *retry_after_ms,
            _ => None,
        }
    }

    /// The Letta `error_type` for an `error_message` chunk.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Auth { .. } => "llm_authentication",
            Self::RateLimited { .. } => "llm_rate_limit",
            Self::ContextOverflow { .. } => "context_window_exceeded",
            Self::UnknownModel { .. } => "llm_bad_request",
            Self::Server { .. } => "llm_api_error",
            Self::Network { .. } | Self::Unreachable { .. } => "llm_connection_error",
            Self::BadResponse { .. } | Self::StreamDropped { .. } | Self::TooLarge { .. } => {
                "llm_api_error"
            }
            Self::Stalled { .. } => "llm_timeout",
        }
    }
}
