//! A running subagent in the live area: one grouped cell under its `Task` call with its type,
//! description, current tool and time (the call's header); Ctrl+O adds what it did so far.

use std::path::Path;
use std::time::Instant;

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::cells;
use crate::turn::TurnEvent;
use crate::ui::safe_text::neutralise;

/// Lines of a subagent's log kept for Ctrl+O.
const LOG: usize = 8;

/// What the live area knows of one subagent.
pub struct Sub {
    label: String,
    current: Option<String>,
    log: Vec<String>,
    since: Instant,
}

impl Sub {
    pub fn new(label: String) -> Self {
        Self {
            label: neutralise(&label),
            current: None,
            log: Vec::new(),
            since: Instant::now(),
        }
    }

    /// Take in one of its events.
    pub fn saw(&mut self, ev: &TurnEvent, cwd: &Path) {
        let title = |c| neutralise(&crate::tools::describe(c, cwd).title());
        let entry = match ev {
            TurnEvent::ToolStarted { call } => {
                self.current = Some(title(call));
                Some(title(call))
            }
            TurnEvent::ToolFinished { call, output, .. } => {
                self.current = None;
                Some(format!(
                    "{} {}",
                    if output.ok { "✓" } else { "✗" },
                    title(call)
                ))
            }
            TurnEvent::Denied { call, .. } => Some(format!("✗ {} (not run)", title(call))),
            TurnEvent::Error { message } => Some(format!("✗ {}", neutralise(message))),
            _ => None,
        };
        if let Some(e) = entry {
            self.log.push(e);
            let over = self.log.len().saturating_sub(LOG);
            self.log.drain(..over);
        }
    }

    /// Its lines under the call's header.
    pub fn lines(&self, w: usize, expanded: bool) -> Vec<Line<'static>> {
        let dim = Style::default().add_modifier(Modifier::DIM);
        let now = self
            .current
            .clone()
            .unwrap_or_else(|| "thinking".to_string());
        let mut out = vec![Line::from(Span::styled(
            cells::fit(
                &format!(
                    "  ⎿ {} · {now} · {}s{}",
                    self.label,
                    self.since.elapsed().as_secs(),
                    if expanded { "" } else { " (ctrl+o)" }
                ),
                w,
            ),
            dim,
        ))];
        if expanded {
            out.extend(
                self.log
                    .iter()
                    .map(|l| Line::from(Span::styled(cells::fit(&format!("      {l}"), w), dim))),
            );
        }
        out
    }
}
