//! The one table of slash commands. It drives the chat view's popup, `/help`, the plain REPL's
//! tab completion, and which commands wait for a running turn.

/// One slash command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    pub name: &'static str,
    /// Other names it answers to.
    pub aliases: &'static [&'static str],
    /// What it does, with its arguments, as the popup and `/help` show it.
    pub help: &'static str,
    /// It may run while a turn runs; otherwise it waits for the turn to end.
    pub during_turn: bool,
}

const fn spec(name: &'static str, help: &'static str, during_turn: bool) -> Spec {
    Spec {
        name,
        aliases: &[],
        help,
        during_turn,
    }
}

/// Every slash command, in the order the popup lists them.
pub const TABLE: &[Spec] = &[
    spec("help", "All commands and keys", true),
    spec(
        "new",
        "New conversation with the same agent and memory: /new [title]",
        false,
    ),
    spec(
        "fork",
        "Branch before a message you pick; /fork --all [title] copies it all",
        false,
    ),
    spec(
        "resume",
        "Browse conversations and switch: /resume [ID]",
        false,
    ),
    spec(
        "tree",
        "This agent's conversations as a tree of forks",
        true,
    ),
    spec(
        "export",
        "Save this conversation as Markdown (or .json): /export [path]",
        true,
    ),
    spec(
        "clear",
        "Start a fresh conversation (the old one stays in /resume)",
        false,
    ),
    spec(
        "rename",
        "/rename convo [TITLE] (none: from the talk) or /rename agent NAME",
        false,
    ),
    spec("model", "Choose the model: /model [handle]", false),
    spec("agents", "Browse agents: switch, create, pin, delete", true),
    spec(
        "search",
        "Search all of this agent's conversations: /search QUERY",
        true,
    ),
    spec(
        "remember",
        "Ask the agent to store something in memory: /remember [text]",
        false,
    ),
    spec("memory", "View and edit the agent's memory blocks", true),
    spec(
        "init",
        "Study this project into the project memory block; --agents-md also writes AGENTS.md",
        false,
    ),
    spec(
        "compact",
        "Summarise this conversation's older messages now",
        false,
    ),
    spec("context", "How the context window is used", false),
    spec(
        "mcp",
        "MCP servers: status and tools; /mcp reconnect NAME",
        true,
    ),
    spec("hooks", "The hooks configured, with their files", true),
    spec(
        "skills",
        "Skills the agent can load, with their source; /NAME runs one",
        true,
    ),
    spec(
        "subagents",
        "Subagent types for the Task tool, built in and from .letta/agents/",
        true,
    ),
    spec(
        "permissions",
        "The permission mode and rules in force, with their sources",
        true,
    ),
    spec("usage", "Tokens and steps this session", true),
    Spec {
        name: "exit",
        aliases: &["quit"],
        help: "Exit, with the resume summary",
        during_turn: true,
    },
];

/// The command called `name` (or one of its aliases).
pub fn find(name: &str) -> Option<&'static Spec> {
    TABLE
        .iter()
        .find(|s| s.name == name || s.aliases.contains(&name))
}

/// Commands whose name starts with what was typed, in table order.
pub fn matching(prefix: &str) -> Vec<&'static Spec> {
    TABLE
        .iter()
        .filter(|s| s.name.starts_with(prefix))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found_by_alias() {
        let mut names: Vec<&str> = TABLE.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLE.len());
        assert_eq!(find("quit").map(|s| s.name), Some("exit"));
        assert_eq!(
            matching("re").iter().map(|s| s.name).collect::<Vec<_>>(),
            ["resume", "rename", "remember"]
        );
    }
}
