//! Fork lineage for a Letta server, which keeps none: each fork made from this machine is
//! recorded in a small file beside the store, and filled into the conversations the server
//! returns, so the tree and "forked from" look the same on both backends.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::protocol::Conversation;

/// Where a fork came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Entry {
    parent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message_id: Option<String>,
}

/// Server base URL → conversation id → its lineage.
type Forks = BTreeMap<String, BTreeMap<String, Entry>>;

/// The lineage file, for one server.
#[derive(Debug, Clone)]
pub struct Lineage {
    path: PathBuf,
    server: String,
}

impl Lineage {
    /// Lineage for the server at `server`, kept in `path`.
    pub fn new(path: PathBuf, server: &str) -> Self {
        Self {
            path,
            server: server.to_string(),
        }
    }

    /// Remember that `child` was forked from `parent` (at `message_id`) and fill it in.
    pub fn record(&self, child: &mut Conversation, parent: &str, message_id: Option<&str>) {
        if child.parent_conversation_id.is_none() {
            child.parent_conversation_id = Some(parent.to_string());
            child.fork_message_id = message_id.map(str::to_string);
        }
        let entry = Entry {
            parent: parent.to_string(),
            message_id: message_id.map(str::to_string),
        };
        // Lineage is a convenience: a failed write leaves the fork itself intact.
        let _ = crate::settings::update(&self.path, Some(0o600), |f: &mut Forks| {
            f.entry(self.server.clone())
                .or_default()
                .insert(child.id.clone(), entry);
            Ok(())
        });
    }

    /// Fill in what the server left out, for conversations forked from here.
    pub fn fill(&self, convs: &mut [Conversation]) {
        if convs.iter().all(|c| c.parent_conversation_id.is_some()) {
            return;
        }
        let Ok(all) = crate::settings::load_json::<Forks>(&self.path) else {
            return;
        };
        let Some(mine) = all.get(&self.server) else {
            return;
        };
        for c in convs
            .iter_mut()
            .filter(|c| c.parent_conversation_id.is_none())
        {
            if let Some(e) = mine.get(&c.id) {
                c.parent_conversation_id = Some(e.parent.clone());
                c.fork_message_id = e.message_id.clone();
            }
        }
    }
}

impl super::RemoteClient {
    /// Remember forks in `path`, and show them as such in listings.
    #[must_use]
    pub fn with_lineage(mut self, path: PathBuf) -> Self {
        self.lineage = Some(Lineage::new(path, &self.base));
        self
    }

    pub(super) fn fill_lineage(&self, convs: &mut [Conversation]) {
        if let Some(l) = &self.lineage {
            l.fill(convs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_fills_per_server() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forks.json");
        let a = Lineage::new(path.clone(), "http://a");
        let mut child = Conversation {
            id: "conv-2".into(),
            ..Default::default()
        };
        a.record(&mut child, "conv-1", Some("message-9"));
        assert_eq!(child.parent_conversation_id.as_deref(), Some("conv-1"));
        let mut listed = vec![Conversation {
            id: "conv-2".into(),
            ..Default::default()
        }];
        a.fill(&mut listed);
        assert_eq!(listed[0].fork_message_id.as_deref(), Some("message-9"));
        let mut other = vec![Conversation {
            id: "conv-2".into(),
            ..Default::default()
        }];
        Lineage::new(path, "http://b").fill(&mut other);
        assert_eq!(other[0].parent_conversation_id, None);
    }
}
