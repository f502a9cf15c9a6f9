//! Reads the captured HTTP exchanges in `tests/fixtures/letta-server`.

use std::path::{Path, PathBuf};

/// One request/response pair from a fixture file.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub file: String,
    pub method: String,
    /// Path without the query string.
    pub path: String,
    pub query: String,
    pub request_body: String,
    pub status: u16,
    pub response_headers: Vec<(String, String)>,
    pub response_body: String,
}

impl Exchange {
    /// Whether the response is an SSE stream.
    pub fn is_sse(&self) -> bool {
        self.response_headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v.contains("event-stream"))
    }
}

/// `tests/fixtures`, inside the repository (see its README for where the captures came from).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every `.txt` exchange file under `letta-server/` (including `errors/`).
pub fn exchange_files() -> Vec<PathBuf> {
    let root = fixtures_dir().join("letta-server");
    let mut out = Vec::new();
    for dir in [root.clone(), root.join("errors")] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "txt") {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(
        out.len() > 50,
        "expected the captured fixtures, found {}",
        out.len()
    );
    out
}

/// Split headers from body at the first blank line, LF or CRLF.
fn split_head_body(s: &str) -> (&str, &str) {
    let lf = s.find("\n\n").map(|i| (i, 2));
    let crlf = s.find("\r\n\r\n").map(|i| (i, 4));
    match [lf, crlf].into_iter().flatten().min() {
        Some((i, n)) => (&s[..i], &s[i + n..]),
        None => (s, ""),
    }
}

/// Parse one fixture file into its exchanges.
pub fn parse_exchanges(path: &Path) -> Vec<Exchange> {
    let text = std::fs::read_to_string(path).unwrap();
    let file = path.file_name().unwrap().to_string_lossy().to_string();
    let mut out = Vec::new();
    for part in text.split("=== REQUEST\n").skip(1) {
        let (req, resp) = part.split_once("=== RESPONSE\n").expect("RESPONSE marker");
        let (req_head, req_body) = split_head_body(req);
        let first = req_head.lines().next().unwrap();
        let mut words = first.split_whitespace();
        let method = words.next().unwrap().to_string();
        let target = words.next().unwrap();
        let (path_only, query) = target.split_once('?').unwrap_or((target, ""));
        let (resp_head, resp_body) = split_head_body(resp);
        let mut lines = resp_head.lines();
        let status: u16 = lines
            .next()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let response_headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        out.push(Exchange {
            file: file.clone(),
            method,
            path: path_only.to_string(),
            query: query.to_string(),
            request_body: req_body.trim().to_string(),
            status,
            response_headers,
            response_body: resp_body.trim_end_matches('\n').to_string(),
        });
    }
    out
}

/// Every exchange of every fixture file.
pub fn all_exchanges() -> Vec<Exchange> {
    exchange_files()
        .iter()
        .flat_map(|p| parse_exchanges(p))
        .collect()
}
