//! The binary's edge: load paths and settings, pick a backend, dispatch. `anyhow` lives here.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{Cli, Command};
use crate::config::BackendChoice;
use crate::paths::Paths;
use crate::settings::GlobalSettings;

/// Run a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let settings = GlobalSettings::load(&paths.settings_file())?;
    let env = |k: &str| std::env::var(k).ok();
    let choice = BackendChoice::resolve(cli.session.backend, &env, &settings);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(dispatch(cli, paths, settings, choice))
}

async fn dispatch(
    cli: Cli,
    _paths: Paths,
    _settings: GlobalSettings,
    choice: BackendChoice,
) -> anyhow::Result<ExitCode> {
    let what = match &cli.command {
        Some(Command::Server(_)) => "letta server",
        Some(Command::Agents { .. }) => "letta agents",
        Some(Command::Conversations { .. }) => "letta conversations",
        Some(Command::Messages { .. }) => "letta messages",
        Some(Command::Model { .. }) => "letta model",
        Some(Command::Connect(_)) => "letta connect",
        Some(Command::Completions { .. }) => return Ok(ExitCode::SUCCESS),
        None if cli.session.prompt.is_some() => "headless mode (-p)",
        None => "the chat view",
    };
    if cli.command.is_none() {
        // Sessions are remembered per project; a corrupt file stops us before anything runs.
        let cwd = std::env::current_dir().context("reading the working directory")?;
        crate::settings::ProjectSettings::load(&crate::settings::project_local_file(&cwd))?;
    }
    let backend = match choice {
        BackendChoice::Local => "the embedded engine",
        BackendChoice::Remote { .. } => "the remote backend",
    };
    eprintln!("{what} is not yet available in this build ({backend})");
    Ok(ExitCode::from(1))
}
