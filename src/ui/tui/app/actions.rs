//! What the chat view and the viewers ask the app to do: [`Action`]s from keys in the chat,
//! [`Req`]uests from a viewer.

use std::time::Duration;

use super::{App, Event, SEARCH_PAUSE, Work};
use crate::commands::{self, Cmd};
use crate::ui::tui::overlay::{self, Fetch, Open, Req, screen::Shown};
use crate::ui::tui::view::Action;
use crate::ui::tui::{cells, history, log, term};

impl App {
    /// Do what a key in the chat asked for.
    pub(super) fn act(&mut self, a: Action) -> std::io::Result<()> {
        self.dirty = true;
        match a {
            Action::Send(text) => self.start_turn(Work::Text(text)),
            Action::Open(what) => self.open_viewer(what)?,
            Action::Bash(cmd) => self.bash(cmd),
            Action::Interrupt => {
                if let Some(c) = &self.cancel {
                    c.cancel();
                }
            }
            Action::Mode(m) => {
                if let Ok(mut c) = self.setup.checker.lock() {
                    c.mode = m;
                }
            }
            Action::Remember(text) => {
                if let Err(e) = history::append(&self.hist_file, &text) {
                    log(
                        &self.setup.data_dir,
                        &format!("saving input history failed: {e}"),
                    );
                }
            }
            Action::Suspend => self.suspend()?,
            Action::Redraw => {
                self.reflow_due = Some(std::time::Instant::now());
                self.dirty = true;
            }
            Action::Exit => self.exit = true,
            Action::Command(cmd) if self.view.is_busy() && cmd.waits_for_turn() => {
                let w = self.view.width as usize;
                self.view
                    .push_lines(cells::info("(runs when the turn ends)", w));
                self.deferred.push(cmd);
            }
            Action::Command(cmd) => self.spawn_command(cmd),
        }
        Ok(())
    }

    /// A `!` command, run as the user's own; its output comes back on the bus.
    fn bash(&mut self, cmd: String) {
        self.acted = true;
        let (tx, cwd, w) = (
            self.tx.clone(),
            self.setup.cwd.clone(),
            self.view.width as usize,
        );
        self.view.push_lines(cells::user(&format!("!{cmd}"), w));
        tokio::spawn(async move {
            let out = crate::tools::run_user_command(cwd, &cmd).await;
            let lines = if out.ok {
                cells::info(&out.text, w)
            } else {
                cells::error(&out.text, w)
            };
            let _ = tx.send(Event::BashDone(lines));
        });
    }

    /// Run a backend command off the UI task; its outcome comes back on the bus.
    pub(super) fn spawn_command(&mut self, cmd: Cmd) {
        self.acted = true;
        if let Some(p) = cmd.progress() {
            let w = self.view.width as usize;
            self.view.push_lines(cells::info(p, w));
            self.dirty = true;
        }
        let ctx = commands::Ctx {
            backend: self.setup.backend.clone(),
            session: self.session.clone(),
            checker: self.setup.checker.clone(),
            cwd: self.setup.cwd.clone(),
            mcp: self.setup.mcp.clone(),
            hooks: self.setup.hooks.clone(),
        };
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let _ = tx.send(Event::CommandDone(commands::run(cmd, ctx).await));
        });
    }

    /// Open a full-screen viewer and fetch what it shows.
    pub(super) fn open_viewer(&mut self, what: Open) -> std::io::Result<()> {
        let (s, reqs) = Shown::open(what, &self.session)?;
        self.shown = Some(s);
        for r in reqs {
            self.request(r);
        }
        Ok(())
    }

    /// Start the background work of a request that needs no waiting.
    pub(super) fn request(&mut self, r: Req) {
        match r {
            Req::Fetch(f) => {
                self.fetch(f, None);
            }
            Req::FetchLater(f) => {
                if let Some(d) = self.debounce.take() {
                    d.abort();
                }
                self.debounce = Some(self.fetch(f, Some(SEARCH_PAUSE)));
            }
            Req::Close => overlay::screen::close(&mut self.shown, &mut self.terminal),
            Req::Run(cmd) => {
                overlay::screen::close(&mut self.shown, &mut self.terminal);
                // Chosen in a viewer, it runs like a typed one.
                let _ = self.act(Action::Command(cmd));
            }
            Req::Edit { .. } => {}
        }
    }

    /// Handle what a viewer asked for; the editor needs the terminal, so it is awaited here.
    pub(super) async fn requests(&mut self, reqs: Vec<Req>) -> std::io::Result<()> {
        for r in reqs {
            self.dirty = true;
            self.urgent = true;
            match r {
                Req::Edit {
                    label,
                    value,
                    limit,
                } => self.edit(&label, &value, limit).await?,
                other => self.request(other),
            }
        }
        Ok(())
    }

    /// Fetch for the viewer, now or after `delay`; the answer comes back on the bus.
    fn fetch(&self, f: Fetch, delay: Option<Duration>) -> tokio::task::JoinHandle<()> {
        let env = overlay::Env {
            backend: self.setup.backend.clone(),
            session: self.session.clone(),
            settings_file: self.setup.settings_file.clone(),
        };
        let tx = self.tx.clone();
        tokio::spawn(async move {
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            let _ = tx.send(Event::Viewer(overlay::fetch(&env, f).await));
        })
    }

    /// Hand the terminal to `$EDITOR` for a memory block, then take it back.
    async fn edit(&mut self, label: &str, value: &str, limit: Option<u64>) -> std::io::Result<()> {
        term::leave_alternate();
        term::restore();
        self.input.pause();
        let r = overlay::screen::edit_block(
            self.setup.backend.as_ref(),
            &self.session.agent_id,
            &self.setup.data_dir,
            label,
            value,
            limit,
        )
        .await;
        self.input.resume();
        term::enable()?;
        term::enter_alternate()?;
        if let Some(s) = &mut self.shown {
            let _ = s.reset();
            s.overlay.notify(match r {
                Ok(m) => m,
                Err(e) => format!("✗ {e}"),
            });
            self.fetch(Fetch::Blocks, None);
        }
        Ok(())
    }
}
