//! A typed `/…` line in the chat: local commands answered at once, viewers opened, the rest
//! handed to the app as an [`Action`].

use super::{Action, ChatView, cells};

impl ChatView {
    pub(super) fn command(&mut self, line: &str) -> Vec<Action> {
        use crate::commands::{Cmd, Local, Parsed, parse};
        use crate::ui::tui::overlay::Open;
        let w = self.w();
        let parsed = parse(line).or_else(|e| {
            crate::skills::invocation(&self.cwd, line)
                .map(Parsed::Send)
                .ok_or(e)
        });
        match parsed {
            Ok(Parsed::Local(Local::Exit)) => return vec![Action::Exit],
            Ok(Parsed::Local(Local::Usage)) => {
                let text = format!(
                    "This session: {} tokens in, {} tokens out, {} steps",
                    self.tokens_in, self.tokens_out, self.steps
                );
                self.push_lines(cells::info(&text, w));
            }
            Ok(Parsed::Local(Local::Help)) => return vec![Action::Open(Open::Help)],
            Ok(Parsed::Send(text)) if self.is_busy() => self.queued.push(text),
            Ok(Parsed::Send(text)) => return vec![Action::Send(text)],
            // Viewers open at once, even while a turn runs.
            Ok(Parsed::Backend(Cmd::Resume(None))) => return vec![Action::Open(Open::Resume)],
            Ok(Parsed::Backend(Cmd::Memory)) => return vec![Action::Open(Open::Memory)],
            Ok(Parsed::Backend(Cmd::Agents)) => return vec![Action::Open(Open::Agents)],
            Ok(Parsed::Backend(Cmd::Model(None))) => return vec![Action::Open(Open::Models)],
            Ok(Parsed::Backend(Cmd::ForkPick)) => return vec![Action::Open(Open::ForkPoints)],
            Ok(Parsed::Backend(Cmd::Search(q))) => return vec![Action::Open(Open::Search(q))],
            Ok(Parsed::Backend(cmd)) => return vec![Action::Command(cmd)],
            Err(e) => self.push_lines(cells::error(&e, w)),
        }
        Vec::new()
    }
}
