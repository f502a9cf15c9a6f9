//! `Read`: numbered lines of a text file, read as a stream so memory stays bounded whatever the
//! file is (a 2 GB sparse file, one endless line), and regular files only (a FIFO would hang,
//! `/dev/zero` never end).

use serde_json::Value;

use super::files::str_arg;
use super::{OUTPUT_CAP, ToolContext, ToolOutput, cap_text, looks_binary};

const DEFAULT_LINES: usize = 2000;
const MAX_LINE_CHARS: usize = 2000;

macro_rules! arg {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return e,
        }
    };
}

/// Bytes of one line kept for display; the rest of a longer line is skipped unread.
const MAX_LINE_BYTES: usize = MAX_LINE_CHARS * 4;

/// Numbered lines read, whether more follow, and the total when known.
type LinesRead = (Vec<(usize, String)>, bool, Option<usize>);

/// Lines `offset..offset + limit` (1-based) of a file, read as a stream: memory stays bounded
/// whatever the file is (a 2 GB sparse file, one endless line). Also whether more lines follow,
/// and the total when the file ended within the read.
fn read_lines(
    r: &mut impl std::io::BufRead,
    offset: usize,
    limit: usize,
) -> std::io::Result<LinesRead> {
    let mut out = Vec::new();
    let mut n = 0;
    let mut line: Vec<u8> = Vec::new();
    let mut cut = false;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            if !line.is_empty() || cut {
                n += 1;
                if n >= offset && out.len() < limit {
                    out.push((n, finish_line(&line, cut)));
                }
            }
            return Ok((out, false, Some(n)));
        }
        let (chunk, used, ends) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        let wanted = n + 1 >= offset;
        if wanted {
            let room = MAX_LINE_BYTES.saturating_sub(line.len());
            line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            cut |= chunk.len() > room;
        }
        r.consume(used);
        if ends {
            n += 1;
            if wanted {
                if out.len() == limit {
                    return Ok((out, true, count_rest(r, n)?));
                }
                out.push((n, finish_line(&line, cut)));
            }
            line.clear();
            cut = false;
        }
    }
}

/// The total line count when the rest of the file is within a scanning budget.
fn count_rest(r: &mut impl std::io::BufRead, mut n: usize) -> std::io::Result<Option<usize>> {
    let mut budget: usize = 64 << 20;
    let mut open_line = true;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(Some(n + usize::from(!open_line)));
        }
        if buf.len() > budget {
            return Ok(None);
        }
        n += memchr::memchr_iter(b'\n', buf).count();
        open_line = buf.last() == Some(&b'\n');
        budget -= buf.len();
        let used = buf.len();
        r.consume(used);
    }
}

fn finish_line(bytes: &[u8], cut: bool) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_suffix('\r').unwrap_or(&text);
    if cut || text.chars().count() > MAX_LINE_CHARS {
        text.chars()
            .take(MAX_LINE_CHARS)
            .chain("… [line cut]".chars())
            .collect()
    } else {
        text.to_string()
    }
}

pub fn read(ctx: &ToolContext, args: &Value) -> ToolOutput {
    use std::io::{BufRead, Read as _};
    let path = ctx.resolve(arg!(str_arg(args, "file_path", "Read")));
    let shown = path.display();
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) => return ToolOutput::err(format!("cannot read {shown}: {e}")),
    };
    if meta.is_dir() {
        return ToolOutput::err(format!("{shown} is a directory; use LS to list it"));
    }
    if !meta.is_file() {
        return ToolOutput::err(format!(
            "{shown} is not a regular file (a device, pipe or socket); Read reads files only"
        ));
    }
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) => return ToolOutput::err(format!("cannot read {shown}: {e}")),
    };
    let mut r = std::io::BufReader::with_capacity(64 * 1024, file);
    let head = match r.fill_buf() {
        Ok(h) => h,
        Err(e) => return ToolOutput::err(format!("cannot read {shown}: {e}")),
    };
    if looks_binary(head) {
        return ToolOutput::err(format!(
            "{shown} is a binary file ({} bytes); it cannot be shown as text",
            meta.len()
        ));
    }
    ctx.mark_read(&path);
    if head.is_empty() {
        return ToolOutput::ok(format!("{shown} is empty."));
    }
    let offset = args
        .get("offset")
        .and_then(Value::as_f64)
        .map_or(1, |o| o.max(1.0) as usize);
    let limit = args
        .get("limit")
        .and_then(Value::as_f64)
        .map_or(DEFAULT_LINES, |l| l.max(1.0) as usize);
    let (lines, more, total) = match read_lines(&mut r.by_ref(), offset, limit) {
        Ok(l) => l,
        Err(e) => return ToolOutput::err(format!("cannot read {shown}: {e}")),
    };
    if lines.is_empty() {
        return ToolOutput::err(format!(
            "{shown} has {} lines; offset {offset} is past the end",
            total.unwrap_or(0)
        ));
    }
    let mut out = String::new();
    for (i, line) in &lines {
        out.push_str(&format!("{i:>6}\t{line}\n"));
    }
    let last = lines.last().map_or(offset, |l| l.0);
    match (more, total) {
        (true, Some(t)) => out.push_str(&format!(
            "[lines {offset}-{last} of {t}; use offset to read more]\n"
        )),
        (true, None) => out.push_str(&format!(
            "[lines {offset}-{last}; more follow, use offset to read them]\n"
        )),
        _ => {}
    }
    ToolOutput::ok(cap_text(&out, OUTPUT_CAP))
}
