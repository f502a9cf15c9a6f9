//! The screen as a whole: writing the transcript again after a resize or Ctrl+L, and giving
//! the terminal back for Ctrl+Z.

use std::time::{Duration, Instant};

use crossterm::cursor::MoveTo;
use crossterm::terminal::{BeginSynchronizedUpdate, Clear, ClearType, EndSynchronizedUpdate};
use ratatui::layout::Position;
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::App;
use crate::ui::tui::backend::{self, Tracked};
use crate::ui::tui::{draw, insert, live_height, log, term};

/// A resize is written out once the size has held this long: a window being dragged sends
/// many, and each reprint writes the whole transcript.
pub(super) const REFLOW_PAUSE: Duration = Duration::from_millis(150);

impl App {
    /// The terminal is now `size`: the live area follows at once, the transcript once the
    /// size holds.
    pub(super) fn resized(&mut self, size: (u16, u16)) {
        // The same size again (the input thread's own wake-up, or both the signal and
        // crossterm's event for one resize): nothing to do.
        if size == self.last_size {
            return;
        }
        self.last_size = size;
        self.view.width = size.0;
        let r = match &mut self.shown {
            Some(s) => s.reset(),
            None => self.terminal.autoresize(),
        };
        if let Err(e) = r {
            log(&self.setup.data_dir, &format!("resize failed: {e}"));
        }
        self.reflow_due = Some(Instant::now() + REFLOW_PAUSE);
        self.dirty = true;
    }

    /// Whether a reprint is due now.
    pub(super) fn reflow_is_due(&self) -> bool {
        self.shown.is_none() && self.reflow_due.is_some_and(|d| d <= Instant::now())
    }

    /// Clear the screen and its scrollback, then write the session's transcript again at the
    /// current width and draw the live area below it. Whatever the terminal did to the old
    /// text on a resize, each line is then on screen once, wrapped to fit.
    pub(super) fn reflow(&mut self) -> std::io::Result<()> {
        self.rewrite(true)
    }

    /// Write the screen again: with `purge`, everything after clearing the screen and its
    /// scrollback; without, the screen is scrolled into the scrollback first (what a shell
    /// printed meanwhile is kept) and only the last screenful is written.
    fn rewrite(&mut self, purge: bool) -> std::io::Result<()> {
        self.reflow_due = None;
        let (cols, rows) = crossterm::terminal::size()?;
        self.last_size = (cols, rows);
        self.view.width = cols;
        let lines = self.view.transcript.at_width(cols.max(1) as usize);
        let out = &mut std::io::stdout();
        crossterm::execute!(out, BeginSynchronizedUpdate)?;
        let r = self.rewrite_inner(purge, rows, lines);
        let end = crossterm::execute!(out, EndSynchronizedUpdate);
        self.last_draw = Instant::now();
        self.dirty = r.is_err();
        if r.is_err() {
            // Tried again once the terminal has had a moment.
            self.reflow_due = Some(Instant::now() + REFLOW_PAUSE);
        }
        r.and(end)
    }

    fn rewrite_inner(
        &mut self,
        purge: bool,
        rows: u16,
        mut lines: Vec<ratatui::text::Line<'static>>,
    ) -> std::io::Result<()> {
        let out = &mut std::io::stdout();
        if purge {
            crossterm::execute!(
                out,
                MoveTo(0, 0),
                Clear(ClearType::All),
                Clear(ClearType::Purge)
            )?;
        } else {
            let room = rows.saturating_sub(live_height(rows)) as usize;
            lines.drain(..lines.len().saturating_sub(room));
            crossterm::execute!(out, MoveTo(0, rows.saturating_sub(1)))?;
            std::io::Write::write_all(out, "\n".repeat(rows as usize).as_bytes())?;
            crossterm::execute!(out, MoveTo(0, 0))?;
        }
        backend::assume_cursor(Position::ORIGIN);
        Terminal::with_options(
            Tracked::new(),
            TerminalOptions {
                viewport: Viewport::Inline(live_height(rows)),
            },
        )
        .and_then(|t| {
            self.terminal = t;
            insert(&mut self.terminal, lines, self.no_color, None).map_err(|(e, _)| e)
        })
        .and_then(|()| draw(&mut self.terminal, &mut self.view, self.no_color))
    }

    /// Ctrl+Z: clear the live area so the shell writes where it was, stop, and on `fg` write
    /// the screen again below what the shell printed meanwhile.
    pub(super) fn suspend(&mut self) -> std::io::Result<()> {
        let area = self.terminal.get_frame().area();
        let _ = self.terminal.clear();
        let _ = self.terminal.set_cursor_position((0, area.top()));
        term::suspend()?;
        if let Err(e) = self.rewrite(false) {
            log(
                &self.setup.data_dir,
                &format!("rewriting the screen failed: {e}"),
            );
        }
        Ok(())
    }
}
