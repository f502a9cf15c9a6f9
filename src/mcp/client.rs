//! One connection to an MCP server through rmcp, the official SDK: start or reach it, list its
//! tools, call one. Everything that goes wrong is a message naming the server.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{CallToolRequestParam, ClientInfo, Implementation, RawContent};
use rmcp::service::RunningService;
use rmcp::transport::{
    StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
};
use rmcp::{RoleClient, ServiceExt};
use tokio::io::AsyncReadExt;

use super::config::Transport;
use crate::tools::ToolOutput;

/// A live session with a server.
pub type Session = RunningService<RoleClient, ClientInfo>;

/// Bytes of a server's stderr kept, to say why it failed.
const STDERR_TAIL: usize = 2048;

/// What letta says it is when it connects.
fn client_info() -> ClientInfo {
    ClientInfo {
        client_info: Implementation {
            name: "letta".into(),
            title: Some("letta".into()),
            version: env!("CARGO_PKG_VERSION").into(),
            icons: None,
            website_url: None,
        },
        ..Default::default()
    }
}

/// The last bytes a stdio server wrote to stderr, shared with the task that drains it.
#[derive(Debug, Clone, Default)]
pub struct StderrTail(Arc<Mutex<Vec<u8>>>);

impl StderrTail {
    /// Its last line or two, for a failure message.
    pub fn summary(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(2)..].join(" / ");
        crate::tools::cap_text(tail.trim(), 300)
    }

    fn drain(&self, mut from: tokio::process::ChildStderr) -> tokio::task::JoinHandle<()> {
        let buf = self.0.clone();
        tokio::spawn(async move {
            let mut chunk = [0u8; 1024];
            while let Ok(n) = from.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                if let Ok(mut b) = buf.lock() {
                    b.extend_from_slice(&chunk[..n]);
                    let over = b.len().saturating_sub(STDERR_TAIL);
                    b.drain(..over);
                }
            }
        })
    }
}

/// The longest line a stdio server may send (one JSON-RPC message).
const MAX_LINE: usize = 16 << 20;

/// A server's stdout, cut off when one line passes [`MAX_LINE`]: a server that never ends a
/// line must not fill memory.
struct LineCap<R> {
    inner: R,
    since_newline: usize,
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for LineCap<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = &polled {
            let fresh = &buf.filled()[before..];
            self.since_newline = match memchr::memrchr(b'\n', fresh) {
                Some(i) => fresh.len() - i - 1,
                None => self.since_newline + fresh.len(),
            };
            if self.since_newline > MAX_LINE {
                return std::task::Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("the server sent a line longer than {} MB", MAX_LINE >> 20),
                )));
            }
        }
        polled
    }
}

/// A running stdio server; killed when dropped.
pub type Child = tokio::process::Child;

/// Start (stdio) or reach (HTTP) a server and complete MCP's handshake.
pub async fn connect(
    transport: &Transport,
    project: &Path,
    stderr: &StderrTail,
) -> Result<(Session, Option<Child>), String> {
    match transport {
        Transport::Stdio {
            command,
            args,
            env,
            cwd,
        } => {
            let mut cmd = tokio::process::Command::new(command);
            // letta's own keys are not the server's business unless its entry passes them.
            for k in crate::sandbox::SECRET_ENV {
                if !env.contains_key(*k) {
                    cmd.env_remove(k);
                }
            }
            cmd.args(args)
                .envs(env)
                .current_dir(
                    cwd.as_deref()
                        .map_or_else(|| project.to_path_buf(), |c| project.join(c)),
                )
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true);
            let mut child = cmd
                .spawn()
                .map_err(|e| format!("cannot start {command:?}: {e}"))?;
            let drained = child.stderr.take().map(|e| stderr.drain(e));
            let (Some(out), Some(input)) = (child.stdout.take(), child.stdin.take()) else {
                return Err(format!("cannot talk to {command:?}"));
            };
            let reader = LineCap {
                inner: out,
                since_newline: 0,
            };
            let served = client_info().serve((reader, input)).await;
            if served.is_err()
                && let Some(d) = drained
            {
                // What it printed before it died says why: wait for the pipe to close.
                let _ = tokio::time::timeout(std::time::Duration::from_secs(2), d).await;
            }
            let session = served.map_err(|e| {
                let why = stderr.summary();
                if why.is_empty() {
                    format!("the handshake failed: {e}")
                } else {
                    format!("the handshake failed: {e}; it said: {why}")
                }
            })?;
            Ok((session, Some(child)))
        }
        Transport::Http { url, headers } => {
            let mut map = reqwest::header::HeaderMap::new();
            for (k, v) in headers {
                let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                    .map_err(|_| format!("header name {k:?} is not valid"))?;
                let value = reqwest::header::HeaderValue::from_str(v)
                    .map_err(|_| format!("the value of header {k:?} is not valid"))?;
                map.insert(name, value);
            }
            let http = reqwest::Client::builder()
                .default_headers(map)
                .connect_timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
            let t = StreamableHttpClientTransport::with_client(
                http,
                StreamableHttpClientTransportConfig::with_uri(url.as_str()),
            );
            let session = client_info()
                .serve(t)
                .await
                .map_err(|e| format!("cannot connect to {url}: {e}"))?;
            Ok((session, None))
        }
    }
}

/// A server's tool, as listed.
#[derive(Debug, Clone)]
pub struct ListedTool {
    pub name: String,
    pub description: String,
    pub schema: serde_json::Value,
}

/// Every tool the server offers.
pub async fn list_tools(session: &Session) -> Result<Vec<ListedTool>, String> {
    let tools = session
        .list_all_tools()
        .await
        .map_err(|e| format!("listing its tools failed: {e}"))?;
    Ok(tools
        .into_iter()
        .map(|t| ListedTool {
            name: t.name.to_string(),
            description: t.description.map(|d| d.to_string()).unwrap_or_default(),
            schema: serde_json::Value::Object((*t.input_schema).clone()),
        })
        .collect())
}

/// Why a call could not complete, as opposed to the tool reporting an error.
#[derive(Debug)]
pub enum CallError {
    /// The server did not answer within the timeout.
    TimedOut(Duration),
    /// The connection broke (the server exited, the network failed).
    Transport(String),
}

/// Call one tool; the result is what the model reads.
pub async fn call(
    peer: &rmcp::Peer<RoleClient>,
    tool: &str,
    args: serde_json::Value,
    timeout: Duration,
) -> Result<ToolOutput, CallError> {
    let arguments = match args {
        serde_json::Value::Object(m) => Some(m),
        _ => None,
    };
    let req = CallToolRequestParam {
        name: tool.to_string().into(),
        arguments,
    };
    let result = match tokio::time::timeout(timeout, peer.call_tool(req)).await {
        Err(_) => return Err(CallError::TimedOut(timeout)),
        Ok(Err(rmcp::ServiceError::McpError(e))) => {
            return Ok(ToolOutput::err(format!(
                "the server refused the call: {}",
                e.message
            )));
        }
        Ok(Err(e)) => return Err(CallError::Transport(e.to_string())),
        Ok(Ok(r)) => r,
    };
    let mut text = Vec::new();
    for c in &result.content {
        match &c.raw {
            RawContent::Text(t) => text.push(t.text.clone()),
            RawContent::Image(i) => text.push(format!(
                "[image: {}, {} bytes of base64]",
                i.mime_type,
                i.data.len()
            )),
            RawContent::Audio(a) => text.push(format!("[audio: {}]", a.mime_type)),
            RawContent::Resource(r) => text
                .push(serde_json::to_string(&r.resource).unwrap_or_else(|_| "[resource]".into())),
            RawContent::ResourceLink(r) => text.push(format!("[resource: {}]", r.uri)),
        }
    }
    if text.is_empty()
        && let Some(s) = &result.structured_content
    {
        text.push(s.to_string());
    }
    let body = crate::tools::cap_text(&text.join("\n"), crate::tools::OUTPUT_CAP);
    Ok(if result.is_error == Some(true) {
        ToolOutput::err(body)
    } else {
        ToolOutput::ok(body)
    })
}
