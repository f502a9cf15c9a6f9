//! The agent browser (`/agents`): pinned agents first, then the rest by last use. Enter
//! switches, `n` creates an agent, `p` pins or unpins, `d` deletes after a y/n question.

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Data, Fetch, Req, ago, footer, header, search_field};
use crate::commands::Cmd;
use crate::protocol::Agent;
use crate::ui::tui::cells;

/// Lines per agent: name, details, a gap.
const ROW_H: u16 = 3;

/// The browser's state.
pub struct Browser {
    current: String,
    query: String,
    agents: Vec<Agent>,
    /// Backend results for `query` (names beyond the first page).
    found: Option<(String, Vec<Agent>)>,
    pins: Vec<String>,
    sel: usize,
    offset: usize,
    loading: bool,
    confirm: Option<(String, String)>,
    /// The name being typed for a new agent (`n`).
    naming: Option<String>,
    pub status: Option<String>,
    pub now: Option<DateTime<Utc>>,
}

impl Browser {
    /// A browser of the backend's agents; `current` is the agent in use.
    pub fn open(current: &str) -> (Self, Vec<Req>) {
        let b = Self {
            current: current.to_string(),
            query: String::new(),
            agents: Vec::new(),
            found: None,
            pins: Vec::new(),
            sel: 0,
            offset: 0,
            loading: true,
            confirm: None,
            naming: None,
            status: None,
            now: None,
        };
        (b, vec![Req::Fetch(Fetch::Agents { search: None })])
    }

    fn rows(&self) -> Vec<&Agent> {
        let q = self.query.to_lowercase();
        let mut rows: Vec<&Agent> = self
            .agents
            .iter()
            .filter(|a| super::matches(&q, &[&a.name, &a.id]))
            .collect();
        if let Some((fq, found)) = &self.found
            && *fq == self.query
        {
            for a in found {
                if !rows.iter().any(|r| r.id == a.id) {
                    rows.push(a);
                }
            }
        }
        // Pinned first; the backend's order (last use) otherwise.
        rows.sort_by_key(|a| !self.pins.contains(&a.id));
        rows
    }

    fn selected(&self) -> Option<(String, String)> {
        self.rows()
            .get(self.sel)
            .map(|a| (a.id.clone(), a.name.clone()))
    }

    pub fn key(&mut self, k: KeyEvent) -> Vec<Req> {
        if let Some(name) = &mut self.naming {
            match k.code {
                KeyCode::Esc => {
                    self.naming = None;
                    self.status = None;
                }
                KeyCode::Enter => {
                    let name = self.naming.take().filter(|n| !n.trim().is_empty());
                    return vec![Req::Run(Cmd::NewAgent(name))];
                }
                KeyCode::Backspace => {
                    name.pop();
                }
                _ => {
                    if let Some(c) = super::typed(&k) {
                        name.push(c);
                    }
                }
            }
            if let Some(n) = &self.naming {
                self.status = Some(format!(
                    "Name the new agent: {n}▏ (enter creates it; empty: named after this folder; esc cancels)"
                ));
            }
            return Vec::new();
        }
        if let Some((id, _)) = self.confirm.take() {
            if matches!(k.code, KeyCode::Char('y' | 'Y')) {
                self.status = Some(format!("Deleting {id}…"));
                return vec![Req::Fetch(Fetch::DeleteAgent(id))];
            }
            self.status = None;
            return Vec::new();
        }
        let bare = self.query.is_empty();
        let n = self.rows().len();
        match k.code {
            KeyCode::Esc if !bare => {
                self.query.clear();
                self.sel = 0;
            }
            KeyCode::Esc => return vec![Req::Close],
            KeyCode::Enter => {
                return match self.selected() {
                    Some((id, _)) if id == self.current => vec![Req::Close],
                    Some((id, _)) => vec![Req::Run(Cmd::SwitchAgent(id))],
                    None => Vec::new(),
                };
            }
            KeyCode::Up => self.sel = self.sel.saturating_sub(1),
            KeyCode::Down => self.sel = (self.sel + 1).min(n.saturating_sub(1)),
            KeyCode::Char('k') if bare => self.sel = self.sel.saturating_sub(1),
            KeyCode::Char('j') if bare => self.sel = (self.sel + 1).min(n.saturating_sub(1)),
            KeyCode::Char('n') if bare => {
                self.naming = Some(String::new());
                self.status = Some(
                    "Name the new agent: ▏ (enter creates it; empty: named after this folder; esc cancels)".into(),
                );
            }
            KeyCode::Char('p') if bare => {
                if let Some((id, _)) = self.selected() {
                    let pinned = !self.pins.contains(&id);
                    return vec![Req::Fetch(Fetch::Pin {
                        agent_id: id,
                        pinned,
                    })];
                }
            }
            KeyCode::Delete => match self.selected() {
                Some((id, _)) if id == self.current => {
                    self.status = Some("That is the agent in use; switch to another first".into());
                }
                Some((id, name)) => {
                    self.status = Some(format!(
                        "y/n: delete agent \"{name}\" with all its conversations and memory? ({id})"
                    ));
                    self.confirm = Some((id, name));
                }
                None => {}
            },
            KeyCode::Backspace => {
                if self.query.pop().is_some() {
                    self.sel = 0;
                    return self.search();
                }
            }
            _ => {
                if let Some(c) = super::typed(&k) {
                    self.query.push(c);
                    self.sel = 0;
                    return self.search();
                }
            }
        }
        Vec::new()
    }

    fn search(&mut self) -> Vec<Req> {
        if self.query.is_empty() {
            self.found = None;
            return Vec::new();
        }
        vec![Req::FetchLater(Fetch::Agents {
            search: Some(self.query.clone()),
        })]
    }

    pub fn apply(&mut self, d: Data) -> Vec<Req> {
        match d {
            Data::Agents { search, result } => {
                self.loading = false;
                match (search, result) {
                    (None, Ok((agents, pins))) => {
                        self.agents = agents;
                        self.pins = pins;
                    }
                    (Some(q), Ok((agents, _))) if q == self.query => self.found = Some((q, agents)),
                    (_, Err(e)) => self.status = Some(format!("Could not list agents: {e}")),
                    _ => {}
                }
            }
            Data::Pinned(Ok(pins)) => {
                self.pins = pins;
                self.status = None;
            }
            Data::Pinned(Err(e)) => self.status = Some(format!("Could not save the pin: {e}")),
            Data::AgentDeleted(id, Ok(())) => {
                self.agents.retain(|a| a.id != id);
                if let Some((_, f)) = &mut self.found {
                    f.retain(|a| a.id != id);
                }
                self.status = Some(format!("Deleted {id}"));
            }
            Data::AgentDeleted(id, Err(e)) => {
                self.status = Some(format!("Could not delete {id}: {e}"));
            }
            _ => {}
        }
        let n = self.rows().len();
        self.sel = self.sel.min(n.saturating_sub(1));
        Vec::new()
    }

    pub fn draw(&mut self, f: &mut Frame, area: Rect) {
        let now = self.now.unwrap_or_else(Utc::now);
        let area = header(f, area, "Agents");
        let area = search_field(f, area, &self.query, "search agent names");
        let rows = self.rows();
        let n = rows.len();
        let status = self.status.clone().or_else(|| {
            if self.loading {
                Some("Loading…".into())
            } else if n == 0 {
                Some("No agents match".into())
            } else {
                let agents = if n == 1 {
                    "1 agent".to_string()
                } else {
                    format!("{n} agents")
                };
                Some(format!("{agents} · {} pinned", self.pins.len()))
            }
        });
        let hints = if self.query.is_empty() {
            "enter switch · j/k move · n new · p pin · del delete · type to search · esc close"
        } else {
            "enter switch · ↑↓ move · esc clears the search"
        };
        let list = footer(f, area, status.as_deref(), hints);
        let per_page = (list.height / ROW_H).max(1) as usize;
        let (sel, offset) = super::window(self.sel, self.offset, n, per_page);
        let w = list.width as usize;
        let dim = Style::default().add_modifier(Modifier::DIM);
        let mut lines = Vec::new();
        for (i, a) in rows.iter().enumerate().skip(offset).take(per_page) {
            let selected = i == sel;
            let mark = if selected { "❯ " } else { "  " };
            let pin = if self.pins.contains(&a.id) {
                "★ "
            } else {
                ""
            };
            let cur = if a.id == self.current {
                " (current)"
            } else {
                ""
            };
            lines.push(Line::from(vec![
                Span::styled(
                    cells::fit(
                        &format!("{mark}{pin}{}", crate::ui::safe_text::neutralise(&a.name)),
                        w.saturating_sub(cur.len()),
                    ),
                    cells::selected_style(selected),
                ),
                Span::styled(cur, Style::default().add_modifier(Modifier::BOLD)),
            ]));
            let mut detail = vec![a.id.clone()];
            if let Some(m) = &a.model {
                detail.push(m.clone());
            }
            if let Some(t) = a
                .last_run_completion
                .as_deref()
                .or(a.created_at.as_deref())
                .and_then(|t| ago(t, now))
            {
                detail.push(format!("active {t}"));
            }
            lines.push(Line::from(Span::styled(
                cells::fit(&format!("    {}", detail.join(" · ")), w),
                dim,
            )));
            lines.push(Line::default());
        }
        f.render_widget(Paragraph::new(lines), list);
        self.sel = sel;
        self.offset = offset;
    }
}

super::viewer!(Browser);
