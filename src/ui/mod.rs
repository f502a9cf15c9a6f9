//! The front ends: the chat view, the plain REPL and headless mode.

pub mod headless;
pub mod plain;
pub mod safe_text;
pub mod tui;

/// Ask, in plain lines before any screen is set up, whether to trust this folder's own
/// settings; `what` lists what they would loosen. Anything but `y`/`yes` keeps them out.
pub fn ask_trust(folder: &std::path::Path, what: &[String]) -> bool {
    use std::io::{BufRead, Write};
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "This folder's .letta settings would loosen permissions ({}):",
        safe_text::neutralise(&folder.display().to_string())
    );
    for w in what {
        let _ = writeln!(out, "  - {}", safe_text::neutralise(w));
    }
    let _ = write!(
        out,
        "Trust this folder and apply them? Only if you trust who wrote them. [y/N] "
    );
    let _ = out.flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_lowercase().as_str(), "y" | "yes")
}
