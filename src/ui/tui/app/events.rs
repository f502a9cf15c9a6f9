//! One handler per kind of [`Event`].

use crossterm::event::{Event as Term, KeyEventKind};

use super::{App, Event, Work};
use crate::commands::Outcome;
use crate::ui::tui::view::Action;
use crate::ui::tui::{approval, log, outcome};

impl App {
    /// Route one event to its handler.
    pub(super) async fn handle(&mut self, ev: Event) -> std::io::Result<()> {
        match ev {
            Event::Input(ev) => self.on_input(ev).await?,
            Event::Turn(ev) => {
                self.view.turn_event(ev);
                // Coalesce whatever else has arrived into this frame, for at most half a
                // frame: keys and signals are answered between.
                let until = std::time::Instant::now() + super::FRAME / 2;
                while std::time::Instant::now() < until
                    && let Ok(ev) = self.turn_rx.try_recv()
                {
                    self.view.turn_event(ev);
                }
                self.dirty = true;
            }
            Event::TurnDone(r) => self.on_turn_done(r),
            Event::Approval {
                call,
                reason,
                rule,
                reply,
            } => {
                if let Some(s) = &mut self.shown {
                    s.overlay
                        .notify("The agent waits for your approval: esc to answer".into());
                }
                let w = self.view.width as usize;
                self.view.approval = Some(approval::Approval::new(
                    call,
                    reason,
                    rule,
                    &self.setup.cwd,
                    w,
                    reply,
                ));
                self.dirty = true;
            }
            Event::BashDone(lines) => self.push(lines),
            Event::CommandDone(out) => self.on_outcome(out),
            Event::Files(f) => self.view.set_files(f),
            Event::Mcp(summary) => {
                self.view.mcp = summary;
                self.dirty = true;
            }
            Event::Viewer(d) => {
                if let Some(s) = &mut self.shown {
                    let reqs = s.overlay.apply(d);
                    self.requests(reqs).await?;
                }
                self.dirty = true;
            }
            // Unless the user has moved on to another conversation meanwhile.
            // Shown, not remembered again: another letta may have opened a conversation in
            // this project since, and it is the last one now.
            Event::Resumed(out) => {
                if let Outcome::Switch(sw) = &out
                    && sw.session == self.session
                    && !self.acted
                {
                    let w = self.view.width as usize;
                    let lines = outcome::lines(&out, &self.setup.cwd, w, self.view.light);
                    self.push(lines);
                    self.view.set_conversation(&sw.place.label);
                    self.retitle();
                    if !sw.pending.is_empty() && !self.view.is_busy() {
                        self.start_turn(Work::Pending(sw.pending.clone()));
                    }
                    self.dirty = true;
                }
            }
            Event::SizeCheck => self.on_size_check(),
            Event::Quit => self.act(Action::Exit)?,
            Event::Tick => self.dirty = true,
        }
        Ok(())
    }

    fn push(&mut self, lines: Vec<ratatui::text::Line<'static>>) {
        self.view.push_lines(lines);
        self.dirty = true;
    }

    async fn on_input(&mut self, ev: Option<std::io::Result<Term>>) -> std::io::Result<()> {
        match ev {
            Some(Ok(Term::Key(k))) if k.kind != KeyEventKind::Release => {
                self.dirty = true;
                self.urgent = true;
                if let Some(s) = &mut self.shown {
                    let reqs = s.overlay.key(k);
                    self.requests(reqs).await?;
                } else {
                    for a in self.view.key(k) {
                        self.act(a)?;
                    }
                    self.want_files();
                }
            }
            Some(Ok(Term::Paste(s))) if self.shown.is_none() => {
                self.view.paste(&s);
                self.want_files();
                self.dirty = true;
                self.urgent = true;
            }
            Some(Ok(Term::Resize(c, r))) => self.resized((c, r)),
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                log(&self.setup.data_dir, &format!("terminal input failed: {e}"));
                self.act(Action::Exit)?;
            }
            None => self.act(Action::Exit)?,
        }
        Ok(())
    }

    fn on_turn_done(&mut self, r: Result<crate::turn::TurnResult, String>) {
        while let Ok(ev) = self.turn_rx.try_recv() {
            self.view.turn_event(ev);
        }
        // A long reply's events and renders are freed now: give the memory back.
        crate::local::give_back_memory();
        self.cancel = None;
        self.turn_task = None;
        self.dirty = true;
        if let Some(next) = self.view.end_turn(r) {
            self.start_turn(Work::Text(next));
        } else {
            for cmd in std::mem::take(&mut self.deferred) {
                self.spawn_command(cmd);
            }
        }
    }

    /// A command's outcome: drawn, and a switch moves the session on.
    fn on_outcome(&mut self, out: Outcome) {
        let w = self.view.width as usize;
        let lines = outcome::lines(&out, &self.setup.cwd, w, self.view.light);
        self.push(lines);
        match out {
            Outcome::ModelSet { handle, .. } => {
                self.opts.override_model = None;
                self.view.set_agent(None, Some(handle));
            }
            Outcome::ConversationRenamed(t) => {
                self.view
                    .set_conversation(&crate::session::place::one_line(&t, 40));
                self.retitle();
            }
            Outcome::AgentRenamed { name, id } => {
                self.view.set_agent(Some(format!("{name} ({id})")), None);
                self.retitle();
            }
            Outcome::Switch(sw) => {
                let sw = *sw;
                // Remembered off the UI task: the settings lock may be held by another letta.
                let (store, next, dir) = (
                    self.setup.store.clone(),
                    sw.session.clone(),
                    self.setup.data_dir.clone(),
                );
                tokio::spawn(async move {
                    if let Err(e) = store.persist_async(next).await {
                        log(&dir, &format!("remembering the session failed: {e}"));
                    }
                });
                self.session = sw.session;
                if let Some(a) = sw.agent {
                    self.opts.override_model = None;
                    self.view.set_agent(Some(a.label), a.model);
                }
                self.view.set_conversation(&sw.place.label);
                if let Some(d) = &sw.draft {
                    self.view.set_draft(d);
                }
                self.retitle();
                if !sw.pending.is_empty() && !self.view.is_busy() {
                    self.start_turn(Work::Pending(sw.pending));
                }
            }
            _ => {}
        }
    }

    /// The window title: agent and conversation.
    pub(super) fn retitle(&self) {
        crate::ui::tui::term::set_title(&format!(
            "letta · {} · {}",
            self.view.agent_name(),
            self.view.conversation()
        ));
    }

    fn on_size_check(&mut self) {
        if let Ok(size) = crossterm::terminal::size()
            && size != self.last_size
        {
            self.resized(size);
        }
    }
}
