//! A filterable list whose Enter runs a command: the model picker (`/model`) and the search
//! results (`/search QUERY`, Enter jumps to the conversation).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Data, Fetch, Req, footer, header, search_field};
use crate::commands::Cmd;
use crate::protocol::SearchHit;
use crate::session::forks::ForkPoint;
use crate::session::place::{clock, one_line};
use crate::ui::tui::cells;

/// One choice.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub label: String,
    pub detail: String,
    /// The current model, say.
    pub marked: bool,
    pub run: Cmd,
}

/// The picker's state.
pub struct Picker {
    title: String,
    empty: String,
    items: Vec<Item>,
    query: String,
    sel: usize,
    offset: usize,
    loading: bool,
    pub status: Option<String>,
}

impl Picker {
    fn new(title: &str, empty: &str) -> Self {
        Self {
            title: title.into(),
            empty: empty.into(),
            items: Vec::new(),
            query: String::new(),
            sel: 0,
            offset: 0,
            loading: true,
            status: None,
        }
    }

    /// The models of the backend, the one in use marked; Enter sets one.
    pub fn models() -> (Self, Vec<Req>) {
        (
            Self::new(
                "Choose a model",
                "No models; connect a provider with letta connect",
            ),
            vec![Req::Fetch(Fetch::Models)],
        )
    }

    /// Messages matching `query` in the agent's conversations; Enter opens the conversation.
    pub fn search(query: &str) -> (Self, Vec<Req>) {
        (
            Self::new(
                &format!("Messages matching \"{query}\""),
                &format!("Nothing found for \"{query}\""),
            ),
            vec![Req::Fetch(Fetch::Search(query.to_string()))],
        )
    }

    /// This conversation's messages, newest first; Enter branches before the one chosen.
    pub fn fork_points() -> (Self, Vec<Req>) {
        (
            Self::new(
                "Branch before which message? (it goes back in the input to edit)",
                "No messages of yours in this conversation yet",
            ),
            vec![Req::Fetch(Fetch::ForkPoints)],
        )
    }

    fn shown(&self) -> Vec<&Item> {
        let q = self.query.to_lowercase();
        self.items
            .iter()
            .filter(|i| super::matches(&q, &[&i.label, &i.detail]))
            .collect()
    }

    pub fn key(&mut self, k: KeyEvent) -> Vec<Req> {
        let n = self.shown().len();
        match k.code {
            KeyCode::Esc if !self.query.is_empty() => {
                self.query.clear();
                self.sel = 0;
            }
            KeyCode::Esc => return vec![Req::Close],
            KeyCode::Enter => {
                if let Some(i) = self.shown().get(self.sel) {
                    return vec![Req::Run(i.run.clone())];
                }
            }
            KeyCode::Up => self.sel = self.sel.saturating_sub(1),
            KeyCode::Down => self.sel = (self.sel + 1).min(n.saturating_sub(1)),
            KeyCode::PageUp => self.sel = self.sel.saturating_sub(10),
            KeyCode::PageDown => self.sel = (self.sel + 10).min(n.saturating_sub(1)),
            KeyCode::Backspace => {
                self.query.pop();
                self.sel = 0;
            }
            _ => {
                if let Some(c) = super::typed(&k) {
                    self.query.push(c);
                    self.sel = 0;
                }
            }
        }
        Vec::new()
    }

    pub fn apply(&mut self, d: Data) -> Vec<Req> {
        self.loading = false;
        match d {
            Data::Models(Ok((models, current))) => {
                self.items = models
                    .into_iter()
                    .map(|m| Item {
                        marked: current.as_deref() == Some(m.handle.as_str()),
                        detail: m
                            .context_window
                            .map(|c| format!("{}k context", c / 1000))
                            .unwrap_or_default(),
                        run: Cmd::Model(Some(m.handle.clone())),
                        label: m.handle,
                    })
                    .collect();
                self.sel = self.items.iter().position(|i| i.marked).unwrap_or(0);
            }
            Data::Hits(Ok(found)) => {
                self.items = found.hits.into_iter().map(hit_item).collect();
                self.status = found.fallback.map(|f| format!("searched here: {f}"));
            }
            Data::ForkPoints(Ok(points)) => {
                self.items = points.into_iter().map(point_item).collect();
            }
            Data::Models(Err(e)) | Data::Hits(Err(e)) | Data::ForkPoints(Err(e)) => {
                self.status = Some(e);
            }
            _ => {}
        }
        Vec::new()
    }

    pub fn draw(&mut self, f: &mut Frame, area: Rect) {
        let area = header(f, area, &self.title);
        let area = search_field(f, area, &self.query, "type to filter");
        let shown = self.shown();
        let n = shown.len();
        let status = self.status.clone().or_else(|| {
            if self.loading {
                Some("Loading…".into())
            } else if n == 0 {
                Some(self.empty.clone())
            } else {
                None
            }
        });
        let list = footer(
            f,
            area,
            status.as_deref(),
            "enter choose · ↑↓ move · type to filter · esc close",
        );
        let h = list.height.max(1) as usize;
        let (sel, offset) = super::window(self.sel, self.offset, n, h);
        let w = list.width as usize;
        let lines: Vec<Line> = shown
            .iter()
            .enumerate()
            .skip(offset)
            .take(h)
            .map(|(i, it)| {
                let selected = i == sel;
                let mark = match (selected, it.marked) {
                    (true, _) => "❯ ",
                    (false, true) => "* ",
                    _ => "  ",
                };
                let cur = if it.marked { " (current)" } else { "" };
                let head = format!("{mark}{}{cur}", it.label);
                let room = w.saturating_sub(cells::fit(&head, w).chars().count() + 2);
                Line::from(vec![
                    Span::styled(cells::fit(&head, w), cells::selected_style(selected)),
                    Span::styled(
                        format!("  {}", cells::fit(&it.detail, room)),
                        Style::default().add_modifier(Modifier::DIM),
                    ),
                ])
            })
            .collect();
        f.render_widget(Paragraph::new(lines), list);
        self.sel = sel;
        self.offset = offset;
    }
}

fn point_item(p: ForkPoint) -> Item {
    let text = one_line(&crate::ui::safe_text::neutralise(&p.text), 200);
    let at = p.date.as_deref().and_then(clock).unwrap_or_default();
    let reply = crate::ui::safe_text::neutralise(&p.reply);
    Item {
        label: format!("{at:>5}  {}", cells::fit(&text, 70)),
        detail: if reply.is_empty() {
            String::new()
        } else {
            format!("→ {reply}")
        },
        marked: false,
        run: Cmd::ForkAt {
            before: p.before,
            draft: p.text,
        },
    }
}

fn hit_item(h: SearchHit) -> Item {
    let text = crate::ui::safe_text::neutralise(&h.text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let conv = if h.conversation_id.is_empty() {
        crate::protocol::DEFAULT_CONVERSATION.to_string()
    } else {
        h.conversation_id.clone()
    };
    Item {
        label: format!("{}: {}", h.role, cells::fit(&text, 70)),
        detail: conv.clone(),
        marked: false,
        run: Cmd::Resume(Some(conv)),
    }
}

super::viewer!(Picker);
