//! `letta server` against a hostile browser page and a slowloris client, through the real binary:
//! a body must be JSON, other origins and non-loopback Host names are refused, headers must come
//! in time, and a flood of idle connections does not take it down.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support;
use support::bin::Sandbox;

/// A raw HTTP/1.1 request; the status code of the answer.
fn raw(addr: &str, request: &str) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn post(addr: &str, headers: &str) -> u16 {
    let body = r#"{"name":"planted"}"#;
    raw(
        addr,
        &format!(
            "POST /v1/agents/ HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn browser_requests_are_refused() {
    let sb = Sandbox::new("http://127.0.0.1:9/v1");
    sb.settings(serde_json::json!({"defaultModel": "openai/gpt-test"}));
    let server = sb.start_server(&["--allow-origin", "http://localhost:3000"]);
    let addr = server.url.trim_start_matches("http://").to_string();
    // A "simple" cross-site request: text/plain needs no preflight in a browser.
    assert_eq!(post(&addr, "Content-Type: text/plain\r\n"), 415);
    assert_eq!(post(&addr, ""), 415, "no content type");
    // Another origin, even with JSON.
    assert_eq!(
        post(
            &addr,
            "Content-Type: application/json\r\nOrigin: http://evil.example\r\n"
        ),
        403
    );
    // DNS rebinding: a page on evil.example resolves its name to 127.0.0.1.
    let rebound = raw(
        &addr,
        "GET /v1/agents/ HTTP/1.1\r\nHost: evil.example:8283\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(rebound, 421);
    // The configured origin and plain clients (no Origin) are served.
    assert_eq!(
        post(
            &addr,
            "Content-Type: application/json\r\nOrigin: http://localhost:3000\r\n"
        ),
        200
    );
    assert_eq!(
        post(&addr, "Content-Type: application/json; charset=utf-8\r\n"),
        200
    );
    let ok = raw(
        &addr,
        &format!(
            "GET /v1/agents/ HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n",
            addr.rsplit(':').next().unwrap()
        ),
    );
    assert_eq!(ok, 200);

    // An upload is taken only where Letta takes one (agent import), and never from another
    // origin.
    let upload = |path: &str, origin: &str| {
        let body = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.af\"\r\n\r\n{\"agents\":[{\"id\":\"agent-0\",\"name\":\"up\"}]}\r\n--b--\r\n";
        raw(
            &addr,
            &format!(
                "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{origin}Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    assert_eq!(upload("/v1/agents/", ""), 415);
    assert_eq!(
        upload("/v1/agents/import", "Origin: http://evil.example\r\n"),
        403
    );
    assert_eq!(upload("/v1/agents/import", ""), 200);
}

#[test]
fn slow_and_idle_clients_are_cut_off_and_capped() {
    let sb = Sandbox::new("http://127.0.0.1:9/v1");
    let server = sb.start_server(&["--header-timeout", "1", "--max-connections", "128"]);
    let addr = server.url.trim_start_matches("http://").to_string();
    // A slowloris flood: many connections that send half a request and stop.
    let flood: Vec<TcpStream> = (0..300)
        .filter_map(|_| {
            let mut s = TcpStream::connect(&addr).ok()?;
            let _ = s.write_all(b"GET /v1/health/ HTTP/1.1\r\nHost: localhost\r\nX-Slow: ");
            Some(s)
        })
        .collect();
    assert!(flood.len() > 100, "the flood could not even connect");
    // The server still answers, once the stalled ones have been timed out.
    let started = Instant::now();
    let status = raw(
        &addr,
        "GET /v1/health/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_secs(30));
    // A stalled connection is closed by the server: reading it ends.
    let mut one = TcpStream::connect(&addr).unwrap();
    one.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    one.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut buf = [0u8; 64];
    let closed = one.read(&mut buf).is_ok();
    assert!(closed, "a stalled connection stayed open");
    drop(flood);
}
