//! Branching: the user messages a conversation can be forked before, and the tree the forks
//! make. The tree comes from each conversation's `parent_conversation_id`, which the engine
//! keeps and the remote client records for a Letta server.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::Session;
use super::place::{clock, label_of, one_line};
use super::query::{conversation_query, recent, text_of};
use crate::backend::{Backend, BackendError};
use crate::protocol::{Conversation, DEFAULT_CONVERSATION, LettaMessage};

/// Messages read to offer fork points.
const POINTS_READ: u32 = 300;
/// Conversations read to build the tree.
const TREE_MAX: usize = 2000;
/// Forks nested deeper than this are shown again from the left.
const MAX_DEPTH: usize = 100;

/// A user message to branch before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkPoint {
    pub message_id: String,
    /// The last message before it, which the fork keeps; `None` when nothing precedes it.
    pub before: Option<String>,
    /// What the user typed.
    pub text: String,
    pub date: Option<String>,
    /// The first line of the agent's reply.
    pub reply: String,
}

/// The conversation's user messages, newest first. After a compaction only what is still in
/// context can be branched from, so where the backend says what that is, the rest is left out.
pub async fn fork_points(b: &dyn Backend, s: &Session) -> Result<Vec<ForkPoint>, String> {
    let mut msgs = recent(b, &s.conversation_id, &s.agent_id, POINTS_READ).await?;
    let full = msgs.len() as u32 >= POINTS_READ;
    msgs.reverse();
    let mut found = points(&msgs, full);
    let in_context: Option<HashSet<String>> = if s.conversation_id == DEFAULT_CONVERSATION {
        None
    } else {
        b.get_conversation(&s.conversation_id)
            .await
            .ok()
            .and_then(|c| c.in_context_message_ids)
            .filter(|ids| !ids.is_empty())
            .map(|ids| ids.into_iter().collect())
    };
    if let Some(ids) = in_context {
        found.retain(|p| p.before.as_ref().is_none_or(|b| ids.contains(b)));
    }
    Ok(found)
}

/// Fork points of messages given oldest first; `cut` means older messages were not read, so
/// the oldest user message's predecessor is unknown and it is left out.
pub fn points(msgs: &[LettaMessage], cut: bool) -> Vec<ForkPoint> {
    let id = |m: &LettaMessage| m.common().and_then(|c| c.id.clone());
    let mut out = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        let Some((true, text)) = text_of(m) else {
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        let Some(message_id) = id(m) else { continue };
        let before = msgs[..i]
            .iter()
            .rev()
            .find_map(|p| id(p).filter(|pid| *pid != message_id));
        if before.is_none() && cut {
            continue;
        }
        let reply = msgs[i + 1..]
            .iter()
            .map_while(|r| match text_of(r) {
                Some((true, _)) => None,
                other => Some(other),
            })
            .flatten()
            .map(|(_, t)| t)
            .find(|t| !t.trim().is_empty())
            .map(|t| one_line(t.lines().find(|l| !l.trim().is_empty()).unwrap_or(""), 80))
            .unwrap_or_default();
        out.push(ForkPoint {
            message_id,
            before,
            text,
            date: m.common().and_then(|c| c.date.clone()),
            reply,
        });
    }
    out.reverse();
    out
}

/// One conversation in the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub id: String,
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_conversation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fork_message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_message_at: Option<String>,
    /// The conversation in use (set by [`mark_current`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub current: bool,
    pub children: Vec<Node>,
}

impl Node {
    fn of(c: &Conversation) -> Self {
        Self {
            id: c.id.clone(),
            title: c.summary.clone().filter(|t| !t.trim().is_empty()),
            parent_conversation_id: c.parent_conversation_id.clone(),
            fork_message_id: c.fork_message_id.clone(),
            created_at: c.created_at.clone(),
            last_message_at: c.last_message_at.clone(),
            current: false,
            children: Vec::new(),
        }
    }

    /// Its title or short id.
    pub fn label(&self) -> String {
        label_of(self.title.as_deref(), &self.id)
    }

    /// "forked at 10:42" for a branch, the time as `clock` shows it.
    pub fn fork_label(&self, clock: fn(&str) -> Option<String>) -> Option<String> {
        self.parent_conversation_id.as_ref()?;
        Some(match self.created_at.as_deref().and_then(clock) {
            Some(at) => format!("forked at {at}"),
            None => "forked".into(),
        })
    }

    /// The short id, shown beside a title (an untitled one is named by it already).
    pub fn id_note(&self) -> Option<String> {
        (self.id != DEFAULT_CONVERSATION && self.title.is_some())
            .then(|| super::place::short_id(&self.id))
    }
}

impl Mark {
    /// ● the current conversation, ○ one on the path to it.
    pub fn glyph(self) -> char {
        match self {
            Mark::Current => '●',
            Mark::Path => '○',
            Mark::None => ' ',
        }
    }
}

/// How far a row is indented for its depth in the tree.
pub fn indent(depth: usize) -> String {
    if depth == 0 {
        String::new()
    } else {
        format!("{}└─ ", "   ".repeat(depth - 1))
    }
}

/// Every conversation of the agent (up to a limit), most recently active first.
pub async fn all_conversations(
    b: &dyn Backend,
    agent_id: &str,
) -> Result<Vec<Conversation>, BackendError> {
    let mut all: Vec<Conversation> = Vec::new();
    let mut after = None;
    loop {
        let page = b
            .list_conversations(conversation_query(agent_id, None, after.clone(), 100))
            .await?;
        let n = page.len();
        let seen: HashSet<String> = all.iter().map(|c| c.id.clone()).collect();
        all.extend(page.into_iter().filter(|c| !seen.contains(&c.id)));
        if n < 100 || all.len() >= TREE_MAX || after.as_ref() == all.last().map(|c| &c.id) {
            break;
        }
        after = all.last().map(|c| c.id.clone());
    }
    Ok(all)
}

/// The forest: the default conversation first, then the other roots, newest first; a branch
/// whose parent is gone becomes a root, and so does one caught in a loop of parents (a
/// hand-edited file), so no conversation is ever left out.
pub fn tree(convs: &[Conversation]) -> Vec<Node> {
    let ids: HashSet<&str> = convs.iter().map(|c| c.id.as_str()).collect();
    let mut children: HashMap<String, Vec<&Conversation>> = HashMap::new();
    let mut roots = Vec::new();
    for c in convs {
        match c.parent_conversation_id.as_deref() {
            Some(p) if p != c.id && (p == DEFAULT_CONVERSATION || ids.contains(p)) => {
                children.entry(p.to_string()).or_default().push(c);
            }
            _ => roots.push(c),
        }
    }
    // Nesting stops at a depth no person forks to; deeper ones start again as roots.
    fn grow(
        c: &Conversation,
        children: &HashMap<String, Vec<&Conversation>>,
        seen: &mut HashSet<String>,
        depth: usize,
    ) -> Node {
        seen.insert(c.id.clone());
        let mut n = Node::of(c);
        if depth >= MAX_DEPTH {
            return n;
        }
        for k in children.get(&c.id).into_iter().flatten() {
            if !seen.contains(&k.id) {
                n.children.push(grow(k, children, seen, depth + 1));
            }
        }
        n
    }
    let default = Conversation {
        id: DEFAULT_CONVERSATION.into(),
        ..Default::default()
    };
    let mut seen = HashSet::new();
    let mut out = vec![grow(&default, &children, &mut seen, 0)];
    for c in roots {
        out.push(grow(c, &children, &mut seen, 0));
    }
    // What no root reached sits in a loop: it becomes a root where the loop is cut.
    for c in convs {
        if !seen.contains(&c.id) {
            out.push(grow(c, &children, &mut seen, 0));
        }
    }
    out
}

/// Mark the conversation `id` as the one in use.
pub fn mark_current(forest: &mut [Node], id: &str) {
    for n in forest {
        n.current = n.id == id;
        mark_current(&mut n.children, id);
    }
}

/// The tree as rows to draw: depth, node, and whether it is `current` or on the path to it.
pub fn rows<'a>(forest: &'a [Node], current: &str) -> Vec<(usize, &'a Node, Mark)> {
    fn path_to(n: &Node, current: &str, path: &mut Vec<String>) -> bool {
        path.push(n.id.clone());
        if n.id == current || n.children.iter().any(|c| path_to(c, current, path)) {
            return true;
        }
        path.pop();
        false
    }
    let mut path = Vec::new();
    for r in forest {
        if path_to(r, current, &mut path) {
            break;
        }
        path.clear();
    }
    fn walk<'a>(
        n: &'a Node,
        depth: usize,
        current: &str,
        path: &[String],
        out: &mut Vec<(usize, &'a Node, Mark)>,
    ) {
        let mark = if n.id == current {
            Mark::Current
        } else if path.contains(&n.id) {
            Mark::Path
        } else {
            Mark::None
        };
        out.push((depth, n, mark));
        for c in &n.children {
            walk(c, depth + 1, current, path, out);
        }
    }
    let mut out = Vec::new();
    for r in forest {
        walk(r, 0, current, &path, &mut out);
    }
    out
}

/// How a tree row relates to the conversation in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Current,
    /// An ancestor of the current one.
    Path,
    None,
}

/// The tree as text, for `/tree` and the plain REPL.
pub fn tree_text(forest: &[Node], current: &str) -> String {
    let mut t = String::new();
    for (depth, n, mark) in rows(forest, current) {
        let mut line = format!("{} {}{}", mark.glyph(), indent(depth), n.label());
        if let Some(id) = n.id_note() {
            line.push_str(&format!("  {id}"));
        }
        if let Some(f) = n.fork_label(clock) {
            line.push_str(&format!("  ({f})"));
        }
        if mark == Mark::Current {
            line.push_str("  ← you are here");
        }
        t.push_str(&line);
        t.push('\n');
    }
    t.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(v: serde_json::Value) -> Vec<LettaMessage> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn points_name_the_message_before() {
        let m = msgs(serde_json::json!([
            {"message_type":"system_message","id":"s","content":"sys"},
            {"message_type":"user_message","id":"u1","content":"first"},
            {"message_type":"reasoning_message","id":"a1","reasoning":"hm"},
            {"message_type":"assistant_message","id":"a1","content":"one\ntwo"},
            {"message_type":"user_message","id":"u2","content":"second"},
            {"message_type":"tool_call_message","id":"t2","tool_call":{"name":"Read","arguments":"{}","tool_call_id":"c"}},
            {"message_type":"tool_return_message","id":"r2","tool_return":"x","status":"success","tool_call_id":"c"},
            {"message_type":"assistant_message","id":"a2","content":"done"}
        ]));
        let p = points(&m, false);
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].message_id.as_str(), p[0].before.as_deref()),
            ("u2", Some("a1"))
        );
        assert_eq!(p[0].reply, "done");
        assert_eq!(
            (p[1].message_id.as_str(), p[1].before.as_deref()),
            ("u1", Some("s"))
        );
        assert_eq!(p[1].reply, "one");
        // Cut off from its predecessor, the oldest one is not offered.
        assert_eq!(points(&m[1..], true).len(), 1);
    }

    fn conv(id: &str, parent: Option<&str>, title: Option<&str>) -> Conversation {
        Conversation {
            id: id.into(),
            parent_conversation_id: parent.map(str::to_string),
            summary: title.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn a_loop_of_parents_loses_no_conversation() {
        let convs = vec![
            conv("conv-a", Some("conv-b"), None),
            conv("conv-b", Some("conv-a"), None),
            conv("conv-c", Some("conv-a"), None),
            conv("conv-self", Some("conv-self"), None),
        ];
        let forest = tree(&convs);
        let shown: HashSet<String> = rows(&forest, "default")
            .into_iter()
            .map(|(_, n, _)| n.id.clone())
            .collect();
        for c in &convs {
            assert!(shown.contains(&c.id), "{} is missing", c.id);
        }
        assert_eq!(shown.len(), convs.len() + 1);
    }

    #[test]
    fn tree_nests_and_marks_the_path() {
        let convs = vec![
            conv("conv-c", Some("conv-b"), Some("grandchild")),
            conv("conv-b", Some("default"), Some("child")),
            conv("conv-x", Some("conv-gone"), None),
            conv("conv-a", None, Some("alone")),
        ];
        let forest = tree(&convs);
        assert_eq!(forest.len(), 3);
        let text = tree_text(&forest, "conv-c");
        assert_eq!(
            text,
            "○ default\n○ └─ child  conv-b  (forked)\n●    └─ grandchild  conv-c  (forked)  ← you are here\n  conv-x  (forked)\n  alone  conv-a"
        );
    }
}
