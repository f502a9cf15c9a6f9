//! `letta server`: the embedded engine served as the Letta REST API, for the official SDKs and
//! any other Letta client.

mod agent_file;
mod guard;
pub mod mcp;
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
    /// Bound to loopback: only loopback `Host` names are answered (against DNS rebinding).
    pub loopback_only: bool,
    /// Web origins whose requests are accepted (none by default).
    pub origins: Arc<Vec<String>>,
}

/// How `letta server` is exposed.
#[derive(Debug, Clone)]
pub struct Options {
    pub token: Option<String>,
    /// Web origins whose requests are accepted.
    pub origins: Vec<String>,
    /// Bound to a loopback address.
    pub loopback_only: bool,
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// Time a client has to send a request's headers (and to start the next one on a
    /// kept-alive connection).
    pub header_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            token: None,
            origins: Vec::new(),
            loopback_only: true,
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
        }
    }
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

/// Compare a presented token with the expected one in time that does not depend on where they
/// first differ.
pub(crate) fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
        if !given.is_some_and(|g| same_secret(g, token)) {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({"detail": "missing or wrong bearer token"})),
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// The API routes over an engine, on loopback with no token and no web origins.
pub fn router(engine: Arc<Engine>, token: Option<String>) -> Router {
    router_with(
        engine,
        &Options {
            token,
            ..Options::default()
        },
        PING_EVERY,
    )
}

/// The routes with these options and another keep-alive interval (tests use a short one).
pub fn router_with(engine: Arc<Engine>, opts: &Options, ping_every: Duration) -> Router {
    let state = AppState {
        engine,
        token: opts.token.clone().map(Arc::new),
        ping_every,
        loopback_only: opts.loopback_only,
        origins: Arc::new(opts.origins.clone()),
    };
    routes::routes()
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::check,
        ))
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
    opts: Options,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ServeError::Bind(addr.to_string(), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| ServeError::Bind(addr.to_string(), e))?;
    on_ready(local);
    let opts = Options {
        loopback_only: local.ip().is_loopback(),
        ..opts
    };
    let app = router_with(engine.clone(), &opts, PING_EVERY);
    let stop_tx =
        accept_until_signal(listener, app, opts.max_connections, opts.header_timeout).await;
    // Runs in flight are cancelled and recorded as such, which also ends their streams, so
    // the connections close and the server can stop.
    let _ = stop_tx.send(true);
    engine.shutdown(Duration::from_secs(10)).await;
    Ok(())
}

/// Serve `app` on `listener`, at most `max_connections` at once, each given `header_timeout`
/// to send its request's headers, until SIGINT or SIGTERM. Sending `true` on the returned
/// channel then closes the open connections gracefully.
pub(crate) async fn accept_until_signal(
    listener: tokio::net::TcpListener,
    app: Router,
    max_connections: usize,
    header_timeout: Duration,
) -> tokio::sync::watch::Sender<bool> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections.max(1)));
    let mut signals = Signals::new();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = signals.wait() => break,
        };
        let Ok((stream, _)) = accepted else {
            // Out of descriptors and the like: wait a moment rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        // Each streamed token goes out at once, not after the peer's delayed ACK.
        let _ = stream.set_nodelay(true);
        // The cap: a connection waits for a free slot, so a flood cannot exhaust the process.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let (app, mut stop) = (app.clone(), stop_rx.clone());
        tokio::spawn(async move {
            let service = hyper_util::service::TowerToHyperService::new(app);
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(slot);
        });
    }
    stop_tx
}

/// SIGINT and SIGTERM.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        Self {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    async fn wait(&mut self) {
        #[cfg(unix)]
        {
            let term = async {
                match self.term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = term => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
