//! Server-sent events decoding, shared by the LLM providers and the remote client.
//!
//! Bytes may arrive split anywhere (even inside a UTF-8 character or a CRLF pair); the decoder
//! buffers until a full event is available. Comment lines are skipped, multi-line `data:`
//! fields are joined with `\n`, and an event cut off by the end of input is discarded, as the
//! SSE specification says.

/// One decoded event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; `None` means the default `message`.
    pub event: Option<String>,
    pub data: String,
    pub id: Option<String>,
}

/// Fields of the event being read.
#[derive(Debug, Default)]
struct Pending {
    event: Option<String>,
    data: String,
    id: Option<String>,
    has_data: bool,
}

impl Pending {
    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_string()),
            "id" => self.id = Some(value.to_string()),
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        let id = self.id.take();
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        Some(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
            id,
        })
    }
}

/// Incremental SSE decoder.
#[derive(Debug, Default)]
pub struct SseDecoder {
    buf: Vec<u8>,
    pending: Pending,
}

impl SseDecoder {
    /// A decoder with an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed bytes; returns every event completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(pos) = memchr_newline(&self.buf[start..]) {
            let end = start + pos;
            let nl = self.buf[end];
            // A CR at the very end may be the first half of CRLF: wait for the next byte.
            if nl == b'\r' && end + 1 == self.buf.len() {
                break;
            }
            let mut next = end + 1;
            if nl == b'\r' && self.buf.get(next) == Some(&b'\n') {
                next += 1;
            }
            let raw = &self.buf[start..end];
            let ev = match std::str::from_utf8(raw) {
                Ok(line) => self.pending.line(line),
                Err(_) => self.pending.line(&String::from_utf8_lossy(raw)),
            };
            out.extend(ev);
            start = next;
        }
        self.buf.drain(..start);
        out
    }
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n' || c == b'\r')
}

/// Encode one event as SSE text (what `letta server` writes).
pub fn encode(event: Option<&str>, data: &str) -> String {
    let mut s = String::with_capacity(data.len() + 16);
    if let Some(e) = event {
        s.push_str("event: ");
        s.push_str(e);
        s.push('\n');
    }
    for line in data.split('\n') {
        s.push_str("data: ");
        s.push_str(line);
        s.push('\n');
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = ": comment\r\ndata: {\"a\":1}\r\n\r\nevent: error\ndata: line1\ndata: line2\n\ndata: é✓\n\nid: 7\ndata: [DONE]\n\n";

    fn all(bytes: &[u8], cuts: &[usize]) -> Vec<SseEvent> {
        let mut d = SseDecoder::new();
        let mut out = Vec::new();
        let mut prev = 0;
        for &c in cuts {
            out.extend(d.push(&bytes[prev..c]));
            prev = c;
        }
        out.extend(d.push(&bytes[prev..]));
        out
    }

    #[test]
    fn decodes_all_forms() {
        let ev = all(SAMPLE.as_bytes(), &[]);
        assert_eq!(ev.len(), 4);
        assert_eq!(ev[0].data, "{\"a\":1}");
        assert_eq!(ev[1].event.as_deref(), Some("error"));
        assert_eq!(ev[1].data, "line1\nline2");
        assert_eq!(ev[2].data, "é✓");
        assert_eq!(ev[3].id.as_deref(), Some("7"));
    }

    #[test]
    fn an_event_cut_off_by_the_end_is_discarded() {
        // As the SSE specification says: no blank line, no event.
        assert!(all(b"data: {\"half", &[]).is_empty());
        assert!(all(b"data: x\n", &[]).is_empty());
        assert!(all(b": only a comment", &[]).is_empty());
    }

    #[test]
    fn encode_round_trips() {
        let text = encode(Some("error"), "a\nb");
        let ev = all(text.as_bytes(), &[]);
        assert_eq!(ev[0].data, "a\nb");
        assert_eq!(ev[0].event.as_deref(), Some("error"));
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_events(mut cuts in proptest::collection::vec(0..SAMPLE.len(), 0..8)) {
            cuts.sort();
            let whole = all(SAMPLE.as_bytes(), &[]);
            prop_assert_eq!(all(SAMPLE.as_bytes(), &cuts), whole);
        }
    }
}
