//! Terminal setup and restore, in one place. Restore is idempotent and runs on normal exit,
//! on error, on panic (the hook restores first, then prints) and on signals.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{
    DisableBracketedPaste, EnableBracketedPaste, KeyboardEnhancementFlags,
    PopKeyboardEnhancementFlags, PushKeyboardEnhancementFlags,
};
use crossterm::terminal;

static ACTIVE: AtomicBool = AtomicBool::new(false);
static ALTERNATE: AtomicBool = AtomicBool::new(false);

/// Switch to the alternate screen (for a full-screen viewer); the chat stays underneath.
pub fn enter_alternate() -> std::io::Result<()> {
    crossterm::execute!(std::io::stdout(), terminal::EnterAlternateScreen)?;
    ALTERNATE.store(true, Ordering::SeqCst);
    Ok(())
}

/// Back to the chat's screen, if a viewer had the alternate one.
pub fn leave_alternate() {
    if ALTERNATE.swap(false, Ordering::SeqCst) {
        let _ = crossterm::execute!(std::io::stdout(), terminal::LeaveAlternateScreen);
    }
}

/// Raw mode, bracketed paste and key disambiguation (so Shift+Enter is seen where the
/// terminal can tell it apart).
pub fn enable() -> std::io::Result<()> {
    terminal::enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = std::io::stdout();
    crossterm::execute!(
        out,
        EnableBracketedPaste,
        PushKeyboardEnhancementFlags(KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES)
    )?;
    Ok(())
}

/// Whether the window title was saved (and must be put back on restore).
static TITLED: AtomicBool = AtomicBool::new(false);

/// Name the window (OSC 0): agent and conversation. The terminal's own title is saved first
/// (XTWINOPS 22) and put back on restore (23); terminals without a title stack ignore both.
pub fn set_title(title: &str) {
    let clean = crate::session::place::one_line(title, 120);
    let mut out = std::io::stdout();
    if !TITLED.swap(true, Ordering::SeqCst) {
        let _ = out.write_all(b"\x1b[22;0t");
    }
    let _ = crossterm::execute!(out, terminal::SetTitle(clean));
}

/// Put the terminal back as it was. Safe to call any number of times, from anywhere.
pub fn restore() {
    leave_alternate();
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = std::io::stdout();
    let _ = crossterm::execute!(
        out,
        PopKeyboardEnhancementFlags,
        DisableBracketedPaste,
        crossterm::cursor::Show,
        crossterm::style::ResetColor
    );
    if TITLED.swap(false, Ordering::SeqCst) {
        let _ = out.write_all(b"\x1b[23;0t");
    }
    let _ = terminal::disable_raw_mode();
    let _ = out.flush();
}

/// Restore the terminal before any panic message is printed.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Ctrl+Z: give the terminal back, stop, and take it again when resumed (`fg`).
pub fn suspend() -> std::io::Result<()> {
    restore();
    // SAFETY: raising a signal on ourselves; the process stops here until SIGCONT.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
    enable()
}

/// Whether both ends of the session are terminals (the chat view needs both).
pub fn is_interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}
