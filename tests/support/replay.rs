//! A server that answers with captured real-server exchanges, so the client is tested against
//! what a real Letta server does rather than our own server's habits.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, Response};

use super::fixtures::{Exchange, fixtures_dir, parse_exchanges};

/// What was asked of a replay server.
#[derive(Debug, Clone)]
pub struct Asked {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: String,
}

/// A running replay server on 127.0.0.1:0 (in the current runtime).
pub struct Replay {
    pub url: String,
    asked: Arc<Mutex<Vec<Asked>>>,
}

/// The exchanges of `letta-server/NAME.txt`.
pub fn exchanges(name: &str) -> Vec<Exchange> {
    parse_exchanges(
        &fixtures_dir()
            .join("letta-server")
            .join(format!("{name}.txt")),
    )
}

impl Replay {
    /// Serve `script`: each request takes the first unused exchange with its method and path
    /// (ids in the path match anything of the same kind); anything else is a 404.
    pub async fn start(script: Vec<Exchange>) -> Self {
        let left = Arc::new(Mutex::new(script));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let (l2, a2) = (left.clone(), asked.clone());
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let (left, asked) = (l2.clone(), a2.clone());
            async move { answer(req, &left, &asked).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}"),
            asked,
        }
    }

    /// Every request so far.
    pub fn asked(&self) -> Vec<Asked> {
        self.asked.lock().unwrap().clone()
    }
}

/// `conv-…`, `agent-…` and the like compare by their prefix only.
fn same_path(pattern: &str, path: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (
        pattern.trim_end_matches('/').split('/').collect(),
        path.trim_end_matches('/').split('/').collect(),
    );
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            x == y
                || match (x.split_once('-'), y.split_once('-')) {
                    (Some((px, _)), Some((py, _))) => px == py && px.len() > 2,
                    _ => false,
                }
        })
}

async fn answer(
    req: Request<Body>,
    left: &Mutex<Vec<Exchange>>,
    asked: &Mutex<Vec<Asked>>,
) -> Response<Body> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let body = axum::body::to_bytes(req.into_body(), 1 << 24)
        .await
        .unwrap_or_default();
    asked.lock().unwrap().push(Asked {
        method: method.clone(),
        path: path.clone(),
        query,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let found = {
        let mut left = left.lock().unwrap();
        let i = left
            .iter()
            .position(|e| e.method == method && same_path(&e.path, &path));
        i.map(|i| left.remove(i))
    };
    let Some(e) = found else {
        return Response::builder()
            .status(404)
            .header("content-type", "application/json")
            .body(Body::from(format!(
                r#"{{"detail":"no capture for {method} {path}"}}"#
            )))
            .unwrap();
    };
    let mut r = Response::builder().status(e.status);
    let kind = if e.is_sse() {
        "text/event-stream"
    } else {
        "application/json"
    };
    r = r.header("content-type", kind);
    // The captures lose the blank line that ends the last event.
    let body = if e.is_sse() {
        format!("{}\n\n", e.response_body.trim_end())
    } else {
        e.response_body
    };
    r.body(Body::from(body)).unwrap()
}
