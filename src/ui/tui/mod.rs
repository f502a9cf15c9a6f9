//! The chat view: a ratatui UI on an inline viewport. Finished transcript items go into the
//! terminal's own scrollback (`insert_before`); the live area holds the streaming message, the
//! status line and the input box.

mod app;
pub mod approval;
pub mod backend;
pub mod cells;
pub mod composer;
pub mod diff;
pub mod first_run;
pub mod highlight;
pub mod input;
pub mod markdown;
pub mod outcome;
pub mod overlay;
pub mod popup;
pub mod scrollback;
pub mod server_calls;
pub mod stream;
pub mod subagents;
pub mod term;
pub mod transcript;
pub mod view;
pub mod wrap;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_keys;

use std::io::Write;

use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use ratatui::widgets::{Paragraph, Widget};

use crate::session::history;
pub use crate::session::setup::{Setup, Summary};
use view::ChatView;

/// Height of the live area for a terminal of `rows`.
pub fn live_height(rows: u16) -> u16 {
    (rows * 2 / 5).clamp(10, 16).min(rows)
}

/// Remove colours (for `NO_COLOR`), keeping bold, dim and the like.
pub(crate) fn strip_colors(buf: &mut Buffer) {
    for cell in &mut buf.content {
        cell.fg = Color::Reset;
        cell.bg = Color::Reset;
    }
}

/// Write pending transcript lines into scrollback, then draw the live area.
pub fn draw<B: Backend + scrollback::RawOut>(
    term: &mut Terminal<B>,
    view: &mut ChatView,
    no_color: bool,
) -> Result<(), B::Error> {
    // The frame's width, not the last Resize event's: a resize is applied at the next draw,
    // and text must be laid out for the width it is drawn at.
    if let Ok(size) = term.size() {
        view.width = size.width;
    }
    let lines = view.take_history();
    if let Err((e, left)) = insert(term, lines, no_color, Some(&mut view.transcript)) {
        // Nothing is lost: what could not be written is tried again next frame.
        view.unshift_history(left);
        return Err(e);
    }
    term.draw(|f| {
        view.draw(f);
        if no_color {
            strip_colors(f.buffer_mut());
        }
    })?;
    Ok(())
}

/// Write `lines` into scrollback above the live area, keeping them in `keep`. On failure, the
/// lines not written.
pub(crate) fn insert<B: Backend + scrollback::RawOut>(
    term: &mut Terminal<B>,
    mut lines: Vec<ratatui::text::Line<'static>>,
    no_color: bool,
    mut keep: Option<&mut transcript::Transcript>,
) -> Result<(), (B::Error, Vec<ratatui::text::Line<'static>>)> {
    if lines.is_empty() {
        return Ok(());
    }
    if let Some(r) = insert_raw(term, &lines, no_color) {
        let (done, r) = match r {
            Ok(()) => (lines.len(), Ok(())),
            Err((e, done)) => (done, Err(e)),
        };
        let rest = lines.split_off(done);
        if let Some(k) = keep {
            k.keep(&lines);
        }
        return r.map_err(|e| (e, rest));
    }
    while !lines.is_empty() {
        let rest = lines.split_off(lines.len().min(200));
        let chunk = std::mem::replace(&mut lines, rest);
        let n = chunk.len() as u16;
        let r = term.insert_before(n, |buf| {
            Paragraph::new(chunk.clone()).render(buf.area, buf);
            if no_color {
                strip_colors(buf);
            }
        });
        if let Err(e) = r {
            return Err((e, chunk.into_iter().chain(lines).collect()));
        }
        if let Some(k) = keep.as_deref_mut() {
            k.keep(&chunk);
        }
    }
    Ok(())
}

/// Write `lines` straight to the terminal when the live area sits at the bottom of the screen
/// (the usual case); `None` leaves the other cases to ratatui, which also moves the live area.
/// A failure says how many lines went out before it.
fn insert_raw<B: Backend + scrollback::RawOut>(
    term: &mut Terminal<B>,
    lines: &[ratatui::text::Line<'static>],
    no_color: bool,
) -> Option<Result<(), (B::Error, usize)>> {
    let live = term.get_frame().area();
    let size = term.size().ok()?;
    let at_bottom = live.bottom() == size.height && live.top() > 0 && live.width == size.width;
    if !at_bottom {
        return None;
    }
    // In pieces, so a long transcript written again needs no buffer of its whole size.
    const PIECE: usize = 500;
    let mut bytes = Vec::with_capacity(lines.len().min(PIECE) * (usize::from(live.width) + 16));
    for (i, piece) in lines.chunks(PIECE).enumerate() {
        bytes.clear();
        scrollback::encode(piece, live.top(), live.width, no_color, &mut bytes);
        match term.backend_mut().raw_write(&bytes)? {
            Ok(()) => {}
            Err(e) => return Some(Err((e, i * PIECE))),
        }
    }
    Some(Ok(()))
}

fn log(data_dir: &std::path::Path, msg: &str) {
    let path = data_dir.join("letta.log");
    if let Ok(mut f) = crate::settings::fsutil::append_private(&path) {
        let _ = writeln!(f, "{} {msg}", chrono::Utc::now().to_rfc3339());
    }
}

/// Run the chat view until the user exits. The terminal is restored before this returns.
///
/// `events` is the input stream of a screen that ran before (first run): crossterm allows
/// only one reader, and a second one would wait for input the first has taken.
pub async fn run(setup: Setup, events: Option<input::Input>) -> std::io::Result<Summary> {
    term::install_panic_hook();
    term::enable()?;
    let out = match app::App::new(setup, events) {
        Ok(app) => app.run().await,
        Err(e) => Err(e),
    };
    term::restore();
    out
}
