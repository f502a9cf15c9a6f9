//! HTTP status → [`BackendError`], with messages that say what to do.

use crate::backend::BackendError;
use crate::protocol::ApiErrorBody;

/// Map a failed response. `base` names the server in the message.
pub fn from_status(
    base: &str,
    status: u16,
    body: &str,
    retry_after_ms: Option<u64>,
) -> BackendError {
    let parsed: Option<ApiErrorBody> = serde_json::from_str(body).ok();
    let run_id = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("run_id").and_then(|r| r.as_str()).map(str::to_string));
    let detail = parsed
        .map(|p| p.detail_text())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| body.chars().take(300).collect());
    let lower = detail.to_lowercase();
    match status {
        401 | 403 => BackendError::Unauthorized(format!(
            "{base} refused the request ({status}: {detail}); check LETTA_API_KEY"
        )),
        404 => BackendError::NotFound(if detail.is_empty() {
            format!("not found on {base}")
        } else {
            detail
        }),
        409 if lower.contains("waiting for approval") => BackendError::PendingApproval(detail),
        409 if lower.contains("no active run") => BackendError::NothingActive(detail),
        409 => BackendError::Busy {
            message: format!("Another session is running this conversation ({detail})"),
            run_id,
        },
        400 if lower.contains("no active run") => BackendError::NothingActive(detail),
        400 | 422 => BackendError::Validation(detail),
        429 => BackendError::RateLimited {
            message: format!("{base} is rate limiting requests ({detail})"),
            retry_after_ms,
        },
        // Unavailable, and saying when to come back: the same as a rate limit.
        503 if retry_after_ms.is_some() => BackendError::RateLimited {
            message: format!("{base} is unavailable for now ({detail})"),
            retry_after_ms,
        },
        _ => BackendError::Server {
            status,
            message: format!("{base} answered {status}: {detail}"),
        },
    }
}

/// Map a transport failure.
pub fn from_reqwest(base: &str, e: &reqwest::Error) -> BackendError {
    let base = &crate::settings::mask_url(base);
    if e.is_timeout() {
        BackendError::Network(format!("timed out waiting for the Letta server at {base}"))
    } else if e.is_connect() {
        BackendError::Unreachable(format!(
            "cannot reach the Letta server at {base}: {}",
            crate::llm::http::connect_cause(e)
        ))
    } else {
        BackendError::Network(format!("talking to the Letta server at {base} failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_statuses() {
        let b = "http://h";
        assert!(
            from_status(b, 401, "{}", None)
                .to_string()
                .contains("check LETTA_API_KEY")
        );
        assert!(
            matches!(from_status(b, 404, r#"{"detail":"Agent not found"}"#, None), BackendError::NotFound(m) if m == "Agent not found")
        );
        let busy = from_status(
            b,
            409,
            r#"{"detail":"CONFLICT: Another request (run_id=run-1) is currently being processed","run_id":"run-1"}"#,
            None,
        );
        assert!(
            matches!(&busy, BackendError::Busy { run_id: Some(r), .. } if r == "run-1"),
            "{busy:?}"
        );
        assert!(
            busy.to_string()
                .starts_with("Another session is running this conversation")
        );
        assert!(matches!(
            from_status(
                b,
                409,
                r#"{"detail":"The agent is waiting for approval on a tool call"}"#,
                None
            ),
            BackendError::PendingApproval(_)
        ));
        assert!(matches!(
            from_status(
                b,
                409,
                r#"{"detail":"CONFLICT: No active runs to cancel"}"#,
                None
            ),
            BackendError::NothingActive(_)
        ));
        assert!(matches!(
            from_status(b, 422, r#"{"detail":"[{'msg': 'bad'}]"}"#, None),
            BackendError::Validation(_)
        ));
        assert!(from_status(b, 429, "slow", Some(5)).retryable());
        assert!(from_status(b, 503, "<html>", None).retryable());
        assert!(!from_status(b, 500, "oops", None).retryable());
    }
}
