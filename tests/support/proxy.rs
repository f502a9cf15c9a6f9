//! A loopback TCP proxy that cuts one message-send response body after k bytes, the way a
//! flaky network drops a stream. Everything else passes through untouched.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The proxy's controls.
pub struct CutProxy {
    pub url: String,
    /// Body bytes to let through on the next send; -1 means no cut, and `-2 - n` cuts the
    /// response inside its headers, after n bytes of them.
    pub cut_after: Arc<AtomicI64>,
    /// How many responses were cut before their end.
    pub cuts: Arc<AtomicUsize>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn handle(
    mut client: TcpStream,
    upstream: String,
    cut_after: Arc<AtomicI64>,
    cuts: Arc<AtomicUsize>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 8192];
    while find(&head, b"\r\n\r\n").is_none() {
        match client.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let line = String::from_utf8_lossy(&head[..head.iter().position(|b| *b == b'\n').unwrap_or(0)])
        .to_string();
    let is_send = line.starts_with("POST /v1/conversations/") && line.contains("/messages ");
    let k = if is_send {
        cut_after.swap(-1, Ordering::SeqCst)
    } else {
        -1
    };
    // One request per connection, so every send is seen here (no keep-alive reuse).
    let end = find(&head, b"\r\n\r\n").unwrap_or(head.len());
    head.splice(end..end, b"\r\nConnection: close".iter().copied());
    if server.write_all(&head).await.is_err() {
        return;
    }
    if k == -1 {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        return;
    }
    if k < -1 {
        // Cut inside the response headers: the request was delivered, the answer is lost.
        let keep = (-2 - k) as usize;
        let _ = server.write_all(&[]).await;
        let (mut cr, mut cw) = client.into_split();
        let (mut sr, mut sw) = server.into_split();
        let up = tokio::spawn(async move {
            let _ = tokio::io::copy(&mut cr, &mut sw).await;
        });
        let mut resp = Vec::new();
        while resp.len() <= keep {
            match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => resp.extend_from_slice(&buf[..n]),
            }
        }
        let _ = cw.write_all(&resp[..keep.min(resp.len())]).await;
        let _ = cw.shutdown().await;
        cuts.fetch_add(1, Ordering::SeqCst);
        up.abort();
        return;
    }
    // Relay the rest of the request, and the response up to k body bytes, then drop both.
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut cr, &mut sw).await;
    });
    let mut resp = Vec::new();
    let mut body_start = None;
    let mut reached = false;
    loop {
        let n = match sr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        resp.extend_from_slice(&buf[..n]);
        if body_start.is_none() {
            body_start = find(&resp, b"\r\n\r\n").map(|i| i + 4);
        }
        if let Some(start) = body_start
            && resp.len() > start + k as usize
        {
            reached = true;
            break;
        }
    }
    let end = body_start.map_or(resp.len(), |s| (s + k as usize).min(resp.len()));
    let _ = cw.write_all(&resp[..end]).await;
    let _ = cw.shutdown().await;
    if reached {
        cuts.fetch_add(1, Ordering::SeqCst);
    }
    up.abort();
}

impl CutProxy {
    /// Proxy to `upstream` (`host:port`) on 127.0.0.1:0.
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let cut_after = Arc::new(AtomicI64::new(-1));
        let cuts = Arc::new(AtomicUsize::new(0));
        let (c, n, up) = (cut_after.clone(), cuts.clone(), upstream.to_string());
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(handle(sock, up.clone(), c.clone(), n.clone()));
            }
        });
        Self {
            url,
            cut_after,
            cuts,
        }
    }
}
