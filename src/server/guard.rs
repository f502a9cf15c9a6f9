//! What a web page in the user's browser must not be able to do to `letta server` on loopback:
//! send a "simple" cross-site request (`text/plain` JSON needs no CORS preflight), come from
//! another origin, or reach it through DNS rebinding (a Host name that is not loopback).

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

fn refuse(status: StatusCode, detail: String) -> Response {
    (status, axum::Json(serde_json::json!({ "detail": detail }))).into_response()
}

/// Whether a `Host` header names this machine's loopback.
fn loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    matches!(
        name.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "::1"
    ) || name
        .parse::<std::net::Ipv4Addr>()
        .is_ok_and(|a| a.is_loopback())
}

/// Whether a request carries a body (a length above zero, or chunked).
fn has_body(req: &Request) -> bool {
    let h = req.headers();
    h.get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > 0)
        || h.contains_key(header::TRANSFER_ENCODING)
}

/// Reject what a browser could send across sites; everything else goes on.
pub async fn check(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let h = req.headers();
    if state.loopback_only
        && let Some(host) = h.get(header::HOST).and_then(|v| v.to_str().ok())
        && !loopback_host(host)
    {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            format!("this server answers only to loopback names, not Host {host:?}"),
        );
    }
    if let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok())
        && !state.origins.iter().any(|o| o == origin)
    {
        return refuse(
            StatusCode::FORBIDDEN,
            format!(
                "requests from the web origin {origin:?} are refused; start letta server with --allow-origin {origin} to accept them"
            ),
        );
    }
    let writes = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if writes && has_body(&req) {
        let kind = h
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|t| t.trim().to_ascii_lowercase());
        // Letta's agent import is an upload; the Origin check above still applies to it.
        let upload = kind.as_deref() == Some("multipart/form-data")
            && req.uri().path().trim_end_matches('/') == "/v1/agents/import";
        if kind.as_deref() != Some("application/json") && !upload {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "a request body must be sent as Content-Type: application/json".into(),
            );
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names() {
        for ok in [
            "localhost",
            "localhost:8283",
            "127.0.0.1:1",
            "[::1]:8283",
            "127.1.2.3",
        ] {
            assert!(loopback_host(ok), "{ok}");
        }
        for no in [
            "evil.com",
            "evil.com:8283",
            "localhost.evil.com",
            "10.0.0.1:80",
            "[fe80::1]",
        ] {
            assert!(!loopback_host(no), "{no}");
        }
    }
}
