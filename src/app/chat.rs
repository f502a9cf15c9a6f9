//! Opening a session for the chat view, the plain REPL or one headless turn.

use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use super::cli::Cli;
use super::rules::{Rules, permissions};
use super::{AppContext, cwd, open_backend};
use crate::backend::Backend;
use crate::permissions::Checker;
use crate::session::sandbox::SessionSandbox;
use crate::session::startup::StartupFlags;
use crate::session::{self, Opened, SessionStore};
use crate::settings::{BackendChoice, GlobalSettings};
use crate::turn::{NoOneToAsk, TurnDriver, TurnOptions};

/// Steps a headless turn may take unless `--max-turns` says otherwise.
pub const HEADLESS_MAX_STEPS: u32 = 100;

fn wait_busy(cli: &Cli) -> Option<std::time::Duration> {
    (cli.session.wait_busy > 0).then(|| std::time::Duration::from_secs(cli.session.wait_busy))
}

/// A session ready for turns: the backend, the conversation and the permission checker.
struct Prepared {
    backend: Arc<dyn Backend>,
    session: crate::session::Session,
    checker: Checker,
    model: Option<String>,
    /// The agent's name, for the banner.
    agent_name: String,
    /// `-m`, resolved to a full handle.
    model_flag: Option<String>,
    cwd: std::path::PathBuf,
    /// `--resume`: the chat opens on the conversation browser.
    browse: bool,
    sandbox: SessionSandbox,
    mcp: crate::mcp::McpManager,
    hooks: Arc<crate::hooks::Hooks>,
}

async fn prepare(cli: &Cli, ctx: &AppContext, interactive: bool) -> anyhow::Result<Prepared> {
    let backend = open_backend(ctx)?;
    let cwd = cwd()?;
    let store = SessionStore::new(&ctx.paths.settings_file(), &cwd, ctx.choice.server_key());
    let flags = StartupFlags {
        new: cli.session.new,
        resume: cli.session.resume,
        conv: cli.session.conv.clone(),
        agent: match &cli.session.agent_name {
            Some(n) => Some(
                crate::session::model::agent_named(backend.as_ref(), n, &ctx.paths.settings_file())
                    .await
                    .map_err(anyhow::Error::msg)?,
            ),
            None => cli.session.agent.clone(),
        },
        new_agent: cli.session.new_agent,
    };
    // `-m` may be a short name; it is resolved against the backend's models, and checked
    // against them before it is saved as the default or sent to a Letta server.
    let check =
        ctx.settings.default_model.is_none() || matches!(ctx.choice, BackendChoice::Remote { .. });
    let model_flag = match &cli.session.model {
        Some(m) => Some(
            crate::session::model::checked_model(backend.as_ref(), m, check)
                .await
                .map_err(|e| anyhow::anyhow!(e))?,
        ),
        None => None,
    };
    if let Some(m) = &model_flag
        && ctx.settings.default_model.is_none()
    {
        // The first model a user names becomes the default for new agents.
        GlobalSettings::update(&ctx.paths.settings_file(), |s| {
            // Only if it is still unset: another letta may have chosen one meanwhile.
            s.default_model.get_or_insert_with(|| m.clone());
            Ok(())
        })?;
    }
    // A new agent gets -m, else the default model, else the first model the backend offers.
    let named = model_flag.clone().or(ctx.settings.default_model.clone());
    let picked: std::sync::Mutex<Option<(String, &'static str)>> = std::sync::Mutex::new(None);
    let opened = session::open(backend.as_ref(), &store, flags, async || {
        let model = if named.is_some() {
            named
        } else {
            let terminal = std::io::IsTerminal::is_terminal(&std::io::stdin());
            let chosen = choose_model(backend.as_ref(), interactive && terminal).await;
            if let Ok(mut p) = picked.lock() {
                p.clone_from(&chosen);
            }
            chosen.map(|c| c.0)
        };
        crate::session::model::new_agent_request(model, &cwd)
    })
    .await?;
    let (opened, agent) = opened;
    let (session, warnings, browse) = match opened {
        Opened::Session { session, warnings } => (session, warnings, false),
        Opened::Browse { session } => (session, Vec::new(), true),
    };
    if let Some((m, why)) = picked.lock().ok().and_then(|p| p.clone()) {
        eprintln!("note: the new agent uses {m}, {why} (change it with /model or -m)");
        // Chosen by the person, for the embedded engine: later new agents take it too. (A
        // server's handles are the server's; a pick made for a script is not a choice.)
        let chose = why.starts_with("as you");
        if chose && ctx.settings.default_model.is_none() && ctx.choice == BackendChoice::Local {
            let _ = GlobalSettings::update(&ctx.paths.settings_file(), |s| {
                s.default_model.get_or_insert_with(|| m.clone());
                Ok(())
            });
        }
    }
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let Rules {
        mut checker,
        sandbox,
        mcp,
        trusted,
        hooks,
    } = permissions(&cli.session, ctx, &cwd, interactive)?;
    let mcp = crate::mcp::McpManager::start(mcp, cwd.clone(), trusted);
    checker.enforcement = sandbox.enforcement;
    // The agent as startup fetched it; asked for only when it was just created.
    let agent = match agent {
        Some(a) => Some(a),
        None => backend.get_agent(&session.agent_id).await.ok(),
    };
    let model = match &model_flag {
        Some(m) => Some(m.clone()),
        None => agent.as_ref().and_then(|a| a.model.clone()),
    };
    let agent_name = agent.map_or_else(|| session.agent_id.clone(), |a| a.name);
    Ok(Prepared {
        backend,
        session,
        checker,
        model,
        agent_name,
        model_flag,
        cwd,
        browse,
        sandbox,
        mcp,
        hooks: Arc::new(hooks),
    })
}

/// The model for a new agent when none was named. One offered: that one. Several, and a
/// person at a terminal: they choose from the list. Otherwise the first. None offered: the
/// person may type one. Returns the handle and how it was chosen.
async fn choose_model(
    backend: &dyn crate::backend::Backend,
    ask: bool,
) -> Option<(String, &'static str)> {
    let handles: Vec<String> = match backend.list_models().await {
        Ok(m) => m.into_iter().map(|m| m.handle).collect(),
        Err(e) => {
            // Not "none offered": the list could not be had, and that is the thing to fix.
            let why = crate::ui::safe_text::neutralise(&e.to_string());
            if !ask {
                eprintln!("warning: no model is named and the models could not be listed: {why}");
                return None;
            }
            return crate::ui::ask_line(&format!(
                "The models could not be listed ({why}). Model for the new agent (provider/model, enter to skip): "
            ))
            .map(|m| (m, "as you typed"));
        }
    };
    match handles.as_slice() {
        [] => ask
            .then(|| {
                crate::ui::ask_line(
                    "No model is set and the server lists none. Model for the new agent (provider/model, enter to skip): ",
                )
            })
            .flatten()
            .map(|m| (m, "as you typed")),
        [one] => Some((one.clone(), "the only model the provider offers")),
        many if ask => {
            println!("Choose the model for the new agent:");
            for (i, h) in many.iter().take(30).enumerate() {
                println!("  {:>2}. {h}", i + 1);
            }
            loop {
                let Some(answer) = crate::ui::ask_line("number or name (enter for 1) › ") else {
                    return Some((many[0].clone(), "the first in the list"));
                };
                let by_number = answer
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|i| many.get(i).cloned());
                match by_number.map_or_else(
                    || crate::session::model::resolve_model(&answer, many),
                    Ok,
                ) {
                    Ok(h) if many.contains(&h) => return Some((h, "as you chose")),
                    Ok(h) => println!("✗ {h} is not one of them"),
                    Err(e) => println!("✗ {e}"),
                }
            }
        }
        many => Some((many[0].clone(), "the first the backend offers")),
    }
}

pub(super) async fn chat(cli: Cli, ctx: AppContext) -> anyhow::Result<ExitCode> {
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
            println!(
                "Nothing is connected yet. Run letta again to choose, or connect from a script: letta connect openai|anthropic|ollama|letta|local"
            );
            return Ok(ExitCode::SUCCESS);
        }
        events = Some(stream);
        // Connected: what was saved decides the backend and providers from here on.
        ctx.settings = GlobalSettings::load(&ctx.paths.settings_file())?;
        ctx.choice = BackendChoice::resolve(cli.session.backend, &env, &ctx.settings);
    }
    let p = prepare(&cli, &ctx, true).await?;
    let agent_name = p.agent_name.clone();
    let context = project_context(&cli, &ctx, &p.cwd);
    let banner = crate::session::setup::Banner {
        instructions: context
            .files()
            .iter()
            .map(|f| crate::session::context::display_name(&f.path, &p.cwd))
            .collect::<Vec<_>>()
            .join(", "),
        version: env!("CARGO_PKG_VERSION").to_string(),
        agent: format!("{agent_name} ({})", p.session.agent_id),
        model: p.model.clone().unwrap_or_else(|| "(none set)".into()),
        backend: match &ctx.choice {
            BackendChoice::Remote { base_url, .. } => crate::settings::mask_url(base_url),
            BackendChoice::Local => "local (embedded engine)".into(),
        },
        cwd: p.cwd.display().to_string(),
        conversation: p.session.conversation_id.clone(),
        sandbox: p
            .sandbox
            .enforcement
            .confined(p.checker.mode != crate::permissions::PermissionMode::Unrestricted)
            .short()
            .into(),
    };
    let setup = crate::session::setup::Setup {
        backend: p.backend,
        session: p.session,
        checker: Arc::new(std::sync::Mutex::new(p.checker)),
        tools: Arc::new(session_tools(&p.cwd).with_source(Arc::new(p.mcp.clone()))),
        mcp: p.mcp,
        hooks: p.hooks,
        opts: TurnOptions {
            override_model: p.model_flag.clone(),
            max_steps: cli.session.max_turns,
            wait_busy: wait_busy(&cli),
            no_text_chunks: true,
        },
        banner,
        store: SessionStore::new(&ctx.paths.settings_file(), &p.cwd, ctx.choice.server_key()),
        cwd: p.cwd,
        data_dir: ctx.paths.data.clone(),
        settings_file: ctx.paths.settings_file(),
        browse: p.browse,
        sandbox: p.sandbox,
        context,
    };
    let summary = if cli.session.plain {
        crate::ui::plain::run(setup).await?
    } else {
        crate::ui::tui::run(setup, events).await?
    };
    print!("{}", summary.text());
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn headless(cli: Cli, ctx: AppContext) -> anyhow::Result<ExitCode> {
    let bidirectional = cli.session.input_format.is_some();
    if bidirectional && cli.session.output_format != crate::ui::headless::OutputFormat::StreamJson {
        eprintln!("error: --input-format stream-json needs --output-format stream-json");
        return Ok(ExitCode::from(2));
    }
    let mut prompt = cli.session.prompt.clone().unwrap_or_default();
    if prompt.trim().is_empty() && !bidirectional {
        std::io::stdin()
            .read_to_string(&mut prompt)
            .context("reading the prompt from stdin")?;
    }
    if prompt.trim().is_empty() && !bidirectional {
        eprintln!("error: -p needs a prompt (as an argument or on stdin)");
        return Ok(ExitCode::from(2));
    }
    let p = prepare(&cli, &ctx, false).await?;
    if p.browse {
        eprintln!("error: --resume opens the conversation browser; with -p, pass --conv ID");
        return Ok(ExitCode::from(2));
    }
    let mode = p.checker.mode;
    let sandbox = p.sandbox.enforcement;
    // One turn, nobody watching: it waits for the servers (each has its own start-up limit).
    p.mcp.settled(std::time::Duration::from_mins(1)).await;
    for problem in p.mcp.problems() {
        eprintln!("mcp: {}", crate::ui::safe_text::neutralise(problem));
    }
    for v in p.mcp.views() {
        if let crate::mcp::Status::Failed(why) | crate::mcp::Status::NotStarted(why) = &v.status {
            eprintln!(
                "mcp: server {} is not available: {}",
                v.name,
                crate::ui::safe_text::neutralise(why)
            );
        }
    }
    let mcp_servers = p
        .mcp
        .views()
        .iter()
        .map(|v| serde_json::json!({"name": v.name, "status": crate::mcp::status_word(&v.status), "tools": v.tools.len()}))
        .collect();
    let driver = |approver: Arc<dyn crate::turn::Approver>| TurnDriver {
        backend: p.backend.clone(),
        tools: Arc::new(p.sandbox.tool_context(p.cwd.clone(), &p.checker)),
        registry: Arc::new(session_tools(&p.cwd).with_source(Arc::new(p.mcp.clone()))),
        checker: Arc::new(std::sync::Mutex::new(p.checker.clone())),
        approver,
        project_dir: p.cwd.clone(),
        journal: crate::turn::Journal::new(&ctx.paths.data),
        context: project_context(&cli, &ctx, &p.cwd),
        hooks: p.hooks.clone(),
    };
    let opts = TurnOptions {
        override_model: p.model_flag.clone(),
        // Nobody watches a headless run: a model that keeps calling tools is stopped.
        max_steps: Some(cli.session.max_turns.unwrap_or(HEADLESS_MAX_STEPS)),
        wait_busy: wait_busy(&cli),
        no_text_chunks: false,
    };
    let init = crate::ui::headless::InitInfo {
        model: p.model,
        cwd: p.cwd.display().to_string(),
        permission_mode: mode,
        sandbox: sandbox
            .confined(mode != crate::permissions::PermissionMode::Unrestricted)
            .name(),
        partial: cli.session.include_partial_messages,
        mcp_servers,
    };
    if bidirectional {
        let first = Some(prompt).filter(|p| !p.trim().is_empty());
        return Ok(
            crate::ui::headless::stream_in::run(driver, &p.session, first, &opts, init).await,
        );
    }
    Ok(crate::ui::headless::run(
        &driver(Arc::new(NoOneToAsk)),
        &p.session,
        &prompt,
        &opts,
        cli.session.output_format,
        init,
    )
    .await)
}

/// What the model is told about this project: the session reminder (unless turned off) and
/// the instruction files, the global one kept beside the settings.
fn project_context(
    cli: &Cli,
    ctx: &AppContext,
    cwd: &std::path::Path,
) -> Arc<crate::session::context::ProjectContext> {
    Arc::new(crate::session::context::ProjectContext::new(
        cwd.to_path_buf(),
        Some(ctx.paths.config.clone()),
        !cli.session.no_system_info_reminder,
    ))
}

/// The tools of a session in `cwd`: the built-ins, `Skill`, and `Task` with `TaskOutput` for
/// subagents (MCP tools join later).
fn session_tools(cwd: &std::path::Path) -> crate::tools::Registry {
    let mut r = crate::tools::Registry::builtin();
    r.register(Arc::new(crate::skills::SkillTool::new(cwd.to_path_buf())));
    let background = Arc::new(crate::subagents::Background::default());
    r.register(Arc::new(crate::subagents::TaskTool::new(
        cwd.to_path_buf(),
        background.clone(),
    )));
    r.register(Arc::new(crate::subagents::TaskOutputTool::new(background)));
    r
}
