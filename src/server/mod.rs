//! `letta server`: the embedded engine served as the Letta REST API, for the official SDKs and
//! any other Letta client.

mod routes;
mod sse;

pub use sse::PING_EVERY;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::local::Engine;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub token: Option<Arc<String>>,
    pub ping_every: Duration,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "binding {0} exposes your agents beyond this machine; set --token or LETTA_SERVER_TOKEN so clients must authenticate"
    )]
    NeedsToken(String),
    #[error("{0} is not a valid address to bind: {1}")]
    BadAddress(String, String),
    #[error("cannot listen on {0}: {1}")]
    Bind(String, std::io::Error),
}

async fn auth(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if let Some(token) = &state.token
        && !path.starts_with("/v1/health")
    {
        let given = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(token.as_str()) {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({"detail": "missing or wrong bearer token"})),
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// The API routes over an engine.
pub fn router(engine: Arc<Engine>, token: Option<String>) -> Router {
    router_with(engine, token, PING_EVERY)
}

/// The routes with another keep-alive interval (tests use a short one).
pub fn router_with(engine: Arc<Engine>, token: Option<String>, ping_every: Duration) -> Router {
    let state = AppState {
        engine,
        token: token.map(Arc::new),
        ping_every,
    };
    routes::routes()
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth))
        .with_state(state)
}

/// Check the bind address: anything but loopback needs a token.
pub fn bind_address(host: &str, port: u16, token: Option<&str>) -> Result<SocketAddr, ServeError> {
    let addr: SocketAddr = format!("{host}:{port}")
        .parse()
        .or_else(|_| format!("[{host}]:{port}").parse())
        .map_err(|e: std::net::AddrParseError| {
            ServeError::BadAddress(host.to_string(), e.to_string())
        })?;
    if !addr.ip().is_loopback() && token.is_none_or(str::is_empty) {
        return Err(ServeError::NeedsToken(addr.to_string()));
    }
    Ok(addr)
}

/// Serve until SIGINT or SIGTERM; then finish or cancel runs in flight, and return.
pub async fn serve(
    engine: Arc<Engine>,
    addr: SocketAddr,
    token: Option<String>,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ServeError::Bind(addr.to_string(), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| ServeError::Bind(addr.to_string(), e))?;
    on_ready(local);
    let app = router(engine.clone(), token);
    let shutdown = async move {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        // Runs in flight are cancelled and recorded as such, which also ends their streams,
        // so the connections close and the server can stop.
        engine.shutdown(Duration::from_secs(10)).await;
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| ServeError::Bind(local.to_string(), e))
}
