//! letta: a terminal coding agent with stateful agents and parallel conversations.
//!
//! The library holds everything; `main.rs` only parses flags and dispatches. See
//! `shared/design.md` for the map of parts.

pub mod app;
pub mod backend;
pub mod cli;
pub mod config;
pub mod connect;
pub mod fsutil;
pub mod headless;
pub mod llm;
pub mod local;
pub mod local_model;
pub mod paths;
pub mod permissions;
pub mod plain;
pub mod protocol;
pub mod remote;
pub mod safe_text;
pub mod server;
pub mod session;
pub mod settings;
pub mod sse;
pub mod startup;
pub mod tools;
pub mod tui;
pub mod turn;
