//! The binary's edge: load paths and settings, pick a backend, dispatch. `anyhow` lives here.

pub mod cli;

use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::app::cli::{
    AgentsCommand, Cli, Command, ConversationsCommand, MessagesCommand, ModelCommand,
};
use crate::backend::{AgentQuery, Backend, ConversationQuery};
use crate::local::Engine;
use crate::local::store::Store;
use crate::permissions::Checker;
use crate::protocol::{ListParams, SearchRequest};
use crate::session::startup::StartupFlags;
use crate::session::{self, Opened, SessionStore};
use crate::settings::choice::BackendChoice;
use crate::settings::paths::Paths;
use crate::settings::{GlobalSettings, ProjectSettings, project_local_file};
use crate::tools::ToolContext;
use crate::turn::{NoOneToAsk, TurnDriver, TurnOptions};

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
    runtime.block_on(dispatch(
        cli,
        AppContext {
            paths,
            settings,
            choice,
        },
    ))
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
    Ok(Engine::new(
        store,
        providers,
        ctx.settings.default_model.clone(),
    ))
}

/// Build the backend for this process.
pub fn open_backend(ctx: &AppContext) -> anyhow::Result<Arc<dyn Backend>> {
    match &ctx.choice {
        BackendChoice::Local => Ok(Arc::new(open_engine(ctx)?)),
        BackendChoice::Remote { base_url, api_key } => Ok(Arc::new(
            crate::remote::RemoteClient::new(base_url, api_key.clone()),
        )),
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
    let project = ProjectSettings::load(&project_local_file(&cwd()?))?;
    let key = ctx.choice.server_key();
    Ok(project
        .sessions_by_server
        .get(&key)
        .or_else(|| ctx.settings.sessions_by_server.get(&key))
        .map(|s| s.agent_id.clone()))
}

async fn dispatch(cli: Cli, ctx: AppContext) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Agents {
            command: AgentsCommand::List { limit, name },
        }) => {
            let backend = open_backend(&ctx)?;
            let agents = backend
                .list_agents(AgentQuery {
                    page: ListParams::latest(limit),
                    name,
                })
                .await?;
            print_json(&agents)?;
        }
        Some(Command::Conversations {
            command: ConversationsCommand::List { agent, limit },
        }) => {
            let backend = open_backend(&ctx)?;
            let Some(agent_id) = agent.or(project_agent(&ctx)?) else {
                bail!("no agent given and none remembered for this project; pass --agent ID");
            };
            let convs = backend
                .list_conversations(ConversationQuery {
                    agent_id: Some(agent_id),
                    page: ListParams::latest(limit),
                    summary_search: None,
                })
                .await?;
            print_json(&convs)?;
        }
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
            let token = args.token.clone().filter(|t| !t.is_empty());
            let addr = crate::server::bind_address(&args.host, args.port, token.as_deref())?;
            let engine = Arc::new(open_engine(&ctx)?);
            crate::server::serve(engine, addr, token, |local| {
                println!("letta server listening on http://{local}");
            })
            .await?;
            eprintln!("letta server stopped");
        }
        Some(Command::Connect(args)) => return connect_cmd(args, &ctx).await,
        Some(Command::Completions { .. }) => {}
        None => {
            // Sessions are remembered per project; a corrupt file stops us before anything runs.
            ProjectSettings::load(&project_local_file(&cwd()?))?;
            if cli.session.prompt.is_some() {
                return headless(cli, ctx).await;
            }
            return chat(cli, ctx).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A session ready for turns: the backend, the conversation and the permission checker.
struct Prepared {
    backend: Arc<dyn Backend>,
    session: crate::session::Session,
    checker: Checker,
    model: Option<String>,
    /// `-m`, resolved to a full handle.
    model_flag: Option<String>,
    cwd: std::path::PathBuf,
    /// `--resume`: the chat opens on the conversation browser.
    browse: bool,
}

async fn prepare(cli: &Cli, ctx: &AppContext) -> anyhow::Result<Prepared> {
    let backend = open_backend(ctx)?;
    let cwd = cwd()?;
    let store = SessionStore::new(&ctx.paths.settings_file(), &cwd, ctx.choice.server_key());
    let flags = StartupFlags {
        new: cli.session.new,
        resume: cli.session.resume,
        conv: cli.session.conv.clone(),
        agent: cli.session.agent.clone(),
        new_agent: cli.session.new_agent,
    };
    // `-m` may be a short name; it is resolved against the configured providers' models.
    let model_flag = match &cli.session.model {
        Some(m) => Some(
            crate::session::model::resolve_model_with(backend.as_ref(), m)
                .await
                .map_err(|e| anyhow::anyhow!(e))?,
        ),
        None => None,
    };
    if let Some(m) = &model_flag
        && ctx.settings.default_model.is_none()
    {
        // The first model a user names becomes the default for new agents.
        let mut s = GlobalSettings::load(&ctx.paths.settings_file())?;
        s.default_model = Some(m.clone());
        s.save(&ctx.paths.settings_file())?;
    }
    let model = model_flag.clone();
    let opened = session::open(backend.as_ref(), &store, flags, || {
        crate::session::model::new_agent_request(model.clone())
    })
    .await?;
    let (session, warnings, browse) = match opened {
        Opened::Session { session, warnings } => (session, warnings, false),
        Opened::Browse { session } => (session, Vec::new(), true),
    };
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let mode_flag = if cli.session.yolo {
        Some(crate::permissions::PermissionMode::Unrestricted)
    } else {
        cli.session.permission_mode
    };
    let checker = Checker::load(
        ctx.settings.permissions.as_ref(),
        &ctx.paths.settings_file().display().to_string(),
        &cwd,
        mode_flag,
        &cli.session.allowed_tools,
        &cli.session.disallowed_tools,
    )?;
    let model = match &model_flag {
        Some(m) => Some(m.clone()),
        None => backend
            .get_agent(&session.agent_id)
            .await
            .ok()
            .and_then(|a| a.model),
    };
    Ok(Prepared {
        backend,
        session,
        checker,
        model,
        model_flag,
        cwd,
        browse,
    })
}

async fn chat(cli: Cli, ctx: AppContext) -> anyhow::Result<ExitCode> {
    if !cli.session.plain && !crate::ui::tui::term::is_interactive() {
        eprintln!(
            "error: the chat view needs a terminal; use -p PROMPT for one turn, or --plain for a line-mode REPL"
        );
        return Ok(ExitCode::from(2));
    }
    let env = |k: &str| std::env::var(k).ok();
    let mut ctx = ctx;
    let mut events = None;
    if !cli.session.plain && crate::ui::tui::first_run::needed(&ctx.choice, &env, &ctx.settings) {
        let (outcome, stream) = crate::ui::tui::first_run::run(&ctx.paths).await?;
        if outcome == crate::ui::tui::first_run::Outcome::Exit {
            return Ok(ExitCode::SUCCESS);
        }
        events = Some(stream);
        // Connected: what was saved decides the backend and providers from here on.
        ctx.settings = GlobalSettings::load(&ctx.paths.settings_file())?;
        ctx.choice = BackendChoice::resolve(cli.session.backend, &env, &ctx.settings);
    }
    let p = prepare(&cli, &ctx).await?;
    let agent_name = p
        .backend
        .get_agent(&p.session.agent_id)
        .await
        .map(|a| a.name)
        .unwrap_or_else(|_| p.session.agent_id.clone());
    let banner = crate::session::setup::Banner {
        version: env!("CARGO_PKG_VERSION").to_string(),
        agent: format!("{agent_name} ({})", p.session.agent_id),
        model: p.model.clone().unwrap_or_else(|| "(none set)".into()),
        backend: match &ctx.choice {
            BackendChoice::Remote { base_url, .. } => base_url.clone(),
            BackendChoice::Local => "local (embedded engine)".into(),
        },
        cwd: p.cwd.display().to_string(),
        conversation: p.session.conversation_id.clone(),
    };
    let setup = crate::session::setup::Setup {
        backend: p.backend,
        session: p.session,
        checker: Arc::new(std::sync::Mutex::new(p.checker)),
        tools: Arc::new(crate::tools::Registry::builtin()),
        opts: TurnOptions {
            override_model: p.model_flag.clone(),
            max_steps: cli.session.max_turns,
        },
        banner,
        store: SessionStore::new(&ctx.paths.settings_file(), &p.cwd, ctx.choice.server_key()),
        cwd: p.cwd,
        data_dir: ctx.paths.data.clone(),
        settings_file: ctx.paths.settings_file(),
        browse: p.browse,
    };
    let summary = if cli.session.plain {
        crate::ui::plain::run(setup).await?
    } else {
        crate::ui::tui::run(setup, events).await?
    };
    print!("{}", summary.text());
    Ok(ExitCode::SUCCESS)
}

async fn headless(cli: Cli, ctx: AppContext) -> anyhow::Result<ExitCode> {
    let mut prompt = cli.session.prompt.clone().unwrap_or_default();
    if prompt.trim().is_empty() {
        std::io::stdin()
            .read_to_string(&mut prompt)
            .context("reading the prompt from stdin")?;
    }
    if prompt.trim().is_empty() {
        eprintln!("error: -p needs a prompt (as an argument or on stdin)");
        return Ok(ExitCode::from(2));
    }
    let p = prepare(&cli, &ctx).await?;
    if p.browse {
        eprintln!("error: --resume opens the conversation browser; with -p, pass --conv ID");
        return Ok(ExitCode::from(2));
    }
    let mode = p.checker.mode;
    let driver = TurnDriver {
        backend: p.backend.clone(),
        tools: Arc::new(ToolContext::new(p.cwd.clone())),
        registry: Arc::new(crate::tools::Registry::builtin()),
        checker: Arc::new(std::sync::Mutex::new(p.checker)),
        approver: Arc::new(NoOneToAsk),
        project_dir: p.cwd.clone(),
    };
    let opts = TurnOptions {
        override_model: p.model_flag.clone(),
        max_steps: cli.session.max_turns,
    };
    let init = crate::ui::headless::InitInfo {
        model: p.model,
        cwd: p.cwd.display().to_string(),
        permission_mode: mode,
    };
    Ok(crate::ui::headless::run(
        &driver,
        &p.session,
        &prompt,
        &opts,
        cli.session.output_format,
        init,
    )
    .await)
}

/// `letta connect …`: check, then save; `--list` shows what is configured.
async fn connect_cmd(
    args: crate::app::cli::ConnectArgs,
    ctx: &AppContext,
) -> anyhow::Result<ExitCode> {
    use crate::connect::{self, Target};
    let env = |k: &str| std::env::var(k).ok();
    if args.list {
        for l in connect::list_lines(&env, &ctx.settings) {
            println!("{l}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let name = args.provider.clone().unwrap_or_default();
    let Some(target) = Target::parse(&name) else {
        eprintln!(
            "error: unknown provider {name:?}; use openai, anthropic, ollama, letta or local"
        );
        return Ok(ExitCode::from(2));
    };
    if target == Target::Local {
        return Ok(
            match crate::connect::local::connect(&ctx.paths, |m| eprintln!("{m}")).await {
                Ok(()) => {
                    println!(
                        "Connected the offline model local/{} (SmolLM2-135M: tiny and not smart, but no network and no key).",
                        crate::llm::local_model::MODEL
                    );
                    println!("letta starts it on 127.0.0.1 when needed and stops it on exit.");
                    ExitCode::SUCCESS
                }
                Err(why) => {
                    eprintln!("error: {why}");
                    ExitCode::from(1)
                }
            },
        );
    }
    // The key: given, or named by --api-key-env, or the provider's usual variable.
    let (key, key_env) = match (&args.api_key, &args.api_key_env) {
        (Some(k), _) => (Some(k.clone()), None),
        (None, Some(var)) => match env(var).filter(|v| !v.trim().is_empty()) {
            Some(k) => (Some(k), Some(var.clone())),
            None => bail!("{var} is not set (named by --api-key-env)"),
        },
        (None, None) => match target
            .key_var()
            .and_then(|v| env(v).filter(|k| !k.trim().is_empty()).map(|k| (k, v)))
        {
            Some((k, var)) => (Some(k), Some(var.to_string())),
            None => (None, None),
        },
    };
    let file = ctx.paths.settings_file();
    if target == Target::Letta {
        let url = args
            .base_url
            .clone()
            .unwrap_or_else(|| target.default_url().into());
        if let Err(why) = connect::check_letta(&url, key.clone()).await {
            eprintln!("error: {why}");
            return Ok(ExitCode::from(1));
        }
        connect::save_letta(&file, &url, key.as_deref())?;
        println!(
            "Connected to the Letta server at {url}{}",
            key.as_deref()
                .map(|k| format!(" (key {})", connect::mask(k)))
                .unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if key.is_none()
        && matches!(target, Target::OpenAi | Target::Anthropic)
        && args.base_url.is_none()
    {
        eprintln!(
            "error: {} needs a key: pass --api-key-env VAR (or --api-key KEY), or set {}",
            target.name(),
            target.key_var().unwrap_or("its key")
        );
        return Ok(ExitCode::from(2));
    }
    let spec = connect::spec(target, args.base_url.as_deref(), key.clone());
    let models = match connect::check_provider(&spec).await {
        Ok(m) => m,
        Err(why) => {
            eprintln!("error: {why}");
            return Ok(ExitCode::from(1));
        }
    };
    let first = models.first().map(|m| format!("{}/{m}", spec.name));
    connect::save_provider(&file, &spec, key_env.as_deref(), first.as_deref())?;
    println!(
        "Connected {} at {} ({} model{}){}",
        spec.name,
        spec.base_url,
        models.len(),
        if models.len() == 1 { "" } else { "s" },
        key.as_deref()
            .map(|k| format!(", key {}", connect::mask(k)))
            .unwrap_or_default()
    );
    let saved = GlobalSettings::load(&file)?;
    if let Some(m) = saved.default_model {
        println!("Default model for new agents: {m} (change with -m or `letta model list`)");
    }
    Ok(ExitCode::SUCCESS)
}
