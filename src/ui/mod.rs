//! The front ends: the chat view, the plain REPL and headless mode.

pub mod headless;
pub mod plain;
pub mod safe_text;
pub mod tui;
