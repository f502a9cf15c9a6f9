//! Keys in the chat view: Ctrl-C and Esc, the approval prompt, the popup, then the input.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Action, ChatView};
use crate::ui::tui::composer::Edit;
use crate::ui::tui::popup::Kind;

impl ChatView {
    /// Handle a key.
    pub fn key(&mut self, k: KeyEvent) -> Vec<Action> {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if !(ctrl && k.code == KeyCode::Char('c')) {
            self.notice = None;
        }
        if ctrl && k.code == KeyCode::Char('c') {
            if self.is_busy() {
                self.approval = None;
                self.parked = None;
                return vec![Action::Interrupt];
            }
            if !self.composer.is_empty() {
                self.composer.clear();
                return Vec::new();
            }
            if self
                .last_ctrl_c
                .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
            {
                return vec![Action::Exit];
            }
            self.last_ctrl_c = Some(Instant::now());
            self.notice = Some("Press Ctrl-C again to exit".into());
            return Vec::new();
        }
        if k.code == KeyCode::Esc && self.esc_at_question() {
            return Vec::new();
        }
        if let Some(a) = &mut self.approval {
            if a.key(k) {
                self.approval = None;
            }
            return Vec::new();
        }
        match k.code {
            KeyCode::Char('d') if ctrl && self.composer.is_empty() && !self.is_busy() => {
                return vec![Action::Exit];
            }
            KeyCode::Char('z') if ctrl => return vec![Action::Suspend],
            KeyCode::Char('l') if ctrl => return vec![Action::Redraw],
            KeyCode::Char('o') if ctrl => {
                if self.has_subagents() {
                    self.toggle_subagents();
                } else {
                    self.expand_last();
                }
                return Vec::new();
            }
            KeyCode::BackTab => {
                self.mode = self.mode.next();
                return vec![Action::Mode(self.mode)];
            }
            KeyCode::Esc => {
                if self.is_busy() {
                    return vec![Action::Interrupt];
                }
                if self.popup().is_some() {
                    self.composer.clear();
                    return Vec::new();
                }
                // Esc twice on an empty input: branch from an earlier message.
                if self.composer.is_empty() {
                    if self
                        .last_esc
                        .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
                    {
                        self.last_esc = None;
                        return vec![Action::Open(crate::ui::tui::overlay::Open::ForkPoints)];
                    }
                    self.last_esc = Some(Instant::now());
                    self.notice = Some("Press Esc again to branch from an earlier message".into());
                }
                return Vec::new();
            }
            _ => {}
        }
        let rows = self.popup_rows().len();
        if rows > 0 {
            match k.code {
                KeyCode::Up => {
                    self.popup_sel = self.popup_sel.saturating_sub(1);
                    return Vec::new();
                }
                KeyCode::Down => {
                    self.popup_sel = (self.popup_sel + 1).min(rows - 1);
                    return Vec::new();
                }
                KeyCode::Tab => {
                    self.complete();
                    return Vec::new();
                }
                KeyCode::Enter if matches!(self.popup(), Some(Kind::File { .. })) => {
                    // A folder opens for the next part of the path; a file is taken, and
                    // Enter goes on to send.
                    let rows = self.popup_rows();
                    let folder = rows
                        .get(self.popup_sel.min(rows.len() - 1))
                        .is_some_and(|(p, _)| p.ends_with('/'));
                    self.complete();
                    if folder {
                        return Vec::new();
                    }
                }
                KeyCode::Enter => {
                    // A partly typed command runs as the selected one.
                    self.complete();
                }
                _ => self.popup_sel = 0,
            }
        }
        match self.composer.key(k) {
            Edit::Submit(text) => self.submit(text),
            _ => Vec::new(),
        }
    }

    /// Esc at a question hands the focus back to the input, as Letta Code does: the call is
    /// denied with whatever is typed next as the reason (Enter), or as it is (Esc again, on an
    /// empty input). True when Esc was taken for that.
    fn esc_at_question(&mut self) -> bool {
        if self.approval.as_ref().is_some_and(|a| !a.is_typing()) {
            self.parked = self.approval.take();
            return true;
        }
        if self.parked.is_none() {
            return false;
        }
        if self.composer.is_empty() {
            if let Some(p) = self.parked.take() {
                p.deny(None);
            }
        } else {
            self.composer.clear();
        }
        true
    }

    fn submit(&mut self, text: String) -> Vec<Action> {
        if text.trim().is_empty() {
            return Vec::new();
        }
        if let Some(p) = self.parked.take() {
            // The reason for the denial, not a message of its own.
            self.composer.clear();
            p.deny(Some(text));
            return Vec::new();
        }
        let typed = self.composer.text().to_string();
        let new = self.composer.remember(&typed);
        self.composer.clear();
        let mut acts = Vec::new();
        if new {
            // The file gets the text itself: a placeholder means nothing to a later session.
            acts.push(Action::Remember(text.clone()));
        }
        if crate::commands::is_bare_exit(&text) {
            acts.push(Action::Exit);
        } else if let Some(cmd) = text.strip_prefix('!') {
            acts.push(Action::Bash(cmd.trim().to_string()));
        } else if let Some(cmd) = text.strip_prefix('/') {
            acts.extend(self.command(cmd.trim()));
        } else if self.is_busy() {
            self.queued.push(text);
        } else {
            acts.push(Action::Send(text));
        }
        acts
    }
}
