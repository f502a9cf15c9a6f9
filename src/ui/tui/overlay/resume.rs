//! The conversation browser (`/resume`, `letta --resume`): the agent's conversations, most
//! recently active first, paged from the backend as the cursor nears the end, with previews
//! fetched for the rows on screen only. Typing filters the loaded rows at once and asks the
//! backend (`summary_search`) after a pause.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub use super::rows::Row;
use super::rows::{Source, safe};
use super::{Data, Fetch, Req, ago, footer, header, search_field};
use crate::commands::Cmd;
use crate::protocol::DEFAULT_CONVERSATION;
use crate::ui::tui::cells;

/// Lines a row takes: title, up to three preview lines, times, a gap.
const ROW_H: u16 = 6;

/// The browser's state.
pub struct Browser {
    current: String,
    query: String,
    all: Source,
    /// Backend results for `query` (titles the loaded rows do not reach).
    found: Option<(String, Source)>,
    /// Conversations whose messages match `query`.
    text_hits: Option<(String, Vec<Row>)>,
    /// The default conversation, until the pages reach its place.
    default_row: Option<Row>,
    previews: HashMap<String, Vec<String>>,
    requested: HashSet<String>,
    hidden: HashSet<String>,
    sel: usize,
    offset: usize,
    per_page: usize,
    confirm: Option<Row>,
    /// The tree view, while it is shown (`t`).
    pub tree: Option<super::tree::Tree>,
    pub status: Option<String>,
    /// Fixed in tests; the clock otherwise.
    pub now: Option<DateTime<Utc>>,
}

impl Browser {
    /// A browser for the agent's conversations; `current` is the one in use.
    pub fn open(current: &str) -> (Self, Vec<Req>) {
        let mut all = Source {
            loading: true,
            ..Default::default()
        };
        all.more = true;
        let b = Self {
            current: current.to_string(),
            query: String::new(),
            all,
            found: None,
            text_hits: None,
            default_row: None,
            previews: HashMap::new(),
            requested: HashSet::new(),
            hidden: HashSet::new(),
            sel: 0,
            offset: 0,
            per_page: 5,
            confirm: None,
            tree: None,
            status: None,
            now: None,
        };
        let reqs = vec![
            Req::Fetch(Fetch::Conversations {
                search: None,
                after: None,
            }),
            Req::Fetch(Fetch::Default),
        ];
        (b, reqs)
    }

    /// The rows shown, newest activity first.
    fn rows(&self) -> Vec<&Row> {
        let q = self.query.to_lowercase();
        let keep = |r: &&Row| {
            !self.hidden.contains(&r.id)
                && super::matches(&q, &[r.id.as_str(), r.title.as_deref().unwrap_or("")])
        };
        let mut rows: Vec<&Row> = self.all.rows.iter().filter(keep).collect();
        if let Some((hq, hits)) = &self.text_hits
            && *hq == self.query
        {
            // A conversation found by its title and its text shows once, with the text.
            let by_text: HashSet<&str> = hits.iter().map(|r| r.id.as_str()).collect();
            rows.retain(|r| !by_text.contains(r.id.as_str()));
            rows.extend(hits.iter().filter(|r| !self.hidden.contains(&r.id)));
        }
        if let Some((fq, found)) = &self.found
            && *fq == self.query
        {
            let seen: HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            let extra: Vec<&Row> = found
                .rows
                .iter()
                .filter(|r| !seen.contains(r.id.as_str()) && !self.hidden.contains(&r.id))
                .collect();
            if !extra.is_empty() {
                rows.extend(extra);
                rows.sort_by_key(|r| std::cmp::Reverse(r.active_at));
            }
        }
        rows
    }

    fn more(&self) -> bool {
        match &self.found {
            Some((q, f)) if *q == self.query && !self.query.is_empty() => f.more || self.all.more,
            _ => self.all.more,
        }
    }

    /// Put the default conversation among the rows once the pages reach its time.
    fn place_default(&mut self) {
        let Some(d) = &self.default_row else { return };
        let pos = self.all.rows.iter().position(|r| r.active_at < d.active_at);
        let pos = match pos {
            Some(p) => p,
            None if !self.all.more => self.all.rows.len(),
            None => return,
        };
        if let Some(d) = self.default_row.take() {
            self.all.rows.insert(pos, d);
        }
    }

    fn selected(&self) -> Option<Row> {
        self.rows().get(self.sel).map(|r| (*r).clone())
    }

    fn move_by(&mut self, d: isize) {
        let n = self.rows().len();
        if n == 0 {
            self.sel = 0;
            return;
        }
        self.sel = (self.sel as isize + d).clamp(0, n as isize - 1) as usize;
    }

    fn search_changed(&mut self) -> Vec<Req> {
        self.sel = 0;
        self.offset = 0;
        if self.query.is_empty() {
            self.found = None;
            self.text_hits = None;
            return Vec::new();
        }
        vec![Req::FetchLater(Fetch::Find(self.query.clone()))]
    }

    pub fn key(&mut self, k: KeyEvent) -> Vec<Req> {
        if let Some(row) = self.confirm.take() {
            if matches!(k.code, KeyCode::Char('y' | 'Y')) {
                self.status = Some(format!("Deleting {}…", row.id));
                return vec![Req::Fetch(Fetch::DeleteConversation(row.id))];
            }
            self.status = None;
            return Vec::new();
        }
        if let Some(t) = &mut self.tree {
            match k.code {
                KeyCode::Esc => return vec![Req::Close],
                KeyCode::Char('t') => self.tree = None,
                _ => return t.key(k).unwrap_or_default(),
            }
            return Vec::new();
        }
        let bare = self.query.is_empty();
        match k.code {
            KeyCode::Char('t') if bare => {
                let (t, reqs) = super::tree::Tree::open(&self.current);
                self.tree = Some(t);
                return reqs;
            }
            KeyCode::Esc if !bare => {
                self.query.clear();
                return self.search_changed();
            }
            KeyCode::Esc => return vec![Req::Close],
            KeyCode::Enter => {
                return match self.selected() {
                    Some(r) if r.id == self.current && r.hit.is_none() => vec![Req::Close],
                    Some(Row {
                        id, hit: Some(h), ..
                    }) => vec![Req::Run(Cmd::ResumeAt {
                        id,
                        message_id: h.message_id,
                        quote: format!("{}: {}", h.role, h.text),
                        date: h.date,
                    })],
                    Some(r) => vec![Req::Run(Cmd::Resume(Some(r.id)))],
                    None => Vec::new(),
                };
            }
            KeyCode::Up => self.move_by(-1),
            KeyCode::Down => self.move_by(1),
            KeyCode::Char('k') if bare => self.move_by(-1),
            KeyCode::Char('j') if bare => self.move_by(1),
            KeyCode::PageUp => self.move_by(-(self.per_page as isize)),
            KeyCode::PageDown => self.move_by(self.per_page as isize),
            KeyCode::Home => self.sel = 0,
            KeyCode::End => self.move_by(isize::MAX / 2),
            // Delete is a key of its own: a letter would also be the start of a search.
            KeyCode::Delete => match self.selected() {
                Some(r) if r.id == self.current => {
                    self.status =
                        Some("That is the conversation in use; it cannot be deleted here".into());
                }
                Some(r) if r.id == DEFAULT_CONVERSATION => {
                    self.status = Some("The default conversation cannot be deleted".into());
                }
                Some(r) => {
                    self.status = Some(format!("y/n: delete \"{}\"?", r.label()));
                    self.confirm = Some(r);
                }
                None => {}
            },
            KeyCode::Backspace => {
                if self.query.pop().is_some() {
                    return self.search_changed();
                }
            }
            _ => {
                if let Some(c) = super::typed(&k) {
                    self.query.push(c);
                    return self.search_changed();
                }
            }
        }
        Vec::new()
    }

    pub fn apply(&mut self, d: Data) -> Vec<Req> {
        if let Some(t) = &mut self.tree
            && t.apply(&d)
        {
            return Vec::new();
        }
        match d {
            Data::Conversations {
                search,
                after: _,
                result,
            } => match (search, result) {
                (None, Ok(page)) => {
                    self.all.add(page);
                    self.place_default();
                }
                (Some(q), Ok(page)) if q == self.query => match &mut self.found {
                    Some((fq, f)) if *fq == q => f.add(page),
                    _ => {
                        let mut f = Source::default();
                        f.add(page);
                        self.found = Some((q, f));
                    }
                },
                (Some(_), Ok(_)) => {}
                (_, Err(e)) => {
                    self.all.loading = false;
                    self.all.more = false;
                    self.status = Some(format!("Could not list conversations: {e}"));
                }
            },
            Data::Found {
                query,
                titles,
                hits,
            } if query == self.query => {
                let mut reqs = self.apply(Data::Conversations {
                    search: Some(query.clone()),
                    after: None,
                    result: titles,
                });
                match hits {
                    Ok(found) => {
                        let rows = super::found::per_conversation(found.hits)
                            .into_iter()
                            .map(|h| {
                                let known =
                                    self.all.rows.iter().find(|r| r.id == h.conversation_id);
                                Row::from_hit(h, known)
                            })
                            .collect();
                        self.text_hits = Some((query, rows));
                    }
                    Err(e) => self.status = Some(format!("Could not search messages: {e}")),
                }
                reqs.extend(self.wants());
                return reqs;
            }
            Data::Default(Ok(Some(row))) => {
                self.default_row = Some(row);
                self.place_default();
            }
            Data::Default(_) => {}
            Data::Previews(list) => {
                for (id, r) in list {
                    match r {
                        Ok(p) if p.empty => {
                            self.hidden.insert(id);
                        }
                        Ok(p) => {
                            self.previews.insert(id, safe(p.lines));
                        }
                        Err(_) => {
                            self.previews
                                .insert(id, vec!["(preview unavailable)".into()]);
                        }
                    }
                }
                let n = self.rows().len();
                self.sel = self.sel.min(n.saturating_sub(1));
            }
            Data::ConversationDeleted(id, Ok(())) => {
                self.hidden.insert(id.clone());
                self.status = Some(format!("Deleted {id}"));
                let n = self.rows().len();
                self.sel = self.sel.min(n.saturating_sub(1));
            }
            Data::ConversationDeleted(id, Err(e)) => {
                self.status = Some(format!("Could not delete {id}: {e}"));
            }
            _ => {}
        }
        Vec::new()
    }

    /// The next page when the cursor nears the end, and previews of the rows on screen.
    pub fn wants(&mut self) -> Vec<Req> {
        let mut out = Vec::new();
        let rows = self.rows();
        let near_end = self.sel + self.per_page * 2 >= rows.len();
        let ids: Vec<String> = rows
            .iter()
            .skip(self.offset)
            .take(self.per_page)
            .filter(|r| r.preview.is_none() && r.hit.is_none())
            .filter(|r| !self.previews.contains_key(&r.id))
            .filter(|r| !self.requested.contains(&r.id))
            .map(|r| r.id.clone())
            .collect();
        drop(rows);
        if near_end {
            let searching = !self.query.is_empty();
            match &mut self.found {
                Some((q, f)) if searching && *q == self.query && f.more && !f.loading => {
                    f.loading = true;
                    out.push(Req::Fetch(Fetch::Conversations {
                        search: Some(q.clone()),
                        after: f.after.clone(),
                    }));
                }
                _ if !searching && self.all.more && !self.all.loading => {
                    self.all.loading = true;
                    out.push(Req::Fetch(Fetch::Conversations {
                        search: None,
                        after: self.all.after.clone(),
                    }));
                }
                _ => {}
            }
        }
        if !ids.is_empty() {
            self.requested.extend(ids.iter().cloned());
            out.push(Req::Fetch(Fetch::Previews(ids)));
        }
        out
    }

    /// Under a row's title: the match for a row found by its text, else its last exchange.
    fn row_body(&self, r: &Row, w: usize, dim: Style) -> Vec<Line<'static>> {
        if let Some(h) = &r.hit {
            let mut l = super::found::snippet(&h.text, &self.query, w.saturating_sub(10));
            let who = if h.role == "user" { "you" } else { "agent" };
            l.spans.insert(0, Span::styled(format!("  └ {who}: "), dim));
            return vec![l];
        }
        let preview = r.preview.as_ref().or_else(|| self.previews.get(&r.id));
        let texts: Vec<String> = match preview {
            Some(p) if p.is_empty() => vec!["(no messages to preview)".into()],
            Some(p) => super::rows::wrapped(p, w.saturating_sub(4)),
            None => vec!["Loading preview…".into()],
        };
        texts
            .iter()
            .enumerate()
            .map(|(j, l)| {
                let lead = if j == 0 { "  └ " } else { "    " };
                Line::from(Span::styled(cells::fit(&format!("{lead}{l}"), w), dim))
            })
            .collect()
    }

    pub fn draw(&mut self, f: &mut Frame, area: Rect) {
        if let Some(t) = &mut self.tree {
            let area = header(f, area, "Conversations and their forks");
            t.draw(f, area, self.status.as_deref());
            return;
        }
        let now = self.now.unwrap_or_else(Utc::now);
        let area = header(f, area, "Resume a previous conversation");
        let area = search_field(f, area, &self.query, "search titles and messages");
        let hints = if self.query.is_empty() {
            "enter switch · ↑↓ or j/k move · t tree · del delete · type to search · esc close"
        } else {
            "enter switch · ↑↓ move · esc clears the search"
        };
        let rows = self.rows();
        let n = rows.len();
        let status = self.status.clone().unwrap_or_else(|| {
            let more = if self.more() { "+" } else { "" };
            let loading = if self.all.loading {
                " (loading…)"
            } else {
                ""
            };
            if n == 0 && !self.all.loading {
                if self.query.is_empty() {
                    "No conversations with messages yet".into()
                } else {
                    format!("Nothing matches \"{}\"", self.query)
                }
            } else {
                format!(
                    "Showing {}-{} of {n}{more}{loading}",
                    (self.offset + 1).min(n),
                    (self.offset + self.per_page).min(n)
                )
            }
        });
        let list = footer(f, area, Some(&status), hints);
        let per_page = (list.height / ROW_H).max(1) as usize;
        let (sel, offset) = super::window(self.sel, self.offset, n, per_page);
        let w = list.width as usize;
        let dim = Style::default().add_modifier(Modifier::DIM);
        let mut lines: Vec<Line> = Vec::new();
        for (i, r) in rows.iter().enumerate().skip(offset).take(per_page) {
            let selected = i == sel;
            let mark = if selected { "❯ " } else { "  " };
            let cur = if r.id == self.current {
                " (current)"
            } else {
                ""
            };
            lines.push(Line::from(vec![
                Span::styled(
                    cells::fit(&format!("{mark}{}", r.label()), w.saturating_sub(cur.len())),
                    cells::selected_style(selected),
                ),
                Span::styled(cur, Style::default().add_modifier(Modifier::BOLD)),
            ]));
            let body = self.row_body(r, w, dim);
            let shown = body.len();
            lines.extend(body);
            let mut times = Vec::new();
            if let Some(a) = r.active.as_deref().and_then(|t| ago(t, now)) {
                times.push(format!("Active {a}"));
            }
            if let Some(c) = r.created.as_deref().and_then(|t| ago(t, now)) {
                times.push(format!("Created {c}"));
            }
            lines.push(Line::from(Span::styled(
                cells::fit(&format!("    {}", times.join(" · ")), w),
                dim,
            )));
            for _ in shown..3 {
                lines.push(Line::default());
            }
            lines.push(Line::default());
        }
        drop(rows);
        f.render_widget(Paragraph::new(lines), list);
        self.sel = sel;
        self.offset = offset;
        self.per_page = per_page;
    }
}

super::viewer!(Browser, wants);
