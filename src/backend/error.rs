//! Errors a backend reports, with messages a user can act on.

/// A failed backend operation. The message of each variant is meant for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BackendError {
    #[error("{0}")]
    NotFound(String),
    /// Another run holds the conversation.
    #[error("{message}")]
    Busy {
        message: String,
        run_id: Option<String>,
    },
    /// A tool call is waiting for an approval answer.
    #[error("{0}")]
    PendingApproval(String),
    /// Nothing is running, so there is nothing to cancel or resume.
    #[error("{0}")]
    NothingActive(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Unauthorized(String),
    /// No LLM provider is configured for the embedded engine.
    #[error("{0}")]
    NoProvider(String),
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_ms: Option<u64>,
    },
    #[error("{0}")]
    Network(String),
    /// No server accepts connections at the address.
    #[error("{0}")]
    Unreachable(String),
    #[error("{message}")]
    Server { status: u16, message: String },
    /// The local store failed (disk full, corrupt database, newer schema…).
    #[error("{0}")]
    Store(String),
    #[error("{0}")]
    Other(String),
}

impl BackendError {
    /// Whether trying the same idempotent request again may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Network(_) | Self::Unreachable(_) => true,
            Self::Server { status, .. } => *status == 503 || *status == 502,
            _ => false,
        }
    }

    /// The HTTP status `letta server` answers with for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            Self::Busy { .. } | Self::PendingApproval(_) => 409,
            Self::NothingActive(_) => 409,
            Self::Validation(_) => 422,
            Self::Unauthorized(_) => 401,
            Self::NoProvider(_) => 400,
            Self::RateLimited { .. } => 429,
            Self::Network(_) | Self::Unreachable(_) => 502,
            Self::Server { status, .. } => *status,
            Self::Store(_) | Self::Other(_) => 500,
        }
    }
}
