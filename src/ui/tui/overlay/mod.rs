//! Full-screen viewers over the chat: the conversation browser, the agent browser, pickers
//! (models, search hits), the memory viewer and help. They are drawn on the alternate screen,
//! so the chat's scrollback is untouched and comes back as it was when one closes.
//!
//! An overlay never talks to the backend itself: keys and data return [`Req`]uests, which the
//! app loop runs off the UI task, and their answers come back through [`Overlay::apply`].

pub mod agents;
pub mod found;
pub mod pager;
pub mod picker;
pub mod resume;
pub mod rows;
pub mod screen;
pub mod tree;

use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::cells;
use crate::backend::{AgentQuery, Backend};
use crate::commands::Cmd;
use crate::protocol::{Agent, Block, BlockUpdate, Conversation, ListParams, LlmModel, Order};
use crate::session::Session;
use crate::session::query::{self, conversation_query, pins, preview};
pub use crate::session::query::{Preview, ago, parse_time};

/// Conversations fetched per page.
pub const PAGE: u32 = 50;

/// Which overlay to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Open {
    Resume,
    Agents,
    Models,
    Memory,
    Help,
    Search(String),
    /// This conversation's messages, to branch before one.
    ForkPoints,
}

/// A full-screen viewer. A new viewer is one file: a type implementing this, plus the
/// [`Open`] case that creates it.
pub trait Viewer: Send {
    /// A key (Ctrl-C never reaches it: it always closes).
    fn key(&mut self, k: KeyEvent) -> Vec<Req>;
    /// Data that was asked for.
    fn apply(&mut self, _d: Data) -> Vec<Req> {
        Vec::new()
    }
    fn draw(&mut self, f: &mut Frame, area: Rect);
    /// Work that became due once the viewer knows its size (previews of visible rows).
    fn wants(&mut self) -> Vec<Req> {
        Vec::new()
    }
    /// The line shown in the footer.
    fn status(&mut self) -> &mut Option<String>;
}

/// An open viewer.
pub struct Overlay(Box<dyn Viewer>);

/// `impl Viewer` for a type with inherent `key`, `apply`, `draw` (and, with `wants`, a
/// `wants`) and a `status` field.
macro_rules! viewer {
    ($t:ty $(, $wants:ident)?) => {
        impl super::Viewer for $t {
            fn key(&mut self, k: KeyEvent) -> Vec<Req> {
                <$t>::key(self, k)
            }
            fn apply(&mut self, d: Data) -> Vec<Req> {
                <$t>::apply(self, d)
            }
            fn draw(&mut self, f: &mut Frame, area: Rect) {
                <$t>::draw(self, f, area);
            }
            $(fn $wants(&mut self) -> Vec<Req> {
                <$t>::$wants(self)
            })?
            fn status(&mut self) -> &mut Option<String> {
                &mut self.status
            }
        }
    };
}
pub(crate) use viewer;

/// What an overlay asks the app loop to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Req {
    Close,
    /// Fetch now; the answer comes back as [`Data`].
    Fetch(Fetch),
    /// Fetch after a short pause, replacing an earlier pending one (search as you type).
    FetchLater(Fetch),
    /// Close, then run this command.
    Run(Cmd),
    /// Open a memory block in the user's editor.
    Edit {
        label: String,
        value: String,
        limit: Option<u64>,
    },
}

/// Background work an overlay needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetch {
    /// A page of conversations, newest activity first.
    Conversations {
        search: Option<String>,
        after: Option<String>,
    },
    /// The agent's default conversation, if it has messages.
    Default,
    /// The last messages of these conversations.
    Previews(Vec<String>),
    DeleteConversation(String),
    Agents {
        search: Option<String>,
    },
    DeleteAgent(String),
    Pin {
        agent_id: String,
        pinned: bool,
    },
    Blocks,
    Models,
    /// Full-text search over the agent's messages.
    Search(String),
    ForkPoints,
    /// Every conversation of the agent, for the tree.
    Tree,
    /// Conversations whose title or messages match.
    Find(String),
}

/// The answer to a [`Fetch`].
#[derive(Debug, Clone)]
pub enum Data {
    Conversations {
        search: Option<String>,
        after: Option<String>,
        result: Result<Vec<Conversation>, String>,
    },
    Default(Result<Option<resume::Row>, String>),
    Previews(Vec<(String, Result<Preview, String>)>),
    ConversationDeleted(String, Result<(), String>),
    Agents {
        search: Option<String>,
        result: Result<(Vec<Agent>, Vec<String>), String>,
    },
    AgentDeleted(String, Result<(), String>),
    Pinned(Result<Vec<String>, String>),
    Blocks(Result<Vec<Block>, String>),
    Models(Result<(Vec<LlmModel>, Option<String>), String>),
    Hits(Result<crate::session::search::Found, String>),
    ForkPoints(Result<Vec<crate::session::forks::ForkPoint>, String>),
    Tree(Result<Vec<Conversation>, String>),
    Found {
        query: String,
        titles: Result<Vec<Conversation>, String>,
        hits: Result<crate::session::search::Found, String>,
    },
}

/// What fetching needs: the backend, whose data, and where pins are kept.
#[derive(Clone)]
pub struct Env {
    pub backend: Arc<dyn Backend>,
    pub session: Session,
    pub settings_file: PathBuf,
}

/// Do one piece of background work.
pub async fn fetch(env: &Env, f: Fetch) -> Data {
    let b = env.backend.as_ref();
    let agent_id = env.session.agent_id.as_str();
    match f {
        Fetch::Conversations { search, after } => {
            let q = conversation_query(agent_id, search.clone(), after.clone(), PAGE);
            let result = b.list_conversations(q).await.map_err(|e| e.to_string());
            Data::Conversations {
                search,
                after,
                result,
            }
        }
        Fetch::Default => Data::Default(
            query::default_conversation(b, agent_id)
                .await
                .map(|d| d.map(|d| resume::Row::default_conversation(d.preview, d.agent_created))),
        ),
        Fetch::Previews(ids) => {
            let jobs = ids.into_iter().map(|id| async move {
                let r = query::recent(b, &id, agent_id, 10)
                    .await
                    .map(|m| preview(&m));
                (id, r)
            });
            Data::Previews(futures_util::future::join_all(jobs).await)
        }
        Fetch::DeleteConversation(id) => {
            let r = b.delete_conversation(&id).await.map_err(|e| e.to_string());
            Data::ConversationDeleted(id, r)
        }
        Fetch::Agents { search } => {
            let q = AgentQuery {
                page: ListParams {
                    limit: Some(100),
                    order: Some(Order::Desc),
                    order_by: Some("last_run_completion".into()),
                    ..Default::default()
                },
                name: search.clone(),
            };
            let result = b
                .list_agents(q)
                .await
                .map(|a| (a, pins(&env.settings_file, &b.location())))
                .map_err(|e| e.to_string());
            Data::Agents { search, result }
        }
        Fetch::DeleteAgent(id) => {
            let r = b.delete_agent(&id).await.map_err(|e| e.to_string());
            Data::AgentDeleted(id, r)
        }
        Fetch::Pin { agent_id, pinned } => {
            let file = env.settings_file.clone();
            let loc = b.location();
            let r = crate::settings::GlobalSettings::update_async(file, move |s| {
                s.set_pinned(&loc, &agent_id, pinned);
                Ok(s.pinned_agents(&loc))
            })
            .await;
            Data::Pinned(r.map_err(|e| e.to_string()))
        }
        Fetch::Search(query) => Data::Hits(
            crate::session::search::search(b, agent_id, &query, 50)
                .await
                .map_err(|e| e.to_string()),
        ),
        Fetch::Find(query) => {
            let q = conversation_query(agent_id, Some(query.clone()), None, PAGE);
            let (titles, hits) = tokio::join!(
                b.list_conversations(q),
                crate::session::search::search(b, agent_id, &query, 100)
            );
            Data::Found {
                query,
                titles: titles.map_err(|e| e.to_string()),
                hits: hits.map_err(|e| e.to_string()),
            }
        }
        Fetch::Tree => Data::Tree(
            crate::session::forks::all_conversations(b, agent_id)
                .await
                .map_err(|e| e.to_string()),
        ),
        Fetch::ForkPoints => {
            Data::ForkPoints(crate::session::forks::fork_points(b, &env.session).await)
        }
        Fetch::Blocks => Data::Blocks(b.list_blocks(agent_id).await.map_err(|e| e.to_string())),
        Fetch::Models => {
            let current = query::current_model(b, &env.session).await;
            Data::Models(
                b.list_models()
                    .await
                    .map(|m| (m, current))
                    .map_err(|e| e.to_string()),
            )
        }
    }
}

/// Text over a block's limit is refused with the counts.
pub fn check_limit(label: &str, value: &str, limit: Option<u64>) -> Result<(), String> {
    let n = value.chars().count() as u64;
    match limit {
        Some(l) if n > l => Err(format!(
            "the {label} block would hold {n} characters, over its limit of {l}; it was not saved"
        )),
        _ => Ok(()),
    }
}

/// Save an edited block, refusing text over its limit.
pub async fn save_block(
    b: &dyn Backend,
    agent_id: &str,
    label: &str,
    value: String,
    limit: Option<u64>,
) -> Result<(), String> {
    check_limit(label, &value, limit)?;
    b.update_block(
        agent_id,
        label,
        BlockUpdate {
            value: Some(value),
            ..Default::default()
        },
    )
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}

impl Overlay {
    pub fn new(v: Box<dyn Viewer>) -> Self {
        Self(v)
    }

    /// Open one for this session; the requests fetch what it shows.
    pub fn open(what: Open, session: &Session) -> (Self, Vec<Req>) {
        let (v, reqs): (Box<dyn Viewer>, Vec<Req>) = match what {
            Open::Resume => {
                let (o, r) = resume::Browser::open(&session.conversation_id);
                (Box::new(o), r)
            }
            Open::Agents => {
                let (o, r) = agents::Browser::open(&session.agent_id);
                (Box::new(o), r)
            }
            Open::Models => {
                let (o, r) = picker::Picker::models();
                (Box::new(o), r)
            }
            Open::Search(q) => {
                let (o, r) = picker::Picker::search(&q);
                (Box::new(o), r)
            }
            Open::ForkPoints => {
                let (o, r) = picker::Picker::fork_points();
                (Box::new(o), r)
            }
            Open::Memory => {
                let (o, r) = pager::Pager::memory();
                (Box::new(o), r)
            }
            Open::Help => (Box::new(pager::Pager::help()), Vec::new()),
        };
        (Self(v), reqs)
    }

    /// A key; Ctrl-C always closes.
    pub fn key(&mut self, k: KeyEvent) -> Vec<Req> {
        if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
            return vec![Req::Close];
        }
        self.0.key(k)
    }

    /// Data that was asked for.
    pub fn apply(&mut self, d: Data) -> Vec<Req> {
        self.0.apply(d)
    }

    pub fn draw(&mut self, f: &mut Frame) {
        let area = f.area();
        self.0.draw(f, area);
    }

    /// Work that became due once the overlay knows its size.
    pub fn wants(&mut self) -> Vec<Req> {
        self.0.wants()
    }

    /// A line to show in the footer (a saved block, an error).
    pub fn notify(&mut self, text: String) {
        *self.0.status() = Some(text);
    }
}

fn dim() -> Style {
    Style::default().add_modifier(Modifier::DIM)
}

/// The title and a rule; returns the area below them.
pub fn header(f: &mut Frame, area: Rect, title: &str) -> Rect {
    let w = area.width as usize;
    let lines = vec![
        Line::from(Span::styled(
            cells::fit(title, w),
            Style::default().add_modifier(Modifier::BOLD),
        )),
        Line::from(Span::styled("─".repeat(w), dim())),
    ];
    f.render_widget(Paragraph::new(lines), Rect { height: 2, ..area });
    Rect {
        y: area.y + 2,
        height: area.height.saturating_sub(2),
        ..area
    }
}

/// The search field; returns the area below it.
pub fn search_field(f: &mut Frame, area: Rect, query: &str, placeholder: &str) -> Rect {
    let w = area.width as usize;
    let line = if query.is_empty() {
        Line::from(vec![
            Span::raw("Search: "),
            Span::styled(cells::fit(placeholder, w.saturating_sub(8)), dim()),
        ])
    } else {
        Line::from(vec![
            Span::raw("Search: "),
            Span::styled(
                cells::fit(query, w.saturating_sub(9)),
                Style::default().fg(Color::Cyan),
            ),
            Span::styled("▏", Style::default().fg(Color::Cyan)),
        ])
    };
    f.render_widget(
        Paragraph::new(vec![line, Line::default()]),
        Rect { height: 2, ..area },
    );
    Rect {
        y: area.y + 2,
        height: area.height.saturating_sub(2),
        ..area
    }
}

/// The footer: a status line (or nothing) and the key hints; returns the area above it.
pub fn footer(f: &mut Frame, area: Rect, status: Option<&str>, hints: &str) -> Rect {
    let w = area.width as usize;
    let mut lines = vec![Line::from(Span::styled("─".repeat(w), dim()))];
    lines.push(match status {
        Some(s) => Line::from(Span::styled(
            cells::fit(s, w),
            Style::default().fg(Color::Yellow),
        )),
        None => Line::default(),
    });
    lines.push(Line::from(Span::styled(cells::fit(hints, w), dim())));
    let h = (lines.len() as u16).min(area.height);
    f.render_widget(
        Paragraph::new(lines),
        Rect {
            y: area.bottom().saturating_sub(h),
            height: h,
            ..area
        },
    );
    Rect {
        height: area.height.saturating_sub(h),
        ..area
    }
}

/// The selection clamped to `n` rows and the first row shown, so the selection stays on a
/// screen of `per_page` rows.
pub fn window(sel: usize, offset: usize, n: usize, per_page: usize) -> (usize, usize) {
    let sel = sel.min(n.saturating_sub(1));
    let mut offset = offset.min(sel);
    if sel >= offset + per_page {
        offset = sel + 1 - per_page;
    }
    (sel, offset)
}

/// A typed character for a search field (no control keys).
pub fn typed(k: &KeyEvent) -> Option<char> {
    match k.code {
        KeyCode::Char(c)
            if !k
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(c)
        }
        _ => None,
    }
}

/// Whether `needle` (lowercase) is in any of `hay`, ignoring case.
pub fn matches(needle: &str, hay: &[&str]) -> bool {
    needle.is_empty() || hay.iter().any(|h| h.to_lowercase().contains(needle))
}

#[cfg(test)]
mod snapshots;
