//! letta: a terminal coding agent with stateful agents and parallel conversations.
//!
//! The crate is layered. Each numbered line is a layer, lowest first; `a → b` means `b` may use
//! `a`, and folders listed together after one arrow (`a, b`) never use each other:
//!
//! 1. `protocol` → `settings`: the Letta REST API's wire types and SSE; settings files, paths,
//!    which backend, and the one settings write path.
//! 2. `llm`: model providers (OpenAI-compatible, Anthropic), their catalogue, the offline model.
//! 3. `backend` → `local`, `remote`: the Backend trait; the embedded engine (SQLite store on
//!    its own thread, agent loop); the Letta REST client.
//! 4. `shell` → `sandbox` → `tools` → `mcp` → `skills` → `hooks` → `permissions` → `connect`: what
//!    a shell command would run (tree-sitter-bash); the OS sandbox for commands; the Tool trait
//!    and its registry; MCP servers as tools (rmcp); skills and the Skill tool; user hooks
//!    (Claude Code's contract); permission modes and rules; provider setup.
//! 5. `session` → `turn` → `subagents` → `commands`: which agent and conversation, and what is
//!    queried about them; one turn; subagents (the Task tool) as conversations of their own;
//!    the slash-command table and its outcomes as data.
//! 6. `ui` → `ui::tui`, `ui::plain`, `ui::headless`, `server`: the front ends (the chat view,
//!    the line REPL, one-shot mode) and `letta server`; `ui` itself holds what they share.
//! 7. `app`: clap types, dispatch, exit codes, printing for subcommands.
//!
//! The rule: a folder uses only the folders of lower layers and those before it in its own
//! layer. `tests/layers.rs` checks it, and that no file sits outside these folders.

pub mod app;
pub mod backend;
pub mod commands;
pub mod connect;
pub mod hooks;
pub mod llm;
pub mod local;
pub mod mcp;
pub mod permissions;
pub mod protocol;
pub mod remote;
pub mod sandbox;
pub mod server;
pub mod session;
pub mod settings;
pub mod shell;
pub mod skills;
pub mod subagents;
pub mod tools;
pub mod turn;
pub mod ui;
