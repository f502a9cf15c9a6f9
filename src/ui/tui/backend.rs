//! The crossterm backend, asking the terminal for the cursor position only once, at start.
//!
//! Asking (`ESC [6n`) while input is being read races crossterm's input reader (the
//! reader holds the input lock, and the answer times out), and ratatui asks on every resize.
//! So later answers are where letta last put the cursor, also across terminals: the chat view
//! starts where the first-run screen left it.

use std::io::{self, Stdout};
use std::sync::Mutex;

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

/// Where letta last put the cursor.
static LAST_SET: Mutex<Option<Position>> = Mutex::new(None);

/// The cursor is at `p` now (the screen was cleared and the cursor homed).
pub fn assume_cursor(p: Position) {
    if let Ok(mut l) = LAST_SET.lock() {
        *l = Some(p);
    }
}

/// `CrosstermBackend<Stdout>` that answers cursor queries itself after the first.
pub struct Tracked {
    inner: CrosstermBackend<Stdout>,
}

impl Tracked {
    pub fn new() -> Self {
        Self {
            inner: CrosstermBackend::new(io::stdout()),
        }
    }
}

impl Default for Tracked {
    fn default() -> Self {
        Self::new()
    }
}

impl super::scrollback::RawOut for Tracked {
    fn raw_write(&mut self, bytes: &[u8]) -> Option<io::Result<()>> {
        use std::io::Write;
        Some(
            self.inner
                .write_all(bytes)
                .and_then(|()| Write::flush(&mut self.inner)),
        )
    }
}

impl Backend for Tracked {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }

    fn append_lines(&mut self, n: u16) -> io::Result<()> {
        self.inner.append_lines(n)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        // Once letta has placed the cursor, it knows where it is; asking the terminal while
        // input is read would race the reader (and ratatui asks on every resize).
        let last = LAST_SET.lock().ok().and_then(|l| *l);
        if let Some(mut p) = last {
            let rows = self.inner.size().map_or(u16::MAX, |s| s.height);
            p.y = p.y.min(rows.saturating_sub(1));
            Ok(p)
        } else {
            let p = self.inner.get_cursor_position()?;
            if let Ok(mut l) = LAST_SET.lock() {
                *l = Some(p);
            }
            Ok(p)
        }
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        let p = position.into();
        self.inner.set_cursor_position(p)?;
        if let Ok(mut l) = LAST_SET.lock() {
            *l = Some(p);
        }
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> io::Result<()> {
        Backend::flush(&mut self.inner)
    }

    fn scroll_region_up(
        &mut self,
        region: std::ops::Range<u16>,
        line_count: u16,
    ) -> io::Result<()> {
        self.inner.scroll_region_up(region, line_count)
    }

    fn scroll_region_down(
        &mut self,
        region: std::ops::Range<u16>,
        line_count: u16,
    ) -> io::Result<()> {
        self.inner.scroll_region_down(region, line_count)
    }
}
