//! Commands the sandbox stops: asked before running when it certainly would (a literal write
//! outside the project), and offered again outside it when a sandboxed run failed the way the
//! sandbox makes commands fail. "Don't ask again" saves exactly that command, nothing wider.

use tokio_util::sync::CancellationToken;

use super::{ApprovalAnswer, INTERRUPTED, ToolCallInfo, TurnDriver};
use crate::settings::{ProjectSettings, project_local_file};
use crate::tools::ToolOutput;

impl TurnDriver {
    /// The command of a call and why the sandbox would certainly block it.
    pub(super) fn escape_of(&self, call: &ToolCallInfo) -> Option<(String, String)> {
        let cmd = self
            .registry
            .access(&self.tools, &call.name, &call.args())
            .command?;
        let why = self.tools.predicted_escape(&cmd)?;
        Some((cmd, why))
    }

    /// After the sandbox stopped a command: ask to run it outside; run it again if allowed.
    pub(super) async fn escalate(
        &self,
        call: &ToolCallInfo,
        out: ToolOutput,
        why: &str,
        cancel: &CancellationToken,
    ) -> ToolOutput {
        let Some(cmd) = self
            .registry
            .access(&self.tools, &call.name, &call.args())
            .command
        else {
            return out;
        };
        let question = format!("it failed inside the sandbox ({why}); run it again outside?");
        let rule = format!("run `{cmd}` outside the sandbox");
        let answer = tokio::select! {
            a = self.approver.ask(call, &question, &rule) => a,
            () = cancel.cancelled() => ApprovalAnswer::No { reason: Some(INTERRUPTED.into()) },
        };
        match answer {
            ApprovalAnswer::No { reason } => {
                let mut out = out;
                out.text.push_str(&format!(
                    "\n[the sandbox stopped this command: {why}. It was not run outside the sandbox{}]",
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                ));
                out
            }
            ApprovalAnswer::Yes | ApprovalAnswer::YesWith(_) | ApprovalAnswer::YesInMode(_) => {
                self.tools.escalate(&cmd);
                self.rerun(call, cancel).await
            }
            ApprovalAnswer::YesAlways(_) => {
                self.tools.escalate(&cmd);
                // Saved for this project; a failure to save still lets it run now.
                let (file, saved) = (project_local_file(&self.project_dir), cmd.clone());
                let _ = tokio::task::spawn_blocking(move || {
                    // The user's choice: a background command's watch must not undo it.
                    crate::tools::own_write(|| {
                        ProjectSettings::update(&file, |p| {
                            let s = p.sandbox.get_or_insert_with(Default::default);
                            if !s.excluded_commands.contains(&saved) {
                                s.excluded_commands.push(saved);
                            }
                            Ok(())
                        })
                    })
                })
                .await;
                self.rerun(call, cancel).await
            }
        }
    }

    async fn rerun(&self, call: &ToolCallInfo, cancel: &CancellationToken) -> ToolOutput {
        self.registry
            .run(&self.tools, &call.name, &call.arguments, cancel)
            .await
    }
}
