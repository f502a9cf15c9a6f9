//! The conversation browser's tree view (`t`): forks indented under the conversation they
//! came from, labelled with when they were cut, the current one and the path to it marked.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Data, Fetch, Req, footer};
use crate::commands::Cmd;
use crate::protocol::DEFAULT_CONVERSATION;
use crate::session::forks::{Mark, Node, indent, rows, tree};
use crate::ui::safe_text::neutralise;
use crate::ui::tui::cells;

/// The tree's state.
pub struct Tree {
    current: String,
    forest: Option<Vec<Node>>,
    error: Option<String>,
    sel: usize,
    offset: usize,
    /// How a time is shown (the local clock; fixed in tests).
    pub clock: fn(&str) -> Option<String>,
}

impl Tree {
    /// A tree for the agent's conversations; `current` is the one in use.
    pub fn open(current: &str) -> (Self, Vec<Req>) {
        (
            Self {
                current: current.to_string(),
                forest: None,
                error: None,
                sel: 0,
                offset: 0,
                clock: crate::session::place::clock,
            },
            vec![Req::Fetch(Fetch::Tree)],
        )
    }

    fn ids(&self) -> Vec<String> {
        self.forest.as_deref().map_or_else(Vec::new, |f| {
            rows(f, &self.current)
                .into_iter()
                .map(|(_, n, _)| n.id.clone())
                .collect()
        })
    }

    /// A key; `None` when the tree does not handle it.
    pub fn key(&mut self, k: KeyEvent) -> Option<Vec<Req>> {
        let n = self.ids().len();
        match k.code {
            KeyCode::Up | KeyCode::Char('k') => self.sel = self.sel.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.sel = (self.sel + 1).min(n.saturating_sub(1));
            }
            KeyCode::Home => self.sel = 0,
            KeyCode::End => self.sel = n.saturating_sub(1),
            KeyCode::Enter => {
                let id = self.ids().into_iter().nth(self.sel)?;
                return Some(if id == self.current {
                    vec![Req::Close]
                } else {
                    vec![Req::Run(Cmd::Resume(Some(id)))]
                });
            }
            _ => return None,
        }
        Some(Vec::new())
    }

    pub fn apply(&mut self, d: &Data) -> bool {
        match d {
            Data::Tree(Ok(convs)) => {
                let forest = tree(convs);
                let ids: Vec<String> = rows(&forest, &self.current)
                    .into_iter()
                    .map(|(_, n, _)| n.id.clone())
                    .collect();
                self.sel = ids.iter().position(|i| *i == self.current).unwrap_or(0);
                self.forest = Some(forest);
                true
            }
            Data::Tree(Err(e)) => {
                self.error = Some(format!("Could not list conversations: {e}"));
                true
            }
            _ => false,
        }
    }

    pub fn draw(&mut self, f: &mut Frame, area: Rect, status: Option<&str>) {
        let dim = Style::default().add_modifier(Modifier::DIM);
        let shown = match (&self.forest, &self.error) {
            (_, Some(e)) => e.clone(),
            (None, None) => "Loading…".into(),
            (Some(f), None) => format!("{} conversations", rows(f, &self.current).len()),
        };
        let list = footer(
            f,
            area,
            Some(status.unwrap_or(&shown)),
            "enter switch · ↑↓ move · t list view · esc close",
        );
        let Some(forest) = &self.forest else { return };
        let all = rows(forest, &self.current);
        let h = list.height.max(1) as usize;
        let (sel, offset) = super::window(self.sel, self.offset, all.len(), h);
        let w = list.width as usize;
        let lines: Vec<Line> = all
            .iter()
            .enumerate()
            .skip(offset)
            .take(h)
            .map(|(i, (depth, n, mark))| self.row(i == sel, *depth, n, *mark, w, dim))
            .collect();
        f.render_widget(Paragraph::new(lines), list);
        self.sel = sel;
        self.offset = offset;
    }

    fn row(
        &self,
        selected: bool,
        depth: usize,
        n: &Node,
        mark: Mark,
        w: usize,
        dim: Style,
    ) -> Line<'static> {
        let cursor = if selected { "❯" } else { " " };
        let m = mark.glyph();
        let indent = indent(depth);
        let name = if n.id == DEFAULT_CONVERSATION {
            "default (the agent's default conversation)".to_string()
        } else {
            neutralise(&n.label())
        };
        let mut detail = String::new();
        if let Some(id) = n.id_note() {
            detail.push_str(&format!("  {id}"));
        }
        if let Some(f) = n.fork_label(self.clock) {
            detail.push_str(&format!("  {f}"));
        }
        if mark == Mark::Current {
            detail.push_str("  (current)");
        }
        let head = cells::fit(&format!("{cursor}{m} {indent}{name}"), w);
        let room = w.saturating_sub(head.chars().count());
        Line::from(vec![
            Span::styled(head, cells::selected_style(selected)),
            Span::styled(cells::fit(&detail, room), dim),
        ])
    }
}
