//! Where the REPL's lines come from: rustyline on a terminal (with history and tab completion
//! of slash commands), or plain lines from a pipe.

use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;

use crate::commands::table;

/// A line source.
pub trait Lines: Send {
    /// The next line, or `None` at the end of input.
    fn read(&mut self, prompt: &str) -> Option<String>;
    /// The next line, starting out as `initial` for the user to edit.
    fn read_initial(&mut self, prompt: &str, initial: &str) -> Option<String> {
        if !initial.is_empty() {
            println!(
                "(to send again, edited: {})",
                crate::ui::safe_text::neutralise(initial)
            );
        }
        self.read(prompt)
    }
    fn remember(&mut self, _line: &str) {}
}

/// Tab completes `/` commands from the command table.
#[derive(Default)]
pub struct Commands;

/// The completions of what was typed before `pos`: a command name right after a leading `/`.
pub fn complete(line: &str, pos: usize) -> (usize, Vec<String>) {
    let before = &line[..pos.min(line.len())];
    match before.strip_prefix('/') {
        Some(name) if !name.contains(char::is_whitespace) => (
            1,
            table::matching(name)
                .into_iter()
                .map(|s| s.name.to_string())
                .collect(),
        ),
        _ => (pos, Vec::new()),
    }
}

impl Completer for Commands {
    type Candidate = Pair;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, names) = complete(line, pos);
        let pairs = names
            .into_iter()
            .map(|n| Pair {
                display: format!("/{n}"),
                replacement: format!("{n} "),
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for Commands {
    type Hint = String;
}
impl Highlighter for Commands {}
impl Validator for Commands {}
impl rustyline::Helper for Commands {}

/// rustyline on a terminal.
pub struct Editor(pub rustyline::Editor<Commands, DefaultHistory>);

impl Editor {
    /// An editor with `history` loaded and command completion.
    pub fn new(history: &[String]) -> std::io::Result<Self> {
        let mut ed =
            rustyline::Editor::<Commands, DefaultHistory>::new().map_err(std::io::Error::other)?;
        ed.set_helper(Some(Commands));
        for h in history {
            let _ = ed.add_history_entry(h.as_str());
        }
        Ok(Self(ed))
    }
}

impl Lines for Editor {
    fn read(&mut self, prompt: &str) -> Option<String> {
        match self.0.readline(prompt) {
            Ok(l) => Some(l),
            // Ctrl-C on an empty line gives a fresh prompt rather than quitting.
            Err(rustyline::error::ReadlineError::Interrupted) => Some(String::new()),
            Err(_) => None,
        }
    }
    fn read_initial(&mut self, prompt: &str, initial: &str) -> Option<String> {
        match self.0.readline_with_initial(prompt, (initial, "")) {
            Ok(l) => Some(l),
            Err(rustyline::error::ReadlineError::Interrupted) => Some(String::new()),
            Err(_) => None,
        }
    }
    fn remember(&mut self, line: &str) {
        let _ = self.0.add_history_entry(line);
    }
}

/// Lines from a pipe, echoed so a transcript reads like a session.
pub struct Piped(pub std::io::Stdin);

impl Lines for Piped {
    fn read(&mut self, prompt: &str) -> Option<String> {
        print!("{prompt}");
        let _ = std::io::stdout().flush();
        let mut s = String::new();
        match self.0.lock().read_line(&mut s) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                println!("{}", crate::ui::safe_text::neutralise(s.trim_end()));
                Some(s.trim_end_matches(['\n', '\r']).to_string())
            }
        }
    }
}

/// A line source shared by the prompt loop and the approval questions.
pub type Shared = Arc<Mutex<Box<dyn Lines>>>;

/// Read a line off the async runtime.
pub async fn read(lines: &Shared, prompt: &str) -> Option<String> {
    read_initial(lines, prompt, String::new()).await
}

/// Read a line that starts out as `initial`, off the async runtime.
pub async fn read_initial(lines: &Shared, prompt: &str, initial: String) -> Option<String> {
    let (lines, prompt) = (lines.clone(), prompt.to_string());
    tokio::task::spawn_blocking(move || {
        let mut l = lines.lock().ok()?;
        if initial.is_empty() {
            l.read(&prompt)
        } else {
            l.read_initial(&prompt, &initial)
        }
    })
    .await
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_command_names_from_the_table() {
        assert_eq!(
            complete("/re", 3),
            (1, vec!["resume".into(), "rename".into(), "remember".into()])
        );
        assert_eq!(complete("/exit", 5).1, vec!["exit".to_string()]);
        assert!(complete("hello /re", 9).1.is_empty());
        assert!(complete("/resume x", 9).1.is_empty());
    }
}
