//! Tabs of scrollable text: the memory viewer (`/memory`, a tab per block, `e` edits the
//! block in `$EDITOR`) and help (`/help`).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Data, Fetch, Req, footer, header};
use crate::protocol::Block;
use crate::ui::tui::wrap;

/// One tab: its name and text, and the block it shows (memory only).
struct Tab {
    name: String,
    text: Vec<String>,
    block: Option<Block>,
}

/// The pager's state.
pub struct Pager {
    title: String,
    tabs: Vec<Tab>,
    tab: usize,
    scroll: usize,
    loading: bool,
    /// Rows of text on screen, from the last draw (for page keys).
    height: usize,
    pub status: Option<String>,
}

const KEYS: &str = "\
enter            send the message
shift+enter      new line (also alt+enter, ctrl+j)
↑ ↓              move in the text, or through earlier inputs
esc              interrupt the agent; in a viewer, clear the search, then close
ctrl+c           interrupt, clear the input, or exit when pressed twice
shift+tab        cycle the permission mode: standard → acceptEdits → strict
ctrl+o           expand the last collapsed result or reasoning
ctrl+z           suspend letta (fg brings it back)
!command         run a shell command yourself; it is not sent to the agent
@path            complete a file path from the project
/command         a slash command; /help lists them";

impl Pager {
    fn new(title: &str, tabs: Vec<Tab>, loading: bool) -> Self {
        Self {
            title: title.into(),
            tabs,
            tab: 0,
            scroll: 0,
            loading,
            height: 10,
            status: None,
        }
    }

    /// All commands and keys.
    pub fn help() -> Self {
        let commands = crate::commands::table::TABLE
            .iter()
            .map(|s| format!("/{:<12} {}", s.name, s.help))
            .collect();
        let tabs = vec![
            Tab {
                name: "Commands".into(),
                text: commands,
                block: None,
            },
            Tab {
                name: "Keys".into(),
                text: KEYS.lines().map(String::from).collect(),
                block: None,
            },
        ];
        Self::new("Help", tabs, false)
    }

    /// The agent's memory blocks, fetched.
    pub fn memory() -> (Self, Vec<Req>) {
        (
            Self::new(
                "Memory (shared by all of this agent's conversations)",
                Vec::new(),
                true,
            ),
            vec![Req::Fetch(Fetch::Blocks)],
        )
    }

    fn is_memory(&self) -> bool {
        self.tabs.iter().any(|t| t.block.is_some()) || self.loading
    }

    pub fn key(&mut self, k: KeyEvent) -> Vec<Req> {
        let n = self.tabs.len().max(1);
        let page = self.height.max(1);
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') => return vec![Req::Close],
            KeyCode::Tab | KeyCode::Right | KeyCode::Char('l') => {
                self.tab = (self.tab + 1) % n;
                self.scroll = 0;
            }
            KeyCode::BackTab | KeyCode::Left | KeyCode::Char('h') => {
                self.tab = (self.tab + n - 1) % n;
                self.scroll = 0;
            }
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.scroll += 1,
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(page),
            KeyCode::PageDown | KeyCode::Char(' ') => self.scroll += page,
            KeyCode::Home | KeyCode::Char('g') => self.scroll = 0,
            KeyCode::End | KeyCode::Char('G') => self.scroll = usize::MAX / 2,
            KeyCode::Char('e') => {
                if let Some(b) = self.tabs.get(self.tab).and_then(|t| t.block.as_ref()) {
                    if b.read_only == Some(true) {
                        self.status = Some(format!("The {} block is read-only", b.label));
                        return Vec::new();
                    }
                    return vec![Req::Edit {
                        label: b.label.clone(),
                        value: b.value.clone(),
                        limit: b.limit,
                    }];
                }
            }
            _ => {}
        }
        Vec::new()
    }

    pub fn apply(&mut self, d: Data) -> Vec<Req> {
        if let Data::Blocks(r) = d {
            self.loading = false;
            match r {
                Ok(blocks) => {
                    let keep = self.tabs.get(self.tab).map(|t| t.name.clone());
                    self.tabs = blocks
                        .into_iter()
                        .map(|b| {
                            let value = crate::ui::safe_text::neutralise(&b.value);
                            let mut text = vec![format!(
                                "{} of {} characters{}",
                                b.value.chars().count(),
                                b.limit.map_or_else(|| "∞".into(), |l| l.to_string()),
                                b.description
                                    .as_deref()
                                    .map(|d| format!(" · {d}"))
                                    .unwrap_or_default()
                            )];
                            text.push(String::new());
                            text.extend(value.lines().map(String::from));
                            Tab {
                                name: b.label.clone(),
                                text,
                                block: Some(b),
                            }
                        })
                        .collect();
                    self.tab = keep
                        .and_then(|k| self.tabs.iter().position(|t| t.name == k))
                        .unwrap_or(0);
                }
                Err(e) => self.status = Some(format!("Could not read the memory: {e}")),
            }
        }
        Vec::new()
    }

    pub fn draw(&mut self, f: &mut Frame, area: Rect) {
        let area = header(f, area, &self.title);
        let w = area.width as usize;
        // The tab bar.
        let mut spans = Vec::new();
        for (i, t) in self.tabs.iter().enumerate() {
            let style = if i == self.tab {
                Style::default()
                    .fg(Color::Black)
                    .bg(Color::Cyan)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::default().add_modifier(Modifier::DIM)
            };
            spans.push(Span::styled(format!(" {} ", t.name), style));
            spans.push(Span::raw(" "));
        }
        f.render_widget(
            Paragraph::new(vec![Line::from(spans), Line::default()]),
            Rect { height: 2, ..area },
        );
        let area = Rect {
            y: area.y + 2,
            height: area.height.saturating_sub(2),
            ..area
        };
        let hints = if self.is_memory() {
            "←→ or tab switch block · ↑↓ scroll · e edit in $EDITOR · esc close"
        } else {
            "←→ or tab switch page · ↑↓ scroll · esc close"
        };
        let status = self.status.clone().or_else(|| {
            if self.loading {
                Some("Loading…".into())
            } else if self.tabs.is_empty() {
                Some("Nothing to show".into())
            } else {
                None
            }
        });
        let body = footer(f, area, status.as_deref(), hints);
        let lines: Vec<Line<'static>> = self
            .tabs
            .get(self.tab)
            .map(|t| {
                t.text
                    .iter()
                    .enumerate()
                    .flat_map(|(i, l)| {
                        let style = if i == 0 && t.block.is_some() {
                            Style::default().add_modifier(Modifier::DIM)
                        } else {
                            Style::default()
                        };
                        wrap::wrap(vec![Span::styled(l.clone(), style)], w, vec![], vec![])
                    })
                    .collect()
            })
            .unwrap_or_default();
        let h = body.height as usize;
        self.height = h;
        self.scroll = self.scroll.min(lines.len().saturating_sub(h));
        let shown: Vec<Line> = lines.into_iter().skip(self.scroll).take(h).collect();
        f.render_widget(Paragraph::new(shown), body);
    }
}

super::viewer!(Pager);
