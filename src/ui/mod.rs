//! The front ends: the chat view, the plain REPL and headless mode.

pub mod headless;
pub mod plain;
pub mod safe_text;
pub mod tui;

/// The line above search results (or in place of none), saying when they come from
/// searching here rather than on the server.
pub fn hits_heading(query: &str, found: bool, fallback: Option<&String>) -> String {
    let note = fallback.map_or_else(String::new, |f| format!(" ({})", safe_text::neutralise(f)));
    let query = safe_text::neutralise(query);
    if found {
        format!("Found \"{query}\" in (/resume ID switches){note}:")
    } else {
        format!("Nothing found for \"{query}\"{note}")
    }
}

/// When letta is told to stop (SIGTERM, SIGHUP, SIGINT) in a mode without a screen to restore,
/// stop the commands it started too: they run in process groups of their own and would go on
/// as orphans.
/// `interrupt` includes SIGINT (headless; the REPL uses Ctrl-C to stop a turn instead).
pub fn stop_commands_on_signals(interrupt: bool) {
    use tokio::signal::unix::{SignalKind, signal};
    let kinds = [
        (SignalKind::terminate(), 143),
        (SignalKind::hangup(), 129),
        (SignalKind::interrupt(), 130),
    ];
    for (kind, code) in kinds.into_iter().take(if interrupt { 3 } else { 2 }) {
        let Ok(mut s) = signal(kind) else { continue };
        tokio::spawn(async move {
            if s.recv().await.is_some() {
                crate::tools::kill_running();
                std::process::exit(code);
            }
        });
    }
}

/// Ask for one line, in plain text before any screen is set up; `None` when it is empty or
/// input has ended.
pub fn ask_line(prompt: &str) -> Option<String> {
    use std::io::{BufRead, Write};
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{prompt}");
    let _ = out.flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).ok()?;
    Some(line.trim().to_string()).filter(|l| !l.is_empty())
}

/// Ask for a secret on the terminal without showing it: each character is drawn as `•`.
/// `None` on Esc or Ctrl-C (or when the terminal cannot be read).
pub fn ask_secret(prompt: &str) -> Option<String> {
    use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers, read};
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = write!(out, "{prompt}");
    let _ = out.flush();
    crossterm::terminal::enable_raw_mode().ok()?;
    let mut secret = String::new();
    let done = loop {
        let k = match read() {
            Ok(Event::Key(k)) => k,
            Ok(_) => continue,
            // The terminal went away: nothing more can be typed.
            Err(_) => break false,
        };
        if k.kind == KeyEventKind::Release {
            continue;
        }
        match k.code {
            KeyCode::Enter => break true,
            KeyCode::Esc => break false,
            KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => break false,
            KeyCode::Backspace if secret.pop().is_some() => {
                let _ = write!(out, "\u{8} \u{8}");
            }
            KeyCode::Char(c) => {
                secret.push(c);
                let _ = write!(out, "•");
            }
            _ => {}
        }
        let _ = out.flush();
    };
    let _ = crossterm::terminal::disable_raw_mode();
    let _ = writeln!(out);
    done.then_some(secret)
}

/// Ask, in plain lines before any screen is set up, whether to trust this folder's own
/// settings; `what` lists what they would loosen. Anything but `y`/`yes` keeps them out.
pub fn ask_trust(folder: &std::path::Path, what: &[String]) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "This folder's .letta settings would loosen permissions ({}):",
        safe_text::neutralise(&folder.display().to_string())
    );
    for w in what {
        let _ = writeln!(out, "  - {}", safe_text::neutralise(w));
    }
    drop(out);
    ask_line("Trust this folder and apply them? Only if you trust who wrote them. [y/N] ")
        .is_some_and(|a| matches!(a.to_lowercase().as_str(), "y" | "yes"))
}
