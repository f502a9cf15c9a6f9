//! The binary's edge: load paths and settings, pick a backend, dispatch. `anyhow` lives here.

mod chat;
pub mod cli;
mod connect;
mod data;
mod mcp;
mod rules;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::app::cli::{Cli, Command, MessagesCommand, ModelCommand};
use crate::backend::Backend;
use crate::local::Engine;
use crate::local::store::Store;
use crate::protocol::SearchRequest;
use crate::settings::choice::BackendChoice;
use crate::settings::paths::Paths;
use crate::settings::{GlobalSettings, ProjectSettings, project_local_file};

/// Run a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let settings = GlobalSettings::load(&paths.settings_file())?;
    let env = |k: &str| std::env::var(k).ok();
    let choice = BackendChoice::resolve(cli.session.backend, &env, &settings);
    // The chat view's session (the model's stream, the engine, its tools) is one chain of
    // tasks handing data on: on one worker each hand-off is a function call, not a wake-up of
    // another thread (the view itself runs on this thread). Servers answer many clients, and
    // headless runs read stdin while they write stdout: those keep two.
    let interactive =
        cli.command.is_none() && cli.session.prompt.is_none() && cli.session.input_format.is_none();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(if interactive { 1 } else { 2 })
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let code = runtime.block_on(dispatch(
        cli,
        AppContext {
            paths,
            settings,
            choice,
        },
    ));
    // Background commands end with the session (as a closed terminal would end them).
    crate::tools::kill_running();
    code
}

/// What every command needs.
pub struct AppContext {
    pub paths: Paths,
    pub settings: GlobalSettings,
    pub choice: BackendChoice,
}

/// The embedded engine on this machine's database, with the configured providers.
fn open_engine(ctx: &AppContext) -> anyhow::Result<Engine> {
    let store = Store::open(&ctx.paths.database_file())?;
    let env = |k: &str| std::env::var(k).ok();
    let providers = crate::llm::ProviderRegistry::from_env(&env, &ctx.settings);
    let idle = env("LETTA_STREAM_IDLE_TIMEOUT")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or(ctx.settings.stream_idle_timeout_secs)
        .map_or(crate::local::DEFAULT_STREAM_IDLE, |s| {
            std::time::Duration::from_secs(s.max(1))
        });
    Ok(Engine::new(store, providers, ctx.settings.default_model.clone()).with_stream_idle(idle))
}

/// Build the backend for this process.
pub fn open_backend(ctx: &AppContext) -> anyhow::Result<Arc<dyn Backend>> {
    match &ctx.choice {
        BackendChoice::Local => Ok(Arc::new(open_engine(ctx)?)),
        BackendChoice::Remote { base_url, api_key } => Ok(Arc::new(
            crate::remote::RemoteClient::new(base_url, api_key.clone())
                .with_lineage(ctx.paths.data.join("forks.json")),
        )),
    }
}

/// A secret given as `-` (read from stdin). A secret written on the command line is refused:
/// every user of the machine can read it in `ps`.
pub(crate) fn secret(flag: Option<&str>, name: &str, env: &str) -> anyhow::Result<Option<String>> {
    match flag {
        None => Ok(None),
        Some("-") => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the secret from stdin")?;
            Ok(Some(line.trim().to_string()).filter(|s| !s.is_empty()))
        }
        Some(_) => bail!(
            "{name} with a value on the command line would show it to every user in `ps`; use {name} - to read it from stdin, or set {env}"
        ),
    }
}

fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn cwd() -> anyhow::Result<std::path::PathBuf> {
    std::env::current_dir().context("reading the working directory")
}

/// The agent of this project's last session on this server, if any.
fn project_agent(ctx: &AppContext) -> anyhow::Result<Option<String>> {
    Ok(project_session(ctx)?.map(|s| s.agent_id))
}

/// This project's last session on this server, if any.
fn project_session(ctx: &AppContext) -> anyhow::Result<Option<crate::settings::SessionRef>> {
    let project = ProjectSettings::load(&project_local_file(&cwd()?))?;
    let key = ctx.choice.server_key();
    Ok(project
        .sessions_by_server
        .get(&key)
        .or_else(|| ctx.settings.sessions_by_server.get(&key))
        .cloned())
}

async fn dispatch(cli: Cli, ctx: AppContext) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Agents { command }) => data::agents(command, &ctx).await?,
        Some(Command::Conversations { command }) => data::conversations(command, &ctx).await?,
        Some(Command::Messages {
            command:
                MessagesCommand::Search {
                    query,
                    agent,
                    limit,
                },
        }) => {
            let backend = open_backend(&ctx)?;
            let agent_id = match agent {
                Some(a) => Some(a),
                None => project_agent(&ctx)?,
            };
            let hits = backend
                .search_messages(SearchRequest {
                    query,
                    agent_id,
                    limit: Some(limit),
                    extra: Default::default(),
                })
                .await?;
            print_json(&hits)?;
        }
        Some(Command::Model {
            command: ModelCommand::List,
        }) => {
            let backend = open_backend(&ctx)?;
            // Marked: this project's agent's model, and the default for new agents.
            let current = match project_agent(&ctx)? {
                Some(a) => backend.get_agent(&a).await.ok().and_then(|a| a.model),
                None => None,
            };
            for m in backend.list_models().await? {
                let mut marks = Vec::new();
                if current.as_deref() == Some(m.handle.as_str()) {
                    marks.push("current");
                }
                if ctx.settings.default_model.as_deref() == Some(m.handle.as_str()) {
                    marks.push("default");
                }
                if marks.is_empty() {
                    println!("  {}", m.handle);
                } else {
                    println!("* {} ({})", m.handle, marks.join(", "));
                }
            }
        }
        Some(Command::Server(args)) => {
            let token = secret(args.token.as_deref(), "--token", "LETTA_SERVER_TOKEN")?
                .or_else(|| std::env::var("LETTA_SERVER_TOKEN").ok())
                .filter(|t| !t.trim().is_empty());
            let addr = crate::server::bind_address(&args.host, args.port, token.as_deref())?;
            let engine = Arc::new(open_engine(&ctx)?);
            let opts = crate::server::Options {
                token,
                origins: args.allow_origin.clone(),
                loopback_only: addr.ip().is_loopback(),
                max_connections: args.max_connections,
                header_timeout: std::time::Duration::from_secs_f64(
                    args.header_timeout.clamp(0.1, 3600.0),
                ),
            };
            crate::server::serve(engine, addr, opts, |local| {
                println!("letta server listening on http://{local}");
            })
            .await?;
            eprintln!("letta server stopped");
        }
        Some(Command::Connect(args)) => return connect::run(args, &ctx).await,
        Some(Command::Mcp { command }) => return mcp::run(command, &ctx).await,
        Some(Command::Skills {
            command: cli::SkillsCommand::List,
        }) => {
            let all = crate::skills::discover(&cwd()?, crate::skills::user_dir().as_deref());
            print!(
                "{}",
                crate::ui::safe_text::neutralise(&crate::skills::listing(&all))
            );
        }
        Some(Command::Completions { .. }) => {}
        None => {
            // Sessions are remembered per project; a corrupt file stops us before anything runs.
            ProjectSettings::load(&project_local_file(&cwd()?))?;
            if cli.session.prompt.is_some() || cli.session.input_format.is_some() {
                return chat::headless(cli, ctx).await;
            }
            return Box::pin(chat::chat(cli, ctx)).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}
