//! HTTP plumbing shared by providers: status → typed error, body → SSE events.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Response;

use super::LlmError;
use crate::protocol::sse::{SseDecoder, SseEvent};

/// A client with sane timeouts for LLM calls (connect fast; streams may be long).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("letta-rs/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// A [`client`] built on first use, shared by the clones of a provider: start-up builds no
/// TLS configuration (and loads no root certificates) for providers it does not call.
#[derive(Clone, Default)]
pub struct LazyClient(std::sync::Arc<std::sync::OnceLock<reqwest::Client>>);

impl LazyClient {
    pub fn get(&self) -> &reqwest::Client {
        self.0.get_or_init(client)
    }
}

/// Why a connection could not be made, in words a person can act on: nothing listens at
/// the address, the name does not resolve (DNS, or no network at all), or there is no route.
pub fn connect_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut text = String::new();
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            match io.kind() {
                K::ConnectionRefused => return "nothing is listening there".into(),
                K::NetworkUnreachable | K::HostUnreachable => {
                    return "there is no route to it (is the network up?)".into();
                }
                K::TimedOut => return "the connection timed out".into(),
                _ => {}
            }
        }
        text.push_str(&err.to_string().to_lowercase());
        text.push(' ');
        cur = err.source();
    }
    if text.contains("dns") || text.contains("lookup") || text.contains("resolve") {
        "its name does not resolve (a typo in the host, no DNS, or no network)".into()
    } else if text.contains("refused") {
        "nothing is listening there".into()
    } else {
        "no connection could be made".into()
    }
}

/// Map a failed send to a network error naming the URL.
pub fn network(provider: &str, url: &str, e: reqwest::Error) -> LlmError {
    if e.is_connect() {
        return LlmError::Unreachable {
            provider: provider.into(),
            url: crate::settings::mask_url(url),
            why: connect_cause(&e),
        };
    }
    LlmError::Network {
        provider: provider.into(),
        url: url.into(),
        detail: if e.is_timeout() {
            "timed out".into()
        } else {
            e.to_string()
        },
    }
}

/// A `Retry-After` header (in seconds) as milliseconds.
pub(crate) fn retry_after_ms(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| (s * 1000.0) as u64)
}

/// Turn a non-success response into a typed error.
pub async fn error_for(provider: &str, key_var: &str, model: &str, resp: Response) -> LlmError {
    let status = resp.status().as_u16();
    let retry_after_ms = retry_after_ms(resp.headers());
    let body = resp.text().await.unwrap_or_default();
    let detail = extract_message(&body);
    let lower = detail.to_lowercase();
    match status {
        401 | 403 => LlmError::Auth {
            provider: provider.into(),
            key_var: key_var.into(),
            detail,
        },
        429 => LlmError::RateLimited {
            provider: provider.into(),
            detail,
            retry_after_ms,
        },
        400 | 413 if lower.contains("context") || lower.contains("too long") => {
            LlmError::ContextOverflow { detail }
        }
        404 | 400 if lower.contains("model") => LlmError::UnknownModel {
            provider: provider.into(),
            model: model.into(),
            detail,
        },
        _ => LlmError::Server {
            provider: provider.into(),
            status,
            detail,
        },
    }
}

/// The human part of an error body: `error.message`, `message`, `detail`, or the text itself.
fn extract_message(body: &str) -> String {
    let text = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) => [
            v.pointer("/error/message"),
            v.get("message"),
            v.get("detail"),
            v.get("error"),
        ]
        .into_iter()
        .flatten()
        .find_map(|x| x.as_str().map(str::to_string))
        .unwrap_or_else(|| body.to_string()),
        Err(_) => body.to_string(),
    };
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(300).collect()
}

/// The SSE events of a streaming response body; a transport failure ends with an error.
pub fn sse_events(
    provider: String,
    resp: Response,
) -> impl futures_util::Stream<Item = Result<SseEvent, LlmError>> + Send {
    let body = resp.bytes_stream();
    futures_util::stream::unfold(
        (
            body,
            SseDecoder::new(),
            std::collections::VecDeque::new(),
            false,
        ),
        move |(mut body, mut dec, mut queue, mut ended)| {
            let provider = provider.clone();
            async move {
                loop {
                    if let Some(ev) = queue.pop_front() {
                        return Some((Ok(ev), (body, dec, queue, ended)));
                    }
                    if ended {
                        return None;
                    }
                    match body.next().await {
                        Some(Ok(bytes)) => {
                            queue.extend(dec.push(&bytes));
                            if dec.pending_bytes() > crate::protocol::sse::MAX_EVENT_BYTES {
                                ended = true;
                                let err = LlmError::TooLarge {
                                    provider,
                                    limit_mb: crate::protocol::sse::MAX_EVENT_BYTES >> 20,
                                };
                                return Some((Err(err), (body, dec, queue, ended)));
                            }
                        }
                        Some(Err(_)) => {
                            ended = true;
                            let err = LlmError::StreamDropped { provider };
                            return Some((Err(err), (body, dec, queue, ended)));
                        }
                        None => ended = true,
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod cause_tests {
    use super::connect_cause;

    #[derive(Debug)]
    struct Wrapped(std::io::Error);
    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("client error (Connect)")
        }
    }
    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_failed_connection_says_why() {
        use std::io::{Error, ErrorKind};
        let refused = Wrapped(Error::from(ErrorKind::ConnectionRefused));
        assert_eq!(connect_cause(&refused), "nothing is listening there");
        let dns = Wrapped(Error::other(
            "dns error: failed to lookup address information",
        ));
        assert!(connect_cause(&dns).starts_with("its name does not resolve"));
        let route = Wrapped(Error::from(ErrorKind::NetworkUnreachable));
        assert!(connect_cause(&route).contains("no route"));
    }
}
