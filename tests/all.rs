//! Every integration test in one binary: each test file used to be its own binary, and each
//! relinked the whole library with all its dependencies, the slowest part of CI on 2 cores.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::pedantic
)]

mod support;

mod agent_file_e2e;
mod backends;
mod chat_e2e;
mod chat_stress;
mod cli;
mod connect_e2e;
mod context_e2e;
mod engine;
mod first_run_e2e;
mod hangs;
mod headless_e2e;
mod hooks_e2e;
mod layers;
mod local_model;
mod mcp_e2e;
mod mcp_python;
mod multiprocess;
mod plain_e2e;
mod plan_e2e;
mod probes;
mod protocol_fixtures;
mod python_sdk;
mod real_llm;
mod remote_parity;
mod resume;
mod secrets;
mod server_behaviour;
mod server_e2e;
mod server_guard;
mod settings_lock;
mod side_doors;
mod skills_e2e;
mod subagents_e2e;
mod tools_e2e;
mod tree_e2e;
mod trust;
mod turn;
