//! The chat view's state: what is in the live area, what goes to scrollback next, and what
//! keys and turn events do. Drawing and key handling are pure, so they are tested directly.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::approval::Approval;
use super::cells;
use super::composer::Composer;
use super::popup::{self, Kind};
use super::stream::MdStream;
use super::wrap;
use crate::permissions::PermissionMode;
use crate::protocol::LettaMessage;
use crate::session::setup::Banner;
use crate::tools::ToolOutput;
use crate::turn::{ToolCallInfo, TurnEvent, TurnResult};

/// What the app loop must do after a key.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    Send(String),
    Bash(String),
    Interrupt,
    Exit,
    Suspend,
    /// Ctrl+L: write the screen again.
    Redraw,
    /// The permission mode changed.
    Mode(PermissionMode),
    /// Persist this input in the project's history.
    Remember(String),
    /// A command that needs the backend.
    Command(crate::commands::Cmd),
    /// Open a full-screen viewer.
    Open(super::overlay::Open),
}

/// The last collapsed item, for Ctrl+O.
enum Collapsed {
    Tool(ToolCallInfo, ToolOutput),
    Reasoning(String),
}

/// The chat view.
pub struct ChatView {
    pub width: u16,
    pub light: bool,
    cwd: PathBuf,
    agent: String,
    /// The conversation's title or short id.
    conversation: String,
    model: String,
    pub mode: PermissionMode,
    composer: Composer,
    out: Vec<Line<'static>>,
    stream: MdStream,
    stream_otid: Option<String>,
    reasoning: String,
    running: Vec<(ToolCallInfo, Instant)>,
    collapsed: Option<Collapsed>,
    server: super::server_calls::ServerCalls,
    queued: Vec<String>,
    pub approval: Option<Approval>,
    /// A question put aside with Esc: the next line typed is the reason it is denied.
    parked: Option<Approval>,
    busy_since: Option<Instant>,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// Bytes streamed since the last usage report: the live estimate of tokens out.
    live_bytes: u64,
    pub steps: u64,
    last_ctrl_c: Option<Instant>,
    last_esc: Option<Instant>,
    /// The model call failed and is tried again: shown in the status line until text comes.
    retry: Option<String>,
    notice: Option<String>,
    /// How the MCP servers are doing, when there are any.
    pub mcp: Option<String>,
    /// Running subagents by their `Task` call's id.
    subagents: std::collections::HashMap<String, super::subagents::Sub>,
    /// Ctrl+O shows what each running subagent did so far.
    subagents_expanded: bool,
    popup_sel: usize,
    files: Arc<Vec<String>>,
    errors_this_turn: usize,
    /// Everything written to scrollback, for a reprint after a resize.
    pub transcript: super::transcript::Transcript,
}

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

fn compact(n: u64) -> String {
    if n >= 1000 {
        format!("{:.1}k", n as f64 / 1000.0)
    } else {
        n.to_string()
    }
}

impl ChatView {
    pub fn new(
        banner: &Banner,
        cwd: PathBuf,
        mode: PermissionMode,
        width: u16,
        history: Vec<String>,
    ) -> Self {
        let mut v = Self {
            width,
            light: false,
            cwd,
            agent: banner.agent.clone(),
            conversation: crate::session::place::short_id(&banner.conversation),
            model: banner.model.clone(),
            mode,
            composer: Composer::with_history(history),
            out: Vec::new(),
            stream: MdStream::default(),
            stream_otid: None,
            reasoning: String::new(),
            running: Vec::new(),
            collapsed: None,
            server: Default::default(),
            queued: Vec::new(),
            approval: None,
            parked: None,
            busy_since: None,
            tokens_in: 0,
            tokens_out: 0,
            live_bytes: 0,
            steps: 0,
            last_ctrl_c: None,
            last_esc: None,
            retry: None,
            notice: None,
            mcp: None,
            subagents: Default::default(),
            subagents_expanded: false,
            popup_sel: 0,
            files: Arc::new(Vec::new()),
            errors_this_turn: 0,
            transcript: Default::default(),
        };
        v.out.extend(cells::banner(banner, width as usize));
        v
    }

    fn w(&self) -> usize {
        self.width.max(10) as usize
    }

    /// Lines waiting to go into scrollback.
    pub fn take_history(&mut self) -> Vec<Line<'static>> {
        std::mem::take(&mut self.out)
    }

    /// Put lines back at the front of the scrollback queue (a write failed).
    pub fn unshift_history(&mut self, mut lines: Vec<Line<'static>>) {
        lines.append(&mut self.out);
        self.out = lines;
    }

    pub fn set_files(&mut self, files: Arc<Vec<String>>) {
        self.files = files;
    }

    pub fn is_busy(&self) -> bool {
        self.busy_since.is_some()
    }

    /// Show lines in the transcript (command output, notices).
    pub fn push_lines(&mut self, lines: Vec<Line<'static>>) {
        self.flush_streams();
        self.out.extend(lines);
    }

    /// The agent or model in use changed (a switch, /model).
    pub fn set_agent(&mut self, agent: Option<String>, model: Option<String>) {
        if let Some(a) = agent {
            self.agent = a;
        }
        if let Some(m) = model {
            self.model = m;
        }
    }

    /// The conversation in use is now called `label`.
    pub fn set_conversation(&mut self, label: &str) {
        self.conversation = label.to_string();
    }

    /// The agent's name without its id.
    pub fn agent_name(&self) -> &str {
        self.agent.split(" (").next().unwrap_or(&self.agent)
    }

    /// Tokens out, with an estimate for what is streaming (about four bytes a token) until
    /// the step's usage comes.
    pub fn tokens_out_live(&self) -> u64 {
        self.tokens_out + self.live_bytes / 4
    }

    /// The conversation's title or short id.
    pub fn conversation(&self) -> &str {
        &self.conversation
    }

    /// Put `text` in the input, to edit and send.
    pub fn set_draft(&mut self, text: &str) {
        self.composer.set_text(text);
    }

    /// A turn that answers calls left waiting starts (no user message).
    pub fn begin_pending(&mut self) {
        let w = self.w();
        self.out.extend(cells::info(
            "This conversation was waiting for an answer:",
            w,
        ));
        self.busy_since = Some(Instant::now());
        self.errors_this_turn = 0;
    }

    /// A turn for `text` starts.
    pub fn begin_turn(&mut self, text: &str) {
        let lines = cells::user(&self.composer.collapse(text), self.w());
        self.out.extend(lines);
        self.busy_since = Some(Instant::now());
        self.errors_this_turn = 0;
    }

    /// Commit what is streaming (a new message, a tool, or the end of the turn).
    fn flush_streams(&mut self) {
        let w = self.w();
        if !self.reasoning.trim().is_empty() {
            let r = std::mem::take(&mut self.reasoning);
            self.out.extend(cells::reasoning(&r, false, w));
            if r.trim().lines().count() > cells::COLLAPSED_LINES {
                self.collapsed = Some(Collapsed::Reasoning(r));
            }
        }
        self.reasoning.clear();
        if !self.stream.is_empty() {
            let lines = self.stream.finish(w, self.light);
            self.out.extend(lines);
            self.out.push(Line::default());
            self.stream = MdStream::default();
        }
        self.stream_otid = None;
    }

    /// A turn event from the driver.
    pub fn turn_event(&mut self, ev: TurnEvent) {
        let w = self.w();
        if !matches!(ev, TurnEvent::Chunk(_)) {
            // Something came after the retry: the call went through.
            self.retry = None;
        }
        match ev {
            TurnEvent::Assistant { otid, delta } => {
                if !self.reasoning.is_empty()
                    || self.stream_otid.as_ref().is_some_and(|o| *o != otid)
                {
                    self.flush_streams();
                }
                self.stream_otid = Some(otid);
                self.live_bytes += delta.len() as u64;
                let delta = crate::ui::safe_text::neutralise(&delta);
                let lines = self.stream.push(&delta, w, self.light);
                self.out.extend(lines);
            }
            TurnEvent::Reasoning { delta, .. } => {
                if !self.stream.is_empty() {
                    self.flush_streams();
                }
                self.live_bytes += delta.len() as u64;
                self.reasoning.push_str(&delta);
            }
            TurnEvent::Chunk(c) => {
                if let Some(n) = crate::protocol::retry::retry_note(&c) {
                    self.retry = Some(crate::ui::safe_text::neutralise(&n));
                }
                if let LettaMessage::Usage(u) = c.as_ref() {
                    self.tokens_in += u.prompt_tokens;
                    // A run cut short may report no tokens: the estimate of what streamed stands.
                    self.tokens_out += if u.completion_tokens == 0 {
                        self.live_bytes / 4
                    } else {
                        u.completion_tokens
                    };
                    self.live_bytes = 0;
                    self.steps += u.step_count;
                }
                if let Some((lines, call, output)) = self.server.chunk(&c, &self.cwd, w) {
                    self.flush_streams();
                    self.out.extend(lines);
                    self.collapsed = Some(Collapsed::Tool(call, output));
                }
            }
            TurnEvent::AutoApproved { .. } => {}
            TurnEvent::Denied { call, reason } => {
                self.flush_streams();
                let red = Style::default().fg(Color::Red);
                self.out.push(cells::marked_header(
                    &call,
                    &self.cwd,
                    w,
                    Color::Red,
                    Some(("  Denied".into(), red.add_modifier(Modifier::BOLD))),
                ));
                self.out.extend(wrap::wrap(
                    vec![Span::styled(
                        crate::ui::safe_text::neutralise(&reason),
                        Style::default().fg(Color::Red),
                    )],
                    w,
                    vec![Span::styled(
                        "  ⎿  ",
                        Style::default().add_modifier(Modifier::DIM),
                    )],
                    vec![Span::raw("     ")],
                ));
                self.out.push(Line::default());
            }
            TurnEvent::ToolStarted { call } => {
                self.flush_streams();
                self.running.push((call, Instant::now()));
            }
            TurnEvent::ToolFinished { call, output, .. } => {
                self.flush_streams();
                self.running.retain(|(c, _)| c.id != call.id);
                self.subagents.remove(&call.id);
                let lines = cells::call_result(&call, &output, false, &self.cwd, w);
                self.out.extend(lines);
                self.collapsed = Some(Collapsed::Tool(call, output));
            }
            TurnEvent::Error { message } => {
                self.flush_streams();
                self.errors_this_turn += 1;
                self.out.extend(cells::error(&message, w));
            }
            TurnEvent::Mode(m) => self.mode = m,
            TurnEvent::Subagent {
                parent,
                label,
                event,
            } => {
                let cwd = self.cwd.clone();
                self.subagents
                    .entry(parent.id)
                    .or_insert_with(|| super::subagents::Sub::new(label))
                    .saw(&event, &cwd);
            }
            TurnEvent::Waiting { message } | TurnEvent::Note { message } => {
                self.flush_streams();
                self.out.extend(cells::info(&message, w));
            }
        }
    }

    /// Whether subagents are running (Ctrl+O then shows what they do).
    pub fn has_subagents(&self) -> bool {
        !self.subagents.is_empty()
    }

    /// Show or hide what each running subagent did so far.
    pub fn toggle_subagents(&mut self) {
        self.subagents_expanded = !self.subagents_expanded;
    }

    /// The turn ended; returns the queued input to send next, if any.
    pub fn end_turn(&mut self, result: Result<TurnResult, String>) -> Option<String> {
        self.flush_streams();
        self.running.clear();
        self.approval = None;
        self.parked = None;
        self.busy_since = None;
        self.retry = None;
        // No usage came (an interrupted step): the estimate stands.
        self.tokens_out += std::mem::take(&mut self.live_bytes) / 4;
        let w = self.w();
        match result {
            Ok(r) if r.interrupted => self.out.extend(cells::error(
                "Interrupted · tell letta what to do instead",
                w,
            )),
            Ok(r) if r.is_error() && self.errors_this_turn == 0 => {
                let why = r
                    .errors
                    .first()
                    .cloned()
                    .or_else(|| {
                        r.stop_reason
                            .map(|s| format!("the turn stopped: {}", s.as_str()))
                    })
                    .unwrap_or_else(|| "the turn failed".into());
                self.out.extend(cells::error(&why, w));
            }
            Ok(_) => {}
            Err(e) => self.out.extend(cells::error(&e, w)),
        }
        if self.queued.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.queued).join("\n\n"))
        }
    }

    /// Whether the input is completing a file name (the file list is then needed).
    pub fn wants_files(&self) -> bool {
        matches!(self.popup(), Some(Kind::File { .. }))
    }

    fn popup(&self) -> Option<Kind> {
        popup::kind(self.composer.text(), self.composer.cursor())
    }

    fn popup_rows(&self) -> Vec<(String, String)> {
        match self.popup() {
            Some(Kind::Command(q)) => crate::commands::table::matching(&q)
                .into_iter()
                .take(popup::MAX_ROWS)
                .map(|s| (format!("/{}", s.name), s.help.to_string()))
                .collect(),
            Some(Kind::File { query, .. }) => popup::files(&self.files, &query)
                .into_iter()
                .map(|f| (f, String::new()))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Put the selected popup row into the input; true if there was one.
    fn complete(&mut self) -> bool {
        let rows = self.popup_rows();
        let Some((pick, _)) = rows
            .get(self.popup_sel.min(rows.len().saturating_sub(1)))
            .cloned()
        else {
            return false;
        };
        match self.popup() {
            Some(Kind::Command(_)) => self.composer.set_text(&pick),
            Some(Kind::File { at, .. }) => {
                let text = self.composer.text().to_string();
                let cur = self.composer.cursor();
                // A folder is left open for the rest of the path.
                let gap = if pick.ends_with('/') { "" } else { " " };
                let new = format!("{}@{pick}{gap}{}", &text[..at], &text[cur..]);
                self.composer.set_text(&new);
            }
            None => return false,
        }
        self.popup_sel = 0;
        true
    }

    /// A pasted text.
    pub fn paste(&mut self, s: &str) {
        if let Some(a) = &mut self.approval {
            for c in s.chars() {
                a.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
            }
            return;
        }
        self.composer.paste(s);
    }

    fn expand_last(&mut self) {
        let w = self.w();
        let lines = match &self.collapsed {
            Some(Collapsed::Tool(call, output)) => {
                cells::call_result(call, output, true, &self.cwd, w)
            }
            Some(Collapsed::Reasoning(r)) => cells::reasoning(r, true, w),
            None => return,
        };
        self.collapsed = None;
        self.push_lines(lines);
    }
}

mod command;
mod draw;
mod keys;
