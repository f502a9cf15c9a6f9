//! letta: a terminal coding agent with stateful agents and parallel conversations.

pub mod app;
pub mod backend;
pub mod commands;
pub mod connect;
pub mod llm;
pub mod local;
pub mod permissions;
pub mod protocol;
pub mod remote;
pub mod server;
pub mod session;
pub mod settings;
pub mod tools;
pub mod turn;
pub mod ui;
