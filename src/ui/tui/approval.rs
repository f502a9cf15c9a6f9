//! The inline approval prompt: "Run this command?", "Update <path>?" with the diff, and three
//! answers (yes; yes and don't ask again, with the rule; no, with what to do instead).

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use tokio::sync::oneshot;

use super::cells;
use crate::permissions::PermissionMode;
use crate::tools::Effect;
use crate::turn::{ApprovalAnswer, ToolCallInfo};
use crate::ui::safe_text::neutralise;

/// A question waiting for the user.
pub struct Approval {
    pub call: ToolCallInfo,
    pub rule: String,
    pub reason: String,
    question: String,
    preview: Vec<Line<'static>>,
    selected: usize,
    /// Typing the reason for "no".
    typing: Option<String>,
    /// A plan to approve (`ExitPlanMode`): the answers choose the mode to go on in.
    plan: bool,
    reply: Option<oneshot::Sender<ApprovalAnswer>>,
}

impl Approval {
    pub fn new(
        call: ToolCallInfo,
        reason: String,
        rule: String,
        cwd: &Path,
        width: usize,
        reply: oneshot::Sender<ApprovalAnswer>,
    ) -> Self {
        let view = crate::tools::describe(&call, cwd);
        let arg = neutralise(&view.arg);
        let (question, preview) = match &view.effect {
            Effect::Runs { command } => (
                "Run this command?".to_string(),
                vec![Line::from(Span::styled(
                    neutralise(command),
                    Style::default().fg(Color::Yellow),
                ))],
            ),
            Effect::Edits { .. } => (
                format!("Update {arg}?"),
                cells::preview(&view, cwd, width.saturating_sub(4)),
            ),
            Effect::Writes { .. } => (
                format!("Write {arg}?"),
                cells::preview(&view, cwd, width.saturating_sub(4)),
            ),
            Effect::Plan { plan } => (
                "Approve this plan and start?".to_string(),
                super::markdown::render(&neutralise(plan), width.saturating_sub(4), false),
            ),
            _ => (format!("Allow {}?", neutralise(&view.title())), Vec::new()),
        };
        let plan = matches!(view.effect, Effect::Plan { .. });
        // The model's own words for a command ("List the source files") say more than the
        // generic reason; a specific warning (a protected file, outside the project) stays,
        // with the model's words under it.
        let said = serde_json::from_str::<serde_json::Value>(&call.arguments)
            .ok()
            .and_then(|v| v.get("description")?.as_str().map(str::to_string))
            .map(|d| neutralise(d.trim()))
            .filter(|d| !d.is_empty() && matches!(view.effect, Effect::Runs { .. }));
        let mut preview = preview;
        let reason = match said {
            Some(d) if reason == crate::permissions::runs_a_command(&call.name) => d,
            Some(d) => {
                preview.push(Line::from(Span::styled(
                    format!("the model says: {d}"),
                    Style::default().add_modifier(Modifier::DIM),
                )));
                reason
            }
            None => reason,
        };
        Self {
            call,
            rule,
            reason,
            question,
            preview,
            selected: 0,
            typing: None,
            plan,
            reply: Some(reply),
        }
    }

    /// Whether the reason for a "no" is being typed (Esc then gives up on the reason).
    pub fn is_typing(&self) -> bool {
        self.typing.is_some()
    }

    /// Deny, with what the user typed (into the input, after Esc) as the reason.
    pub fn deny(mut self, reason: Option<String>) {
        self.answer(ApprovalAnswer::No {
            reason: reason.filter(|r| !r.trim().is_empty()),
        });
    }

    fn answer(&mut self, a: ApprovalAnswer) -> bool {
        if let Some(r) = self.reply.take() {
            let _ = r.send(a);
        }
        true
    }

    /// Handle a key; true when the question is answered.
    pub fn key(&mut self, k: KeyEvent) -> bool {
        if let Some(t) = &mut self.typing {
            match k.code {
                KeyCode::Enter => {
                    let reason = t.trim().to_string();
                    return self.answer(ApprovalAnswer::No {
                        reason: (!reason.is_empty()).then_some(reason),
                    });
                }
                KeyCode::Esc => return self.answer(ApprovalAnswer::No { reason: None }),
                KeyCode::Backspace => {
                    t.pop();
                }
                KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => t.push(c),
                _ => {}
            }
            return false;
        }
        match k.code {
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down => self.selected = (self.selected + 1).min(2),
            KeyCode::Char('1') => return self.pick(0),
            KeyCode::Char('2') => return self.pick(1),
            KeyCode::Char('3') => return self.pick(2),
            KeyCode::Enter => return self.pick(self.selected),
            // Esc (when no reason is being typed) is the view's: it sets the question aside.
            _ => {}
        }
        false
    }

    fn pick(&mut self, i: usize) -> bool {
        self.selected = i;
        match i {
            0 if self.plan => self.answer(ApprovalAnswer::YesInMode(PermissionMode::AcceptEdits)),
            1 if self.plan => self.answer(ApprovalAnswer::YesInMode(PermissionMode::Standard)),
            0 => self.answer(ApprovalAnswer::Yes),
            1 => {
                let rule = self.rule.clone();
                self.answer(ApprovalAnswer::YesAlways(rule))
            }
            _ => {
                self.typing = Some(String::new());
                false
            }
        }
    }

    /// The prompt's lines, the preview cut to leave room for the choices within `max`.
    pub fn lines(&self, width: usize, max: usize) -> Vec<Line<'static>> {
        let accent = Style::default().fg(Color::Yellow);
        let mut out = vec![Line::from(vec![
            Span::styled("? ", accent.add_modifier(Modifier::BOLD)),
            Span::styled(
                self.question.clone(),
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!("  ({})", self.reason),
                Style::default().add_modifier(Modifier::DIM),
            ),
        ])];
        let choices = if self.plan {
            [
                "Yes, and accept edits as they come".to_string(),
                "Yes, and ask before each edit".to_string(),
                "No, keep planning, and tell the agent what to change".to_string(),
            ]
        } else {
            [
                "Yes".to_string(),
                format!("Yes, and don't ask again for this project ({})", self.rule),
                "No, and tell the agent what to do differently".to_string(),
            ]
        };
        let room = max.saturating_sub(1 + choices.len() + 1);
        // Short of room, the changed lines go first: context is what is dropped.
        let changed = |l: &&Line<'static>| {
            l.spans
                .iter()
                .any(|s| matches!(s.style.fg, Some(Color::Red | Color::Green)))
        };
        let pool: Vec<&Line<'static>> = if self.preview.len() > room {
            self.preview.iter().filter(changed).collect()
        } else {
            self.preview.iter().collect()
        };
        let hidden = self.preview.len().saturating_sub(room.min(pool.len()));
        let shown = if pool.len() > room {
            room.saturating_sub(1)
        } else {
            pool.len()
        };
        for l in pool.iter().take(shown) {
            out.push(Line::from(
                [vec![Span::raw("  ")], l.spans.clone()].concat(),
            ));
        }
        if hidden > 0 {
            out.push(Line::from(Span::styled(
                format!("  … {} more lines", self.preview.len() - shown),
                Style::default().add_modifier(Modifier::DIM),
            )));
        }
        for (i, c) in choices.iter().enumerate() {
            out.push(cells::choice(i, i == self.selected, c, width));
        }
        if let Some(t) = &self.typing {
            out.push(Line::from(vec![
                Span::styled("  reason › ", Style::default().fg(Color::Cyan)),
                Span::raw(t.clone()),
            ]));
        } else {
            out.push(Line::from(Span::styled(
                "  ↑↓ or 1-3 to pick · enter to confirm · esc to deny and say why in the input",
                Style::default().add_modifier(Modifier::DIM),
            )));
        }
        out
    }
}

impl Drop for Approval {
    fn drop(&mut self) {
        // A prompt closed without an answer (exit, interrupt) denies.
        if let Some(r) = self.reply.take() {
            let _ = r.send(ApprovalAnswer::No { reason: None });
        }
    }
}
