//! The embedded engine: agents, memory and conversations in SQLite, and the agent loop.

mod agent_file;
mod context;
mod engine;
mod hub;
pub use hub::give_back_memory;
mod input;
pub mod prompt;
mod run;
mod send;
mod server_tools;
mod step;
pub mod store;
mod views;
mod waiting;

pub use engine::{DEFAULT_MAX_STEPS, DEFAULT_STREAM_IDLE, Engine};
