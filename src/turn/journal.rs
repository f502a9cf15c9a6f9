//! Which tool calls started and did not finish. A call that started before letta stopped
//! (a crash, `kill -9`) may already have done its work: when the conversation offers it again,
//! it is never run again without asking, whatever the mode.
//!
//! One empty file per running call, created before the call runs and removed when it ends:
//! a crash leaves exactly the calls it interrupted.

use std::path::PathBuf;

/// The journal of this machine's tool calls.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    dir: Option<PathBuf>,
}

impl Journal {
    /// A journal kept in `data_dir/calls`.
    pub fn new(data_dir: &std::path::Path) -> Self {
        Self {
            dir: Some(data_dir.join("calls")),
        }
    }

    /// No journal (tests that do not crash).
    pub fn none() -> Self {
        Self { dir: None }
    }

    fn file(&self, call_id: &str) -> Option<PathBuf> {
        let safe: String = call_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(120)
            .collect();
        self.dir.as_ref().map(|d| d.join(safe))
    }

    /// The call is about to run.
    pub fn started(&self, call_id: &str) {
        if let Some(f) = self.file(call_id) {
            if let Some(d) = f.parent() {
                let _ = std::fs::create_dir_all(d);
            }
            let _ = std::fs::write(f, b"");
        }
    }

    /// The call ended (or was answered without running).
    pub fn finished(&self, call_id: &str) {
        if let Some(f) = self.file(call_id) {
            let _ = std::fs::remove_file(f);
        }
    }

    /// Whether the call started and never finished.
    pub fn interrupted(&self, call_id: &str) -> bool {
        self.file(call_id).is_some_and(|f| f.exists())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_call_stays_interrupted_until_finished() {
        let d = tempfile::tempdir().unwrap();
        let j = Journal::new(d.path());
        assert!(!j.interrupted("call/1"));
        j.started("call/1");
        assert!(j.interrupted("call/1") && !j.interrupted("call/2"));
        j.finished("call/1");
        assert!(!j.interrupted("call/1"));
        assert!(!Journal::none().interrupted("x"));
    }
}
