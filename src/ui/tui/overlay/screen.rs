//! Where a viewer is drawn: the alternate screen with its own terminal, and the editor that
//! `/memory`'s `e` hands the terminal to.

use ratatui::backend::Backend;
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::{Open, Overlay, Req, save_block};
use crate::session::Session;
use crate::ui::tui::{strip_colors, term};

/// An overlay on the alternate screen, with its own full-screen terminal.
pub struct Shown {
    pub overlay: Overlay,
    pub term: Terminal<ratatui::backend::CrosstermBackend<std::io::Stdout>>,
}

impl Shown {
    pub fn open(what: Open, session: &Session) -> std::io::Result<(Self, Vec<Req>)> {
        let (overlay, reqs) = Overlay::open(what, session);
        term::enter_alternate()?;
        Ok((
            Self {
                overlay,
                term: Self::terminal()?,
            },
            reqs,
        ))
    }

    /// A terminal over the whole screen. Its viewport is fixed: ratatui's own resize and
    /// clear ask the terminal for the cursor position, which would race the input reader.
    fn terminal() -> std::io::Result<Terminal<ratatui::backend::CrosstermBackend<std::io::Stdout>>>
    {
        let (w, h) = crossterm::terminal::size()?;
        Terminal::with_options(
            ratatui::backend::CrosstermBackend::new(std::io::stdout()),
            TerminalOptions {
                viewport: Viewport::Fixed(ratatui::layout::Rect::new(0, 0, w, h)),
            },
        )
    }

    /// Clear the screen and draw everything afresh (after a resize, or an editor).
    pub fn reset(&mut self) -> std::io::Result<()> {
        crossterm::execute!(
            std::io::stdout(),
            crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
        )?;
        self.term = Self::terminal()?;
        Ok(())
    }

    pub fn draw(&mut self, no_color: bool) -> std::io::Result<()> {
        let o = &mut self.overlay;
        self.term.draw(|f| {
            o.draw(f);
            if no_color {
                strip_colors(f.buffer_mut());
            }
        })?;
        Ok(())
    }
}

/// Back to the chat: its live area is drawn afresh.
pub fn close<B: Backend>(shown: &mut Option<Shown>, inline: &mut Terminal<B>) {
    if shown.take().is_some() {
        term::leave_alternate();
        // The size may have changed while the viewer was up.
        let _ = inline.autoresize();
        let _ = inline.clear();
    }
}

/// Open a block in `$VISUAL`/`$EDITOR` (vi otherwise) and save what comes back, within the
/// block's limit. Text that cannot be saved stays in the file, whose path the error names.
pub async fn edit_block(
    backend: &dyn crate::backend::Backend,
    agent_id: &str,
    dir: &std::path::Path,
    label: &str,
    value: &str,
    limit: Option<u64>,
) -> Result<String, String> {
    let safe: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let path = dir.join(format!("memory-{safe}-{}.md", std::process::id()));
    crate::settings::fsutil::write_atomic(&path, value.as_bytes(), Some(0o600))
        .map_err(|e| format!("could not write {}: {e}", path.display()))?;
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "vi".into());
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status()
        .await
        .map_err(|e| format!("could not start the editor ({editor}): {e}"))?;
    if !status.success() {
        return Err(format!(
            "the editor ({editor}) exited with {status}; the {label} block was not changed"
        ));
    }
    let mut new = std::fs::read_to_string(&path)
        .map_err(|e| format!("could not read {} back: {e}", path.display()))?;
    // Editors end files with a newline the block did not have.
    if !value.ends_with('\n') && new.ends_with('\n') {
        new.pop();
    }
    if new == value {
        let _ = std::fs::remove_file(&path);
        return Ok(format!("No changes to the {label} block"));
    }
    let n = new.chars().count();
    match save_block(backend, agent_id, label, new, limit).await {
        Ok(()) => {
            let _ = std::fs::remove_file(&path);
            let of = limit.map(|l| format!(" of {l}")).unwrap_or_default();
            Ok(format!("Saved the {label} block ({n}{of} characters)"))
        }
        Err(e) => Err(format!("{e}; your text is kept in {}", path.display())),
    }
}
