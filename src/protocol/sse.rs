//! Server-sent events decoding, shared by the LLM providers and the remote client.
//!
//! Bytes may arrive split anywhere (even inside a UTF-8 character or a CRLF pair); the decoder
//! buffers until a full event is available. Comment lines are skipped, multi-line `data:`
//! fields are joined with `\n`, and an event cut off by the end of input is discarded, as the
//! SSE specification says.

/// The most an event may hold before the stream is refused.
pub const MAX_EVENT_BYTES: usize = 32 << 20;

/// One decoded event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; `None` means the default `message`.
    pub event: Option<String>,
    pub data: String,
    pub id: Option<String>,
}

/// One decoded event, borrowed from the decoder: a one-line `data` field (the usual shape)
/// is handed over straight from the input, without a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEventRef<'a> {
    /// The `event:` field; `None` means the default `message`.
    pub event: Option<&'a str>,
    pub data: &'a str,
    pub id: Option<&'a str>,
}

impl SseEventRef<'_> {
    /// An owned copy.
    pub fn to_owned(self) -> SseEvent {
        SseEvent {
            event: self.event.map(str::to_string),
            data: self.data.to_string(),
            id: self.id.map(str::to_string),
        }
    }
}

/// Fields of the event being read.
#[derive(Debug, Default)]
struct Pending {
    event: Option<String>,
    /// The data so far, when it could not stay borrowed (several lines, or cut by a read).
    data: String,
    /// The data as a range of the input being read, while it is one clean line.
    borrowed: Option<std::ops::Range<usize>>,
    id: Option<String>,
    has_data: bool,
}

impl Pending {
    /// Move borrowed data into the owned buffer (the input it points into is going away).
    fn own(&mut self, buf: &[u8]) {
        if let Some(r) = self.borrowed.take() {
            self.data.push_str(&String::from_utf8_lossy(&buf[r]));
        }
    }

    /// Read one line found at `at..at + line.len()` of `buf`; `clean` says `line` is exactly
    /// those bytes (not a lossy copy), so its data may stay borrowed.
    fn line<'a>(
        &'a mut self,
        buf: &'a [u8],
        at: usize,
        line: &str,
        clean: bool,
    ) -> Option<SseEventRef<'a>> {
        if line.is_empty() {
            return self.dispatch(buf);
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
                if !self.has_data && clean {
                    let start = at + (line.len() - value.len());
                    self.borrowed = Some(start..at + line.len());
                } else {
                    self.own(buf);
                    if self.has_data {
                        self.data.push('\n');
                    }
                    self.data.push_str(value);
                }
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_string()),
            "id" => self.id = Some(value.to_string()),
            _ => {}
        }
        None
    }

    /// The event ended by a blank line; its fields are cleared when the next line is read.
    fn dispatch<'a>(&'a mut self, buf: &'a [u8]) -> Option<SseEventRef<'a>> {
        if !std::mem::take(&mut self.has_data) {
            self.event = None;
            self.id = None;
            return None;
        }
        let data = match self.borrowed.take() {
            // The range came from a line that was valid UTF-8.
            Some(r) => std::str::from_utf8(&buf[r]).unwrap_or_default(),
            None => self.data.as_str(),
        };
        Some(SseEventRef {
            event: self.event.as_deref(),
            data,
            id: self.id.as_deref(),
        })
    }

    /// Forget a dispatched event's fields.
    fn clear(&mut self) {
        self.event = None;
        self.id = None;
        self.data.clear();
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
    /// Bytes held for an event that has not ended yet: a peer that never ends one (an endless
    /// line) is cut off by its caller at [`MAX_EVENT_BYTES`].
    pub fn pending_bytes(&self) -> usize {
        self.buf.len() + self.pending.data.len()
    }

    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        self.push_with(bytes, |ev| out.push(ev.to_owned()));
        out
    }

    /// Feed bytes; `f` sees every event completed by them, borrowed (the hot path of streams).
    pub fn push_with(&mut self, mut bytes: &[u8], mut f: impl FnMut(SseEventRef<'_>)) {
        if !self.buf.is_empty() {
            // Finish the line cut off by the last read; only that much is copied.
            let Some(i) = memchr::memchr2(b'\n', b'\r', bytes) else {
                self.buf.extend_from_slice(bytes);
                return;
            };
            let mut cut = i + 1;
            if bytes[i] == b'\r' && bytes.get(cut) == Some(&b'\n') {
                cut += 1;
            }
            self.buf.extend_from_slice(&bytes[..cut]);
            bytes = &bytes[cut..];
            let used = read_lines(&mut self.pending, &self.buf, &mut f);
            self.buf.drain(..used);
            if !self.buf.is_empty() {
                // A lone CR still waiting for its LF.
                self.buf.extend_from_slice(bytes);
                let used = read_lines(&mut self.pending, &self.buf, &mut f);
                self.buf.drain(..used);
                return;
            }
        }
        // The usual case: read lines straight from the input, keep only a cut-off tail.
        let used = read_lines(&mut self.pending, bytes, &mut f);
        self.buf.extend_from_slice(&bytes[used..]);
    }
}

/// Feed every complete line of `buf` to `pending`; returns how many bytes were used.
fn read_lines(pending: &mut Pending, buf: &[u8], f: &mut impl FnMut(SseEventRef<'_>)) -> usize {
    let mut start = 0;
    while let Some(pos) = memchr::memchr2(b'\n', b'\r', &buf[start..]) {
        let end = start + pos;
        let nl = buf[end];
        // A CR at the very end may be the first half of CRLF: wait for the next byte.
        if nl == b'\r' && end + 1 == buf.len() {
            break;
        }
        let mut next = end + 1;
        if nl == b'\r' && buf.get(next) == Some(&b'\n') {
            next += 1;
        }
        let raw = &buf[start..end];
        let ev = match std::str::from_utf8(raw) {
            Ok(line) => pending.line(buf, start, line, true),
            Err(_) => pending.line(buf, start, &String::from_utf8_lossy(raw), false),
        };
        if let Some(ev) = ev {
            f(ev);
            pending.clear();
        }
        start = next;
    }
    // The bytes after `start` are kept, but not those before: own what points there.
    pending.own(buf);
    start
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
            cuts.sort_unstable();
            let whole = all(SAMPLE.as_bytes(), &[]);
            prop_assert_eq!(all(SAMPLE.as_bytes(), &cuts), whole);
        }
    }
}
